"""An ASGI app that exposes what the server does: scope keys, message sequences, error texts.

Routes by path; see tests/e2e/test_asgi.py for what each one checks.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any
from urllib.parse import parse_qsl

# Things the app observed, by key, read back through /observed?key=...
OBSERVED: dict[str, Any] = {}


def _jsonable(scope: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in scope.items():
        if key == 'headers':
            out[key] = [[name.decode('latin-1'), val.decode('latin-1')] for name, val in value]
        elif key == 'state':
            out[key] = dict(value)
        elif isinstance(value, bytes):
            out[key] = value.decode('latin-1')
        elif isinstance(value, tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return out


async def _respond(send: Any, body: bytes, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = headers or [(b'content-type', b'text/plain')]
    await send({'type': 'http.response.start', 'status': status, 'headers': headers})
    await send({'type': 'http.response.body', 'body': body})


async def _flow_error(send: Any, message: dict[str, Any]) -> str:
    try:
        await send(message)
    except RuntimeError as exc:
        return str(exc)
    return 'no error'


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message['type'] == 'lifespan.startup':
            scope['state']['started'] = True
            scope['state']['pid'] = os.getpid()
            await send({'type': 'lifespan.startup.complete'})
        elif message['type'] == 'lifespan.shutdown':
            marker = os.environ.get('LIFESPAN_MARKER')
            if marker:
                with open(marker, 'a') as fh:
                    fh.write(f'shutdown state={sorted(scope["state"])}\n')
            await send({'type': 'lifespan.shutdown.complete'})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        await lifespan(scope, receive, send)
        return
    path = scope['path']
    query = dict(parse_qsl(scope['query_string'].decode()))

    if path == '/scope':
        await _respond(send, json.dumps(_jsonable(scope)).encode(), headers=[(b'content-type', b'application/json')])
    elif path == '/pid':
        await _respond(send, str(os.getpid()).encode())
    elif path == '/echo':
        chunks = []
        messages = []
        while True:
            message = await receive()
            messages.append([message['type'], len(message.get('body', b'')), message.get('more_body')])
            chunks.append(message.get('body', b''))
            if not message.get('more_body'):
                break
        OBSERVED['echo_messages'] = messages
        await _respond(send, b''.join(chunks))
    elif path == '/after-response':
        await _respond(send, b'done')
        # The response is complete, so the next event is a disconnect, at once.
        message = await asyncio.wait_for(receive(), 5)
        message = await asyncio.wait_for(receive(), 5)
        OBSERVED['after_response'] = message['type']
    elif path == '/wait-disconnect':
        # Read the body, then wait for the client to go away mid-request.
        await receive()
        OBSERVED['wait_disconnect'] = 'waiting'  # the test leaves once it sees this
        message = await receive()
        OBSERVED['wait_disconnect'] = message['type']
    elif path == '/stream':
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
        for idx in range(int(query.get('n', '3'))):
            await send({'type': 'http.response.body', 'body': b'chunk%d;' % idx, 'more_body': True})
        await send({'type': 'http.response.body', 'body': b'end'})
    elif path == '/big':
        size = int(query.get('size', '1048576'))
        await _respond(send, b'x' * size)
    elif path == '/sse':
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/event-stream')]})
        # The head is already on the wire: the client can see it before any event.
        await asyncio.sleep(float(query.get('delay', '0.5')))
        await send({'type': 'http.response.body', 'body': b'data: one\n\n', 'more_body': True})
        await send({'type': 'http.response.body', 'body': b''})
    elif path == '/raise':
        raise RuntimeError('app failure before the response')
    elif path == '/raise-after-start':
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        await send({'type': 'http.response.body', 'body': b'partial', 'more_body': True})
        raise RuntimeError('app failure mid-body')
    elif path == '/nothing':
        return
    elif path == '/start-only':
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
    elif path == '/stream-no-end':
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        await send({'type': 'http.response.body', 'body': b'open', 'more_body': True})
    elif path == '/double-start':
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        error = await _flow_error(send, {'type': 'http.response.start', 'status': 201, 'headers': []})
        await send({'type': 'http.response.body', 'body': error.encode()})
    elif path == '/body-before-start':
        error = await _flow_error(send, {'type': 'http.response.body', 'body': b'x'})
        await _respond(send, error.encode())
    elif path == '/body-after-finish':
        await _respond(send, b'first')
        OBSERVED['body_after_finish'] = await _flow_error(send, {'type': 'http.response.body', 'body': b'again'})
    elif path == '/unsupported':
        error = await _flow_error(send, {'type': 'http.response.bogus'})
        await _respond(send, error.encode())
    elif path == '/missing-status':
        error = await _flow_error(send, {'type': 'http.response.start', 'headers': []})
        await _respond(send, error.encode())
    elif path == '/pathsend':
        headers = [(b'content-type', b'application/x-test')]
        await send({'type': 'http.response.start', 'status': 200, 'headers': headers})
        await send({'type': 'http.response.pathsend', 'path': query['file']})
    elif path == '/bad-header':
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'x-bad', b'a\r\nx-injected: yes')]})
        await send({'type': 'http.response.body', 'body': b'never'})
    elif path == '/state':
        state = scope['state']
        leaked = 'mutated' in state
        state['mutated'] = True
        await _respond(send, json.dumps({'leaked': leaked, 'started': state.get('started')}).encode())
    elif path == '/slow':
        if 'marker' in query:  # tells the test the request is being served
            with open(query['marker'], 'w'):
                pass
        await asyncio.sleep(float(query.get('delay', '1')))
        await _respond(send, b'slow done')
    elif path == '/observed':
        await _respond(send, json.dumps(OBSERVED.get(query['key'])).encode())
    else:
        await _respond(send, b'Not found', status=404)
