"""RSGI WebSockets end to end with the `websockets` client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'

pytestmark = pytest.mark.anyio


@pytest.fixture(scope='module')
def server() -> Iterator[ServerProcess]:
    proc = api_server('rsgi_ws:app', interface='rsgi', working_dir=str(APPS), log_access=True).ready()
    yield proc
    assert proc.stop() == 0


def ws_url(server: ServerProcess, path: str) -> str:
    return server.url.replace('http://', 'ws://') + path


async def observed(server: ServerProcess, key: str) -> object:
    for _ in range(50):
        value = httpx.get(f'{server.url}/{key}').json()
        if value is not None:
            return value
        await asyncio.sleep(0.05)
    return None


async def test_echo(server: ServerProcess) -> None:
    async with websockets.connect(ws_url(server, '/echo'), max_size=None) as ws:
        await ws.send('text')
        assert await ws.recv() == 'text'
        await ws.send(b'\x00\x01')
        assert await ws.recv() == b'\x00\x01'
        big = b'y' * 3_000_000
        await ws.send(big)
        assert await ws.recv() == big
        await asyncio.wait_for(await ws.ping(), 5)
    assert await observed(server, 'echo_close') == 'close'


async def test_scope(server: ServerProcess) -> None:
    async with websockets.connect(ws_url(server, '/scope?a=b')) as ws:
        scope = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1000
    assert scope == {
        'proto': 'ws',
        'scheme': 'http',
        'method': 'GET',
        'path': '/scope',
        'query_string': 'a=b',
        'http_version': '1.1',
        'rsgi_version': '1.6',
        'upgrade': 'websocket',
    }


@pytest.mark.parametrize(('path', 'status'), [('/reject', 403), ('/reject-401', 401), ('/return', 403)])
async def test_close_before_accept_rejects(server: ServerProcess, path: str, status: int) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(ws_url(server, path)):
            pass
    assert info.value.response.status_code == status


async def test_send_after_close_is_a_protocol_error(server: ServerProcess) -> None:
    async with websockets.connect(ws_url(server, '/errors')) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert await observed(server, 'errors') == {'send_after_close': 'ProtocolError'}


async def test_broken_connection_raises_protocol_closed(server: ServerProcess) -> None:
    key = 'dGhlIHNhbXBsZSBub25jZQ=='
    with socket.create_connection(('127.0.0.1', server.port)) as sock:
        sock.sendall(
            b'GET /broken HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
            b'Sec-WebSocket-Key: ' + key.encode() + b'\r\nSec-WebSocket-Version: 13\r\n\r\n'
        )
        assert sock.recv(4096).startswith(b'HTTP/1.1 101 ')
    # Dropped without a close frame.
    assert await observed(server, 'broken') == 'ProtocolClosed'


async def test_handler_failure_closes_with_1011(server: ServerProcess) -> None:
    async with websockets.connect(ws_url(server, '/raise')) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011


async def test_access_log(server: ServerProcess) -> None:
    line = r'"GET /echo HTTP/1.1" 101'
    before = server.count(line)  # the other tests' /echo connections are logged too
    async with websockets.connect(ws_url(server, '/echo?log=1')):
        pass
    server.wait_for(line, more_than=before)
