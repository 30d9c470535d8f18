"""Graceful shutdown with WebSockets open: the server closes them with 1001 and the worker exits,
whether the client answers the close or not (then the close timeout drops it), in the clear and
over TLS. A handler blocked in receive() must hear the end, or the worker would wait forever."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from testkit.certs import Certs
from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parents[1] / 'e2e' / 'apps'
HANDSHAKE = (
    b'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
)


def start(certs: Certs, tls: bool) -> ServerProcess:
    options: dict[str, object] = {'ssl_cert': certs.cert, 'ssl_key': certs.key} if tls else {}
    return api_server('loops_app:app', interface='asginl', working_dir=str(APPS), **options).ready()


def context(certs: Certs) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certs.ca))


@pytest.mark.parametrize('tls', [False, True])
def test_a_client_that_answers_the_close_sees_1001(certs: Certs, tls: bool) -> None:
    server = start(certs, tls)

    async def talk() -> int:
        url = server.url.replace('http', 'ws', 1) + '/ws'
        async with websockets.connect(url, ssl=context(certs) if tls else None) as ws:
            await ws.send('before shutdown')
            assert await ws.recv() == 'before shutdown'
            server.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code

    try:
        assert asyncio.run(talk()) == 1001
        # The SIGTERM above is stopping it: wait for that exit (a second signal could land after
        # the supervisor restored the default handlers).
        assert server.proc.wait(30) == 0
    finally:
        server.stop()


@pytest.mark.parametrize('tls', [False, True])
def test_a_silent_client_does_not_hold_the_worker(certs: Certs, tls: bool) -> None:
    server = start(certs, tls)
    sock = socket.create_connection(('127.0.0.1', server.port), timeout=10)
    try:
        if tls:
            sock = context(certs).wrap_socket(sock, server_hostname='127.0.0.1')
        sock.sendall(HANDSHAKE)
        assert sock.recv(4096).startswith(b'HTTP/1.1 101 ')
        # The client never reads nor answers the 1001 close: the close timeout must end it.
        assert server.stop(signal.SIGTERM, timeout=30) == 0
    finally:
        sock.close()
