"""RSGI WebSocket handlers that receive in one task and send or close from another, for
tests/websocket/test_websocket_tasks.py. HTTP ``GET /observed?key=...`` returns (and forgets) what
a handler recorded under that key."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from granian.rsgi import ProtocolError, WebsocketMessageType

OBSERVED: dict[str, Any] = {}


def _kind(message: Any) -> str:
    return WebsocketMessageType(message.kind).name


async def concurrent_receives(protocol: Any) -> None:
    """RSGI allows one receive at a time: a second concurrent one is a ProtocolError (as
    upstream), and the first one still gets the next message."""
    transport = await protocol.accept()
    first = asyncio.ensure_future(transport.receive())
    await asyncio.sleep(0)  # let it start waiting
    try:
        await transport.receive()
        second = 'no error'
    except ProtocolError:
        second = 'ProtocolError'
    message = await first
    await transport.send_str(json.dumps([second, message.data]))
    OBSERVED['concurrent-receives'] = _kind(await transport.receive())


async def send_while_receiving(protocol: Any) -> None:
    transport = await protocol.accept()
    waiting = asyncio.ensure_future(transport.receive())
    for text in ('one', 'two', 'three'):
        await transport.send_str(text)
    message = await waiting
    await transport.send_str(f'got {message.data}')
    OBSERVED['send-while-receiving'] = _kind(await transport.receive())


async def close_while_receiving(protocol: Any) -> None:
    transport = await protocol.accept()
    waiting = asyncio.ensure_future(transport.receive())
    await asyncio.sleep(0)  # let it start waiting
    protocol.close()
    OBSERVED['close-while-receiving'] = _kind(await waiting)


HANDLERS = {
    '/concurrent-receives': concurrent_receives,
    '/send-while-receiving': send_while_receiving,
    '/close-while-receiving': close_while_receiving,
}


async def app(scope: Any, protocol: Any) -> None:
    if scope.proto == 'http':
        key = dict(pair.split('=', 1) for pair in scope.query_string.split('&') if '=' in pair).get('key', '')
        protocol.response_str(200, [('content-type', 'application/json')], json.dumps(OBSERVED.pop(key, None)))
        return
    await HANDLERS[scope.path](protocol)
