"""The embedded server: the app object served as a task on the caller's loop."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from granian.server.embed import Server
from testkit.poll import eventually_async

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
    await eventually_async(lambda: server.bind_port, what='the embedded server to bind')


async def test_serve_stop_and_reload() -> None:
    EVENTS.clear()
    server = Server(app, port=0, interface='asgi')
    task = asyncio.create_task(server.serve())
    await wait_bound(server)
    async with httpx.AsyncClient(base_url=f'http://127.0.0.1:{server.port}') as client:
        assert (await client.get('/')).text == 'embedded'
        server.reload()
        # Same socket, a new worker: lifespan ran again.
        await eventually_async(lambda: EVENTS.count('lifespan.startup') == 2, what='the new worker')
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
