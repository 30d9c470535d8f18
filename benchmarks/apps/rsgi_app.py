"""The RSGI app of the benchmark: the same routes and bodies as asgi_app, and the WebSocket echo.

``/b`` a short body, ``/b10k`` 10 KiB, ``/echo`` the request body read whole (``await
protocol()``) and sent back, each with one ``response_bytes`` call (the server adds
Content-Length); ``/ws`` accepts a WebSocket and sends every message back as it came.
"""

from __future__ import annotations

from typing import Any

SHORT_BODY = b'Hello, world!'
BODY_10K = b'x' * 10240

_HEADERS = [('content-type', 'text/plain; charset=utf-8')]

# RSGI WebsocketMessageType values: 0 close, 1 bytes, 2 str.
_WS_BYTES = 1
_WS_STR = 2


async def _websocket_echo(protocol: Any) -> None:
    transport = await protocol.accept()
    while True:
        message = await transport.receive()
        if message.kind == _WS_BYTES:
            await transport.send_bytes(message.data)
        elif message.kind == _WS_STR:
            await transport.send_str(message.data)
        else:
            return


async def app(scope: Any, protocol: Any) -> None:
    path = scope.path
    if scope.proto == 'ws':
        if path == '/ws':
            await _websocket_echo(protocol)
        else:
            protocol.close(404)
    elif path == '/b':
        protocol.response_bytes(200, _HEADERS, SHORT_BODY)
    elif path == '/b10k':
        protocol.response_bytes(200, _HEADERS, BODY_10K)
    elif path == '/echo':
        protocol.response_bytes(200, _HEADERS, await protocol())
    else:
        protocol.response_bytes(404, _HEADERS, b'not found')
