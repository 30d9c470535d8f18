"""ASGI WebSocket handlers that receive in one task and send, accept or close from another, for
tests/websocket/test_websocket_tasks.py. HTTP ``GET /observed?key=...`` returns (and forgets) what
a handler recorded under that key."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl

OBSERVED: dict[str, Any] = {}


async def receive_before_accept(receive: Any, send: Any) -> None:
    """Quart's shape: the receive loop runs in its own task from the start, the handler accepts."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    listening = asyncio.Event()

    async def pump() -> None:
        assert (await receive())['type'] == 'websocket.connect'
        listening.set()
        while True:
            message = await receive()  # the first call waits across the accept
            await inbox.put(message)
            if message['type'] == 'websocket.disconnect':
                return

    task = asyncio.ensure_future(pump())
    await listening.wait()  # the pump is now waiting in receive(), before the accept
    await send({'type': 'websocket.accept'})
    while True:
        message = await inbox.get()
        if message['type'] == 'websocket.disconnect':
            OBSERVED['receive-before-accept'] = message['code']
            break
        await send({'type': 'websocket.send', 'text': message['text']})
    await task


async def receive_before_reject(receive: Any, send: Any) -> None:
    """A receive waiting before the handshake is refused gets the disconnect."""
    assert (await receive())['type'] == 'websocket.connect'
    waiting = asyncio.ensure_future(receive())
    await asyncio.sleep(0)  # let it start waiting
    await send({'type': 'websocket.close'})
    OBSERVED['receive-before-reject'] = (await waiting)['type']


async def concurrent_receives(receive: Any, send: Any) -> None:
    """Two tasks receive at once: every message reaches exactly one of them, the end both."""
    await receive()
    await send({'type': 'websocket.accept'})
    texts: list[str] = []
    ends: list[int] = []

    async def reader() -> None:
        while True:
            message = await receive()
            if message['type'] == 'websocket.disconnect':
                ends.append(message['code'])
                return
            texts.append(message['text'])
            if message['text'] == 'report':
                await send({'type': 'websocket.send', 'text': json.dumps(sorted(texts))})

    await asyncio.gather(reader(), reader())
    OBSERVED['concurrent-receives'] = ends


async def send_while_receiving(receive: Any, send: Any) -> None:
    """One task waits in receive() while another sends."""
    await receive()
    await send({'type': 'websocket.accept'})
    waiting = asyncio.ensure_future(receive())
    for text in ('one', 'two', 'three'):
        await send({'type': 'websocket.send', 'text': text})
    message = await waiting
    await send({'type': 'websocket.send', 'text': f'got {message["text"]}'})
    OBSERVED['send-while-receiving'] = (await receive())['code']


async def close_while_receiving(receive: Any, send: Any) -> None:
    """One task closes while another waits in receive(): the waiting one gets the disconnect."""
    await receive()
    await send({'type': 'websocket.accept'})
    waiting = asyncio.ensure_future(receive())
    await asyncio.sleep(0)  # let it start waiting
    await send({'type': 'websocket.close', 'code': 4001, 'reason': 'from another task'})
    message = await waiting
    OBSERVED['close-while-receiving'] = [message['type'], message['code']]


HANDLERS = {
    '/receive-before-accept': receive_before_accept,
    '/receive-before-reject': receive_before_reject,
    '/concurrent-receives': concurrent_receives,
    '/send-while-receiving': send_while_receiving,
    '/close-while-receiving': close_while_receiving,
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'http':
        key = dict(parse_qsl(scope['query_string'].decode())).get('key', '')
        body = json.dumps(OBSERVED.pop(key, None)).encode()
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        await send({'type': 'http.response.body', 'body': body})
    elif scope['type'] == 'websocket':
        await HANDLERS[scope['path']](receive, send)
