"""The embedded server: the app object served as a task on the caller's loop."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from granian.server.embed import Server

pytestmark = pytest.mark.anyio

EVENTS: list[str] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            EVENTS.append(message['type'])
            await send({'type': message['type'] + '.complete'})
            if message['type'] == 'lifespan.shutdown':
                return
    await send({'type': 'http.response.start', 'status': 200, 'headers': []})
    await send({'type': 'http.response.body', 'body': b'embedded'})


async def wait_bound(server: Server) -> None:
    for _ in range(200):
        if server.bind_port:
            return
        await asyncio.sleep(0.01)
    raise AssertionError('the embedded server never bound')


async def test_serve_stop_and_reload() -> None:
    EVENTS.clear()
    server = Server(app, port=0, interface='asgi')
    task = asyncio.create_task(server.serve())
    await wait_bound(server)
    async with httpx.AsyncClient(base_url=f'http://127.0.0.1:{server.port}') as client:
        assert (await client.get('/')).text == 'embedded'
        server.reload()
        await asyncio.sleep(0.2)
        # Same socket, a new worker: lifespan ran again.
        assert (await client.get('/')).text == 'embedded'
    server.stop()
    await asyncio.wait_for(task, 10)
    assert EVENTS == ['lifespan.startup', 'lifespan.shutdown', 'lifespan.startup', 'lifespan.shutdown']


async def test_embedded_refuses_wsgi() -> None:
    from granian.errors import ConfigurationError

    server = Server(app, port=0, interface='asgi')
    server.interface = 'wsgi'  # type: ignore[assignment]
    with pytest.raises(ConfigurationError, match=r'^interface: '):
        await server.serve()
