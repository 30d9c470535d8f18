"""The WebSocket opening handshake on HTTP1Connection, checked with wsproto's client handshake."""

from __future__ import annotations

import asyncio

import pytest
from wsproto import WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import AcceptConnection, RejectConnection, RejectData, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

from granian_http.context import ServeContext
from testkit.h1 import Server

pytestmark = pytest.mark.anyio


def client_request(**options: object) -> tuple[WSConnection, bytes]:
    client = WSConnection(ConnectionType.CLIENT)
    data = client.send(Request(host='example.com', target='/chat?room=1', **options))  # type: ignore[arg-type]
    return client, data


async def test_accept_with_subprotocol_extension_and_headers() -> None:
    server = Server()
    client, data = client_request(subprotocols=['chat.v1', 'chat.v2'], extensions=[PerMessageDeflate()])
    server.send(data)
    (exchange,) = server.exchanges
    assert exchange.websocket is not None
    assert exchange.websocket.subprotocols == ['chat.v1', 'chat.v2']
    assert exchange.raw_path == b'/chat' and exchange.query_string == b'room=1'
    session = exchange.accept_websocket('chat.v2', [(b'x-extra', b'yes')])
    response = server.transport.take()
    assert b'x-extra: yes\r\n' in response and b'server: granian\r\n' in response
    client.receive_data(response)
    (accepted,) = list(client.events())
    assert isinstance(accepted, AcceptConnection)
    assert accepted.subprotocol == 'chat.v2'
    assert [ext.name for ext in accepted.extensions] == ['permessage-deflate']
    # The transport belongs to the session now.
    server.transport.receive(client.send(TextMessage(data='compressed hello')))
    assert await session.receive() == 'compressed hello'
    assert exchange.response_started
    assert server.ctx.connections and server.conn not in server.ctx.connections


async def test_frame_pipelined_behind_the_handshake_is_kept() -> None:
    server = Server()
    _, data = client_request()
    # A client may not send frames before the 101, but bytes already read must not be lost.
    mask = b'abcd'
    frame = b'\x81\x85' + mask + bytes(byte ^ mask[idx % 4] for idx, byte in enumerate(b'early'))
    server.send(data + frame)
    session = server.exchanges[0].accept_websocket()
    assert await session.receive() == 'early'


async def test_reject_with_an_ordinary_response() -> None:
    server = Server()
    client, data = client_request()
    server.send(data)
    exchange = server.exchanges[0]
    exchange.start(403, [(b'content-type', b'text/plain')])
    exchange.end(b'go away')
    client.receive_data(server.transport.take())
    events = list(client.events())
    assert isinstance(events[0], RejectConnection) and events[0].status_code == 403
    assert any(isinstance(event, RejectData) and event.data == b'go away' for event in events)


@pytest.mark.parametrize(
    ('request_bytes', 'status', 'reason'),
    [
        (
            b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
            b'Sec-WebSocket-Version: 13\r\n\r\n',
            400,
            b'missing Sec-WebSocket-Key',
        ),
        (
            b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
            b'Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n',
            400,
            b'invalid Sec-WebSocket-Key',
        ),
        (
            b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
            b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n',
            426,
            b'unsupported Sec-WebSocket-Version',
        ),
        (
            b'POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n'
            b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
            400,
            b'method must be GET',
        ),
    ],
)
async def test_bad_handshakes_get_the_reason(request_bytes: bytes, status: int, reason: bytes) -> None:
    server = Server()
    server.send(request_bytes)
    assert server.exchanges == []
    data = server.transport.take()
    assert data.startswith(b'HTTP/1.1 %d ' % status)
    assert reason in data
    if status == 426:
        assert b'sec-websocket-version: 13\r\n' in data
    assert server.transport.closing


async def test_other_upgrades_and_disabled_websockets_are_plain_requests() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: something\r\nConnection: Upgrade\r\n\r\n')
    assert server.exchanges[0].websocket is None

    server = Server()
    server.ctx = ServeContext(server.exchanges.append, loop=asyncio.get_running_loop(), websockets=False)
    conn, _ = server.connect()
    _, data = client_request()
    conn.data_received(data)
    assert server.exchanges[0].websocket is None


async def test_shutdown_closes_open_websockets_with_1001() -> None:
    server = Server()
    client, data = client_request()
    server.send(data)
    session = server.exchanges[0].accept_websocket()
    client.receive_data(server.transport.take())
    list(client.events())
    server.ctx.shutdown()
    client.receive_data(server.transport.take())
    (close,) = list(client.events())
    assert close.code == 1001  # type: ignore[attr-defined]
    assert session.closed
