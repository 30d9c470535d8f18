"""ASGI WebSocket handlers by path, for tests/websocket/test_asgi_websockets.py."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

OBSERVED: dict[str, Any] = {}


async def _error(send: Any, message: dict[str, Any]) -> str:
    try:
        await send(message)
    except RuntimeError as exc:
        return str(exc)
    return 'no error'


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    offered = scope['subprotocols']
    subprotocol = offered[-1] if offered else None
    await send({'type': 'websocket.accept', 'subprotocol': subprotocol, 'headers': [(b'x-accepted', b'yes')]})
    while True:
        message = await receive()
        if message['type'] == 'websocket.disconnect':
            OBSERVED['echo_disconnect'] = message['code']
            return
        if message.get('text') is not None:
            await send({'type': 'websocket.send', 'text': message['text']})
        else:
            await send({'type': 'websocket.send', 'bytes': message['bytes']})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        return
    path = scope['path']
    if scope['type'] == 'http':
        query = dict(parse_qsl(scope['query_string'].decode()))
        # Read once: a test forgets an earlier test's observation by reading it before it acts.
        body = json.dumps(OBSERVED.pop(query.get('key', ''), None)).encode()
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        await send({'type': 'http.response.body', 'body': body})
        return
    if path in ('/', '/echo'):  # kosoku's fuzzing client connects to '/'
        await echo(scope, receive, send)
    elif path == '/scope':
        await receive()
        await send({'type': 'websocket.accept'})
        view = {
            key: (list(value) if isinstance(value, tuple) else value.decode() if isinstance(value, bytes) else value)
            for key, value in scope.items()
            if key not in ('headers', 'state', 'asgi', 'extensions')
        }
        await send({'type': 'websocket.send', 'text': json.dumps(view)})
        await send({'type': 'websocket.close'})
    elif path == '/reject':
        await receive()
    elif path == '/close-before-accept':
        await receive()
        await send({'type': 'websocket.close'})
        OBSERVED['after_reject'] = (await receive())['type']
    elif path == '/deny':
        await receive()
        await send({'type': 'websocket.http.response.start', 'status': 401, 'headers': [(b'x-why', b'token')]})
        await send({'type': 'websocket.http.response.body', 'body': b'denied'})
    elif path == '/close-code':
        await receive()
        await send({'type': 'websocket.accept'})
        await send({'type': 'websocket.close', 'code': 4002, 'reason': 'custom'})
        OBSERVED['after_close'] = await _error(send, {'type': 'websocket.send', 'text': 'late'})
    elif path == '/errors':
        await receive()
        before = await _error(send, {'type': 'websocket.send', 'text': 'early'})
        await send({'type': 'websocket.accept'})
        twice = await _error(send, {'type': 'websocket.accept'})
        both = await _error(send, {'type': 'websocket.send', 'text': 'a', 'bytes': b'b'})
        bogus = await _error(send, {'type': 'websocket.bogus'})
        await send({'type': 'websocket.send', 'text': json.dumps([before, twice, both, bogus])})
        await send({'type': 'websocket.close'})
    elif path == '/raise-before-accept':
        raise RuntimeError('refusing loudly')
    elif path == '/raise-after-accept':
        await receive()
        await send({'type': 'websocket.accept'})
        raise RuntimeError('failing mid-socket')
    elif path == '/return-after-accept':
        await receive()
        await send({'type': 'websocket.accept'})
