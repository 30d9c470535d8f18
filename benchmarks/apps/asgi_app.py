"""The ASGI app every server in the benchmark runs: three routes, nothing else on the path.

``/b`` a short body, ``/b10k`` 10 KiB, ``/echo`` the request body read whole and sent back.
Responses carry a Content-Length so every server writes a plain (not chunked) body.
``/ws`` is the WebSocket echo: every message goes back as it came (text as text, bytes as bytes).
"""

from __future__ import annotations

from typing import Any

SHORT_BODY = b'Hello, world!'
BODY_10K = b'x' * 10240

_TEXT = (b'content-type', b'text/plain; charset=utf-8')


def _head(length: int) -> dict[str, Any]:
    return {'type': 'http.response.start', 'status': 200, 'headers': [_TEXT, (b'content-length', b'%d' % length)]}


_SHORT_HEAD = _head(len(SHORT_BODY))
_10K_HEAD = _head(len(BODY_10K))
_NOT_FOUND_HEAD = {'type': 'http.response.start', 'status': 404, 'headers': [_TEXT, (b'content-length', b'9')]}


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message['type'] == 'lifespan.startup':
            await send({'type': 'lifespan.startup.complete'})
        elif message['type'] == 'lifespan.shutdown':
            await send({'type': 'lifespan.shutdown.complete'})
            return


async def _read_body(receive: Any) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message['type'] == 'http.disconnect':
            return None
        chunks.append(message.get('body', b''))
        if not message.get('more_body', False):
            return b''.join(chunks)


_WS_ACCEPT = {'type': 'websocket.accept'}
_WS_REJECT = {'type': 'websocket.close', 'code': 1008}


async def _websocket_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    message = await receive()
    if message['type'] != 'websocket.connect':
        return
    if scope['path'] != '/ws':
        await send(_WS_REJECT)
        return
    await send(_WS_ACCEPT)
    while True:
        message = await receive()
        if message['type'] != 'websocket.receive':
            return
        text = message.get('text')
        if text is not None:
            await send({'type': 'websocket.send', 'text': text})
        else:
            await send({'type': 'websocket.send', 'bytes': message.get('bytes')})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    kind = scope['type']
    if kind != 'http':
        await (_lifespan(receive, send) if kind == 'lifespan' else _websocket_echo(scope, receive, send))
        return
    path = scope['path']
    if path == '/b':
        await send(_SHORT_HEAD)
        await send({'type': 'http.response.body', 'body': SHORT_BODY})
    elif path == '/b10k':
        await send(_10K_HEAD)
        await send({'type': 'http.response.body', 'body': BODY_10K})
    elif path == '/echo':
        body = await _read_body(receive)
        if body is None:
            return
        await send(_head(len(body)))
        await send({'type': 'http.response.body', 'body': body})
    else:
        await send(_NOT_FOUND_HEAD)
        await send({'type': 'http.response.body', 'body': b'not found'})
