"""HTTP/3 from the embedded server (``granian.server.embed.Server(http3=True)``): its one worker,
a task on the test's own loop, serves QUIC on the TCP port, aioquic's client over real UDP."""

from __future__ import annotations

import asyncio
import re
import socket
from typing import Any

import httpx
import pytest

from granian.errors import ConfigurationError
from granian.server.embed import Server
from testkit.certs import Certs
from testkit.h3 import h3_session
from testkit.poll import eventually_async

pytestmark = pytest.mark.anyio

STARTS: list[str] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            if message['type'] == 'lifespan.startup':
                STARTS.append('startup')
            await send({'type': message['type'] + '.complete'})
            if message['type'] == 'lifespan.shutdown':
                return
    body = b''
    more = True
    while more:
        message = await receive()
        body += message.get('body', b'')
        more = message.get('more_body', False)
    await send({'type': 'http.response.start', 'status': 200, 'headers': []})
    await send({'type': 'http.response.body', 'body': b'%s %s' % (scope['http_version'].encode(), body)})


def embedded(certs: Certs, port: int = 0) -> Server:
    return Server(app, port=port, interface='asgi', http3=True, ssl_cert=certs.cert, ssl_key=certs.key)


async def h3_post(port: int, body: bytes) -> tuple[int, bytes]:
    async with h3_session(port) as client:
        response = await client.request('/', 'POST', body, timeout=10)
        return response.status, response.body


async def test_embedded_server_serves_http3_and_advertises_it(certs: Certs) -> None:
    STARTS.clear()
    server = embedded(certs)
    task = asyncio.create_task(server.serve())
    try:
        await eventually_async(lambda: STARTS, what='the embedded worker to start')
        assert await h3_post(server.port, b'one') == (200, b'3 one')
        # HTTP/1.1 and HTTP/2 responses point browsers at the same port over UDP.
        async with httpx.AsyncClient(verify=False) as client:
            response = await client.get(f'https://127.0.0.1:{server.port}/')
        assert response.text == '1.1 '
        assert response.headers['alt-svc'].startswith(f'h3=":{server.port}"')
        # A reload serves HTTP/3 again on a new UDP socket, same port.
        server.reload()
        await eventually_async(lambda: len(STARTS) == 2, what='the reloaded worker')
        assert await h3_post(server.port, b'two') == (200, b'3 two')
    finally:
        server.stop()
        await asyncio.wait_for(task, 10)


async def test_embedded_http3_refuses_a_udp_port_taken(certs: Certs) -> None:
    # The port is free for UDP when we take it, but its TCP twin may belong to another test
    # running beside this one: then the TCP bind fails first ('port: ...'), and another port is
    # tried. The refusal this test is about must still come, naming http3.
    for _ in range(5):
        taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        taken.bind(('127.0.0.1', 0))
        try:
            server = embedded(certs, taken.getsockname()[1])
            with pytest.raises(ConfigurationError) as refused:
                await server.serve()
        finally:
            taken.close()
        if not str(refused.value).startswith('port: '):
            break
    assert re.match(r'^http3: ', str(refused.value)), str(refused.value)


async def test_embedded_http3_without_a_certificate_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r'^http3: .*--ssl-certificate'):
        Server(app, port=0, interface='asgi', http3=True)
