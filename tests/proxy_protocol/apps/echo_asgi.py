"""An ASGI app that answers with what it was told of the connection (HTTP and WebSocket)."""

from __future__ import annotations

import json
from typing import Any


def _seen(scope: Any) -> bytes:
    return json.dumps(
        {
            'client': scope['client'],
            'server': scope['server'],
            'scheme': scope['scheme'],
            'http_version': scope.get('http_version'),
            'path': scope['path'],
        }
    ).encode()


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        while (await receive())['type'] != 'lifespan.shutdown':
            await send({'type': 'lifespan.startup.complete'})
        await send({'type': 'lifespan.shutdown.complete'})
        return
    if scope['type'] == 'websocket':
        await receive()  # websocket.connect
        await send({'type': 'websocket.accept'})
        await send({'type': 'websocket.send', 'text': _seen(scope).decode()})
        # The client closes once it has read it (so its socket is still open while it looks).
        await receive()
        return
    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'application/json')]})
    await send({'type': 'http.response.body', 'body': _seen(scope)})
