"""An ASGI app that reports the event loop it runs on, echoes bodies and WebSocket messages."""

from __future__ import annotations

import asyncio
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        return
    if scope['type'] == 'websocket':
        await receive()
        await send({'type': 'websocket.accept'})
        while (message := await receive())['type'] == 'websocket.receive':
            await send({'type': 'websocket.send', 'text': message.get('text'), 'bytes': message.get('bytes')})
        return
    body = b''
    more = True
    while more:
        message = await receive()
        body += message.get('body', b'')
        more = message.get('more_body', False)
    if scope['path'] == '/loop':
        body = type(asyncio.get_running_loop()).__module__.encode()
    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
    await send({'type': 'http.response.body', 'body': body})
