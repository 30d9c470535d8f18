"""An ASGI app that sets the response headers the request asks for: ``?set=name:value``, repeatable.

``/stream`` sends its body in two parts (a chunked response), ``/crash`` raises before answering
(the server's 500), and a WebSocket handshake is accepted with the asked-for headers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl


def asked_headers(query_string: bytes) -> list[tuple[bytes, bytes]]:
    pairs = []
    for key, value in parse_qsl(query_string.decode('latin-1')):
        if key == 'set':
            name, _, field_value = value.partition(':')
            pairs.append((name.encode('latin-1'), field_value.encode('latin-1')))
    return pairs


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = asked_headers(scope['query_string'])
    if scope['type'] == 'websocket':
        await receive()  # websocket.connect
        await send({'type': 'websocket.accept', 'headers': headers})
        while (await receive())['type'] != 'websocket.disconnect':
            pass
        return
    if scope['path'] == '/crash':
        raise RuntimeError('the app fails before it answers')
    start = {'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain'), *headers]}
    await send(start)
    if scope['path'] == '/stream':
        await send({'type': 'http.response.body', 'body': b'part one, ', 'more_body': True})
    await send({'type': 'http.response.body', 'body': b'ok'})
