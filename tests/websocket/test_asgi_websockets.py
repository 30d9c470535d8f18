"""ASGI WebSockets end to end with the `websockets` client, plus a Starlette endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from testkit.poll import eventually_async
from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'
E2E_APPS = Path(__file__).parents[1] / 'e2e' / 'apps'

pytestmark = pytest.mark.anyio


@pytest.fixture(scope='module')
def server() -> Iterator[ServerProcess]:
    proc = api_server('asgi_ws:app', interface='asginl', working_dir=str(APPS), log_access=True).ready()
    yield proc
    assert proc.stop() == 0


def ws_url(server: ServerProcess, path: str) -> str:
    return server.url.replace('http://', 'ws://') + path


def take(server: ServerProcess, key: str) -> object:
    """What the app observed under ``key`` since the last look (the app forgets it once read)."""
    return httpx.get(f'{server.url}/observed', params={'key': key}).json()


async def observed(server: ServerProcess, key: str) -> object:
    """Wait for the app's next observation under ``key``."""
    return await eventually_async(lambda: take(server, key), lambda value: value is not None, what=key)


async def test_echo_text_bytes_large_and_compressed(server: ServerProcess) -> None:
    take(server, 'echo_disconnect')
    async with websockets.connect(ws_url(server, '/echo'), max_size=None) as ws:
        await ws.send('hello')
        assert await ws.recv() == 'hello'
        await ws.send(b'\x00\xff')
        assert await ws.recv() == b'\x00\xff'
        big = bytes(range(256)) * 40_000  # 10 MiB
        await ws.send(big)
        assert await ws.recv() == big
        await ws.send(['frag', 'ment', 'ed'])  # one message in three fragments
        assert await ws.recv() == 'fragmented'
        pong = await ws.ping(b'hi')
        await asyncio.wait_for(pong, 5)
        assert ws.response.headers['x-accepted'] == 'yes'
        assert ws.response.headers['sec-websocket-extensions'].startswith('permessage-deflate')
    assert await observed(server, 'echo_disconnect') == 1000


async def test_subprotocol_negotiation(server: ServerProcess) -> None:
    async with websockets.connect(ws_url(server, '/echo'), subprotocols=['one', 'two']) as ws:
        assert ws.subprotocol == 'two'


async def test_scope(server: ServerProcess) -> None:
    async with websockets.connect(ws_url(server, '/scope?x=1')) as ws:
        scope = json.loads(await ws.recv())
    assert scope['type'] == 'websocket'
    assert scope['scheme'] == 'ws'
    assert scope['path'] == '/scope' and scope['query_string'] == 'x=1'
    assert scope['http_version'] == '1.1'
    assert scope['subprotocols'] == []
    assert 'method' not in scope
    assert scope['server'] == ['127.0.0.1', str(server.port)]


@pytest.mark.parametrize('path', ['/reject', '/close-before-accept'])
async def test_not_accepting_rejects_with_403(server: ServerProcess, path: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(ws_url(server, path)):
            pass
    assert info.value.response.status_code == 403


async def test_disconnect_after_reject(server: ServerProcess) -> None:
    take(server, 'after_reject')
    with pytest.raises(InvalidStatus):
        async with websockets.connect(ws_url(server, '/close-before-accept')):
            pass
    assert await observed(server, 'after_reject') == 'websocket.disconnect'


async def test_denial_response_extension(server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(ws_url(server, '/deny')):
            pass
    response = info.value.response
    assert response.status_code == 401
    assert response.headers['x-why'] == 'token'
    assert response.body == b'denied'


async def test_server_close_code_and_reason(server: ServerProcess) -> None:
    take(server, 'after_close')
    async with websockets.connect(ws_url(server, '/close-code')) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4002, 'custom')
    assert await observed(server, 'after_close') == 'ASGI flow error: Transport closed'


async def test_flow_error_texts(server: ServerProcess) -> None:
    async with websockets.connect(ws_url(server, '/errors')) as ws:
        errors = json.loads(await ws.recv())
    assert errors == [
        'ASGI flow error: Transport not initialized or closed',
        'ASGI flow error: Connection already upgraded',
        'Unsupported ASGI message',
        'Unsupported ASGI message',
    ]


async def test_app_failures(server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(ws_url(server, '/raise-before-accept')):
            pass
    assert info.value.response.status_code == 500
    async with websockets.connect(ws_url(server, '/raise-after-accept')) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    async with websockets.connect(ws_url(server, '/return-after-accept')) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


async def test_message_too_big_closes_with_1009(server: ServerProcess) -> None:
    async with websockets.connect(ws_url(server, '/echo'), max_size=None, compression=None) as ws:
        # The server refuses the frame as soon as its header announces the size, so the close
        # may reach the client while it is still sending, or only when it reads.
        with pytest.raises(ConnectionClosed) as info:
            await ws.send(b'x' * (16 * 1024 * 1024 + 1))
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


async def test_bad_handshake_gets_400_with_reason(server: ServerProcess) -> None:
    response = httpx.get(
        ws_url(server, '/echo').replace('ws://', 'http://'),
        headers={'Upgrade': 'websocket', 'Connection': 'Upgrade', 'Sec-WebSocket-Version': '13'},
    )
    assert response.status_code == 400
    assert 'Sec-WebSocket-Key' in response.text


async def test_access_log_records_101(server: ServerProcess) -> None:
    line = r'"GET /echo HTTP/1.1" 101'
    before = server.count(line)  # the other tests' /echo connections are logged too
    async with websockets.connect(ws_url(server, '/echo?logged=1')):
        pass
    server.wait_for(line, more_than=before)


def test_websockets_disabled() -> None:
    proc = api_server('asgi_ws:app', interface='asginl', working_dir=str(APPS), websockets=False).ready()
    try:
        # The upgrade is an ordinary HTTP request then: this app answers HTTP with JSON.
        response = httpx.get(
            f'{proc.url}/echo',
            headers={
                'Upgrade': 'websocket',
                'Connection': 'Upgrade',
                'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
                'Sec-WebSocket-Version': '13',
            },
        )
        assert response.status_code == 200
    finally:
        assert proc.stop() == 0


def test_starlette_websocket_endpoint() -> None:
    proc = api_server('starlette_app:app', interface='asgi', working_dir=str(E2E_APPS)).ready()

    async def talk() -> str:
        async with websockets.connect(proc.url.replace('http://', 'ws://') + '/ws') as ws:
            await ws.send('ping')
            return str(await ws.recv())

    try:
        assert asyncio.run(talk()) == 'hello from lifespan: ping'
    finally:
        assert proc.stop() == 0
