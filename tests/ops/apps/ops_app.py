"""An ASGI app for the process-management tests: who served, what it sees, and ways to misbehave."""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import parse_qs

_HOARD: list[bytearray] = []


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message['type'] == 'lifespan.startup':
            await send({'type': 'lifespan.startup.complete'})
        elif message['type'] == 'lifespan.shutdown':
            await send({'type': 'lifespan.shutdown.complete'})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        await _lifespan(receive, send)
        return
    if scope['type'] == 'websocket':
        await receive()  # websocket.connect
        await send({'type': 'websocket.accept'})
        while (await receive())['type'] != 'websocket.disconnect':
            pass
        return
    query = {key: values[0] for key, values in parse_qs(scope['query_string'].decode()).items()}
    path = scope['path']
    if path == '/pid':
        body = str(os.getpid()).encode()
    elif path == '/env':
        body = os.environ.get(query['key'], '<unset>').encode()
    elif path == '/hog':
        # Touch every page, so the memory is resident and not just reserved.
        _HOARD.append(bytearray(b'x' * (int(query['mb']) * 1024 * 1024)))
        body = str(os.getpid()).encode()
    elif path == '/slow':
        if 'marker' in query:  # tells the test the request is being served
            with open(query['marker'], 'w'):
                pass
        await asyncio.sleep(float(query['delay']))
        body = b'slow done'
    else:
        body = b'ok'
    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
    await send({'type': 'http.response.body', 'body': body})
