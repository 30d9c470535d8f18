"""An ASGI app that reports the event loop it runs on, echoes bodies and WebSocket messages, and
streams ``/stream?chunks=N`` as N pieces of 16 KiB sent back to back (nothing else awaited)."""

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
    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
    if scope['path'] == '/stream':
        for _ in range(int(scope['query_string'].decode().partition('chunks=')[2] or 0)):
            await send({'type': 'http.response.body', 'body': b's' * 16384, 'more_body': True})
        body = b''
    elif scope['path'] == '/loop':
        body = type(asyncio.get_running_loop()).__module__.encode()
    await send({'type': 'http.response.body', 'body': body})
