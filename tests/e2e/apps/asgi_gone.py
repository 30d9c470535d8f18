"""An ASGI app that keeps sending after its client left, for tests/e2e/test_asgi_gone.py (ASGI
spec 2.4: such a send raises an OSError subclass). What it saw is read back through
``GET /observed?key=...`` (and forgotten)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qsl

OBSERVED: dict[str, Any] = {}
#: How long a handler keeps sending to a client that never leaves before it gives up.
SEND_FOR = 20.0


def _error(exc: BaseException) -> list[Any]:
    return [type(exc).__name__, isinstance(exc, OSError)]


async def _respond(send: Any, body: bytes) -> None:
    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'application/json')]})
    await send({'type': 'http.response.body', 'body': body})


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    scope['state']['lifespan_asgi'] = scope['asgi']
    await send({'type': 'lifespan.startup.complete'})
    await receive()
    await send({'type': 'lifespan.shutdown.complete'})


async def stream_until_gone(key: str, reraise: bool, receive: Any, send: Any) -> None:
    """Stream until a send fails; record how, and what receive() says then."""
    await receive()  # the (empty) request body: the next receive() is about the client
    await send({'type': 'http.response.start', 'status': 200, 'headers': []})
    deadline = time.monotonic() + SEND_FOR
    try:
        while time.monotonic() < deadline:
            await send({'type': 'http.response.body', 'body': b'x' * 16384, 'more_body': True})
            # Producing the next chunk takes the app a trip through the loop, as real data does
            # (a send only waits while the transport is above its high-water mark). That is when
            # the server learns that the connection is gone.
            await asyncio.sleep(0)
    except Exception as exc:
        OBSERVED[key] = {'send': _error(exc), 'then': (await receive())['type']}
        if reraise:
            raise
        return
    OBSERVED[key] = {'send': 'never failed'}


async def websocket_gone(key: str, reraise: bool, receive: Any, send: Any) -> None:
    """Wait for the client to leave, then try to send and to close."""
    await receive()
    await send({'type': 'websocket.accept'})
    seen: dict[str, Any] = {'disconnect': (await receive())['code']}
    if reraise:
        OBSERVED[key] = seen
        await send({'type': 'websocket.send', 'text': 'late'})
    for kind in ('send', 'close'):
        try:
            await send({'type': f'websocket.{kind}', 'text': 'late'})
            seen[kind] = 'no error'
        except Exception as exc:
            seen[kind] = _error(exc)
    OBSERVED[key] = seen


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        await lifespan(scope, receive, send)
        return
    query = dict(parse_qsl(scope['query_string'].decode()))
    key = query.get('key', '')
    reraise = 'reraise' in query
    if scope['type'] == 'websocket':
        await websocket_gone(key, reraise, receive, send)
    elif scope['path'] == '/versions':
        await _respond(send, json.dumps({'http': scope['asgi'], 'lifespan': scope['state']['lifespan_asgi']}).encode())
    elif scope['path'] == '/stream':
        await stream_until_gone(key, reraise, receive, send)
    elif scope['path'] == '/observed':
        await _respond(send, json.dumps(OBSERVED.pop(key, None)).encode())
