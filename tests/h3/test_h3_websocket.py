"""WebSockets over HTTP/3 (RFC 9220): an extended CONNECT stream carries one WebSocket, for ASGI and
RSGI, through the same session as HTTP/1.1 and HTTP/2; without websockets the server does not
advertise ``SETTINGS_ENABLE_CONNECT_PROTOCOL`` and an extended CONNECT is malformed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from wsproto.events import CloseConnection

from testkit.certs import Certs
from testkit.h3 import H3WebSocket, h3_session
from testkit.process import ServerProcess, api_server

WS_APPS = Path(__file__).parents[1] / 'websocket' / 'apps'
H3_MESSAGE_ERROR = 0x10E


def _start(certs: Certs, target: str, interface: str, **options: object) -> ServerProcess:
    return api_server(
        target,
        interface=interface,
        working_dir=str(WS_APPS),
        http3=True,
        ssl_cert=certs.cert,
        ssl_key=certs.key,
        **options,
    ).ready()


@pytest.mark.parametrize(('target', 'interface'), [('asgi_ws:app', 'asgi'), ('rsgi_ws:app', 'rsgi')])
def test_echo_over_an_extended_connect_stream(certs: Certs, target: str, interface: str) -> None:
    proc = _start(certs, target, interface)

    async def go() -> None:
        async with h3_session(proc.port) as client:
            await client.request('/http')  # the server's SETTINGS are in by now
            assert client.h3.received_settings is not None
            assert client.h3.received_settings.get(0x8) == 1  # SETTINGS_ENABLE_CONNECT_PROTOCOL
            socket, response = await H3WebSocket.open(client, b'/echo')
            assert response.status == 200
            for message in ('hello', b'\x00\x01binary', 'x' * 100_000):
                socket.send(message)
                assert await socket.receive() == message
            socket.close(1000)
            close = await socket.receive()
            assert isinstance(close, CloseConnection) and close.code == 1000
            # The stream ends both ways after the close handshake; the connection carries on.
            assert (await client.response(socket.stream_id)).ended
            assert (await client.request('/http')).status == 200

    try:
        asyncio.run(go())
    finally:
        assert proc.stop() == 0


def test_without_websockets_an_extended_connect_is_malformed(certs: Certs) -> None:
    proc = _start(certs, 'asgi_ws:app', 'asgi', websockets=False)

    async def go() -> None:
        async with h3_session(proc.port) as client:
            await client.request('/http')  # the server's SETTINGS are in by now
            assert client.h3.received_settings is not None
            assert 0x8 not in client.h3.received_settings
            _, response = await H3WebSocket.open(client, b'/echo')
            assert response.reset == H3_MESSAGE_ERROR

    try:
        asyncio.run(go())
    finally:
        assert proc.stop() == 0
