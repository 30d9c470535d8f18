"""Echo WebSockets that record how they ended, for tests/websocket/test_ws_keepalive.py.

A WebSocket opened at ``/ws/<name>`` echoes every message; when it ends, its handler records what
the app saw under ``<name>``, and ``GET /ended/<name>`` answers with that record as JSON (``null``
until then): ASGI's disconnect code and reason, or RSGI's ``close`` message or ``ProtocolClosed``.
"""

from __future__ import annotations

import json
from typing import Any

from granian.rsgi import ProtocolClosed, WebsocketMessageType

ENDED: dict[str, object] = {}


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    name = scope['path'].rsplit('/', 1)[-1]
    if scope['type'] == 'http':
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'application/json')]})
        await send({'type': 'http.response.body', 'body': json.dumps(ENDED.get(name)).encode()})
        return
    await receive()  # websocket.connect
    await send({'type': 'websocket.accept'})
    while True:
        message = await receive()
        if message['type'] == 'websocket.disconnect':
            ENDED[name] = {'code': message['code'], 'reason': message.get('reason', '')}
            return
        if message.get('text') is not None:
            await send({'type': 'websocket.send', 'text': message['text']})
        else:
            await send({'type': 'websocket.send', 'bytes': message['bytes']})


async def rsgi_app(scope: Any, protocol: Any) -> None:
    name = scope.path.rsplit('/', 1)[-1]
    if scope.proto == 'http':
        protocol.response_str(200, [('content-type', 'application/json')], json.dumps(ENDED.get(name)))
        return
    transport = await protocol.accept()
    try:
        while True:
            message = await transport.receive()
            if message.kind == WebsocketMessageType.close:
                ENDED[name] = 'close'
                return
            if message.kind == WebsocketMessageType.string:
                await transport.send_str(message.data)
            else:
                await transport.send_bytes(message.data)
    except ProtocolClosed:
        ENDED[name] = 'ProtocolClosed'
