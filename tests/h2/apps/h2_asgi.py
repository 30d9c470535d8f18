"""The ASGI app of the HTTP/2 and TLS end-to-end tests.

Routes: ``/scope`` (the scope as JSON), ``/echo`` (the body back), ``/stream?n=&size=`` (a streamed
body), ``/trailers``, ``/hints`` (103 then 200), ``/wait`` (answers nothing until the client goes;
records it), ``/events`` (what ``/wait`` recorded), ``/slow?ms=`` (answers after a delay). A
WebSocket is accepted, told its scheme in a JSON text message, and closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs

EVENTS: list[str] = []


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode('latin-1')
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message['type'] == 'http.disconnect':
            raise ConnectionError('client gone')
        chunks.append(message.get('body', b''))
        if not message.get('more_body'):
            return b''.join(chunks)


async def _send(send: Any, body: bytes, status: int = 200, content_type: bytes = b'text/plain') -> None:
    await send({'type': 'http.response.start', 'status': status, 'headers': [(b'content-type', content_type)]})
    await send({'type': 'http.response.body', 'body': body})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            if message['type'] == 'lifespan.startup':
                await send({'type': 'lifespan.startup.complete'})
            elif message['type'] == 'lifespan.shutdown':
                await send({'type': 'lifespan.shutdown.complete'})
                return
    if scope['type'] == 'websocket':
        await receive()  # websocket.connect
        await send({'type': 'websocket.accept'})
        info = {'scheme': scope['scheme'], 'tls_version': scope['extensions'].get('tls', {}).get('tls_version')}
        await send({'type': 'websocket.send', 'text': json.dumps(info)})
        await send({'type': 'websocket.close', 'code': 1000})
        return
    path = scope['path']
    query = {key: values[0] for key, values in parse_qs(scope['query_string'].decode()).items()}
    if path == '/scope':
        info = {key: scope[key] for key in ('http_version', 'scheme', 'method', 'path', 'query_string', 'headers')}
        info['extensions'] = scope['extensions']
        await _send(send, json.dumps(_jsonable(info)).encode(), content_type=b'application/json')
    elif path == '/echo':
        body = await _body(receive)
        await send(
            {
                'type': 'http.response.start',
                'status': 200,
                'headers': [(b'x-sha256', hashlib.sha256(body).hexdigest().encode())],
            }
        )
        await send({'type': 'http.response.body', 'body': body})
    elif path == '/stream':
        count, size = int(query.get('n', '10')), int(query.get('size', '1024'))
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        for index in range(count):
            await send({'type': 'http.response.body', 'body': bytes((65 + index % 26,)) * size, 'more_body': True})
        await send({'type': 'http.response.body', 'body': b''})
    elif path == '/trailers':
        await send(
            {'type': 'http.response.start', 'status': 200, 'headers': [(b'trailer', b'x-digest')], 'trailers': True}
        )
        await send({'type': 'http.response.body', 'body': b'with ', 'more_body': True})
        await send({'type': 'http.response.body', 'body': b'trailers'})
        await send({'type': 'http.response.trailers', 'headers': [(b'x-digest', b'abc123')]})
    elif path == '/hints':
        await send({'type': 'http.response.early_hint', 'links': [b'</style.css>; rel=preload; as=style']})
        await _send(send, b'hinted')
    elif path == '/wait':
        EVENTS.append('waiting')
        message = await receive()
        while message['type'] != 'http.disconnect':
            message = await receive()
        EVENTS.append('disconnected')
    elif path == '/events':
        await _send(send, json.dumps(EVENTS).encode(), content_type=b'application/json')
    elif path == '/slow':
        await asyncio.sleep(int(query.get('ms', '500')) / 1000)
        await _send(send, b'slow done')
    else:
        await _send(send, b'not found', status=404)
