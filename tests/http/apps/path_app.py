"""An ASGI app that answers every request with its path: pipelined responses tell which is which."""

from __future__ import annotations

from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] != 'http':
        return
    body = scope['path'].encode()
    if scope['path'].startswith('/big'):
        body *= 20_000  # well over the 64 KiB a pipeline collects before sending
    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
    await send({'type': 'http.response.body', 'body': body})
