"""The app the soak serves, once per interface: ASGI (``app``) and RSGI (``rsgi_app``).

Routes, the same on both:

- ``GET /small?i=N``: ``small N``, so that pipelined answers can be matched to their requests;
- ``GET /stream?size=N&chunk=C``: ``N`` bytes of :func:`~soak.payload.expected_stream`, sent in
  pieces of ``C`` bytes as a streamed (chunked) response;
- ``POST /upload``: reads the body piece by piece and answers its size and SHA-256
  (:func:`~soak.payload.upload_answer`); the body is hashed as it arrives and never held whole, so
  the worker's memory follows the server's buffering, not the upload's size;
- WebSocket ``/ws``: echoes every message, text as text and binary as binary.

A client that goes away mid-request (the soak resets some on purpose) ends the handler quietly:
an error here would show in the server's log, which the soak checks.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs

from granian.rsgi import ProtocolClosed, WebsocketMessageType
from soak.payload import stream_chunks, upload_answer

__all__ = ['app', 'rsgi_app']

_TEXT = 'text/plain'
_DEFAULT_CHUNK = 16 * 1024


def _query(raw: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(raw).items()}


def _stream_args(query: dict[str, str]) -> tuple[int, int]:
    return int(query.get('size', '0')), int(query.get('chunk', str(_DEFAULT_CHUNK)))


# -- ASGI --------------------------------------------------------------------------------------


async def _lifespan(receive: Any, send: Any) -> None:
    # Startup, then shutdown: the server sends nothing else on this channel.
    while (await receive())['type'] != 'lifespan.shutdown':
        await send({'type': 'lifespan.startup.complete'})
    await send({'type': 'lifespan.shutdown.complete'})


async def _asgi_ws_echo(receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    await send({'type': 'websocket.accept'})
    while True:
        message = await receive()
        if message['type'] == 'websocket.disconnect':
            return
        if message.get('text') is not None:
            reply = {'type': 'websocket.send', 'text': message['text']}
        else:
            reply = {'type': 'websocket.send', 'bytes': message['bytes']}
        try:
            await send(reply)
        except RuntimeError:
            # The session ended between the message and its echo: the client left, or a worker
            # that stops closed it with 1001. Upstream raises here too ("Transport closed").
            return


async def _asgi_upload(receive: Any) -> bytes | None:
    """The upload's answer, or None when the client left before the end of the body."""
    sha = hashlib.sha256()
    size = 0
    while True:
        message = await receive()
        if message['type'] == 'http.disconnect':
            return None
        body = message.get('body', b'')
        sha.update(body)
        size += len(body)
        if not message.get('more_body', False):
            return upload_answer(size, sha.hexdigest())


async def _asgi_reply(send: Any, status: int, body: bytes) -> None:
    headers = [(b'content-type', _TEXT.encode()), (b'content-length', str(len(body)).encode())]
    await send({'type': 'http.response.start', 'status': status, 'headers': headers})
    await send({'type': 'http.response.body', 'body': body})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        await _lifespan(receive, send)
        return
    if scope['type'] == 'websocket':
        await _asgi_ws_echo(receive, send)
        return
    path = scope['path']
    query = _query(scope['query_string'].decode())
    if path == '/small':
        await _asgi_reply(send, 200, f'small {query.get("i", "")}'.encode())
    elif path == '/stream':
        size, chunk = _stream_args(query)
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
        for piece in stream_chunks(size, chunk):
            await send({'type': 'http.response.body', 'body': piece, 'more_body': True})
        await send({'type': 'http.response.body', 'body': b''})
    elif path == '/upload' and scope['method'] == 'POST':
        answer = await _asgi_upload(receive)
        if answer is not None:
            await _asgi_reply(send, 200, answer)
    else:
        await _asgi_reply(send, 404, b'not found')


# -- RSGI --------------------------------------------------------------------------------------


async def _rsgi_ws_echo(protocol: Any) -> None:
    transport = await protocol.accept()
    try:
        while True:
            message = await transport.receive()
            if message.kind == WebsocketMessageType.close:
                return
            if message.kind == WebsocketMessageType.string:
                await transport.send_str(message.data)
            else:
                await transport.send_bytes(message.data)
    except ProtocolClosed:
        # The socket broke (a client that reset) or the session ended before the echo: RSGI
        # raises on receive and send alike, upstream too.
        return


async def _rsgi_upload(protocol: Any) -> bytes | None:
    sha = hashlib.sha256()
    size = 0
    try:
        async for body in protocol:
            sha.update(body)
            size += len(body)
    except ProtocolClosed:
        return None
    return upload_answer(size, sha.hexdigest())


async def rsgi_app(scope: Any, protocol: Any) -> None:
    if scope.proto == 'ws':
        await _rsgi_ws_echo(protocol)
        return
    query = _query(scope.query_string)
    headers = [('content-type', _TEXT)]
    if scope.path == '/small':
        protocol.response_str(200, headers, f'small {query.get("i", "")}')
    elif scope.path == '/stream':
        size, chunk = _stream_args(query)
        transport = protocol.response_stream(200, headers)
        try:
            for piece in stream_chunks(size, chunk):
                await transport.send_bytes(piece)
        except ProtocolClosed:
            return
    elif scope.path == '/upload' and scope.method == 'POST':
        answer = await _rsgi_upload(protocol)
        if answer is not None:
            protocol.response_bytes(200, headers, answer)
    else:
        protocol.response_str(404, headers, 'not found')
