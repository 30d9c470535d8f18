"""Choosing the protocol of a cleartext connection: the HTTP/2 preface, HTTP/1.1, and the
``Upgrade: h2c`` path (RFC 7540 §3.2), driven with bytes through ProtocolSelector."""

from __future__ import annotations

import asyncio
import base64

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

from granian_http.context import ServeContext
from granian_http.exchange import Exchange
from granian_http.h1 import HTTP1Connection
from granian_http.h2 import HTTP2Connection
from granian_http.selection import ProtocolSelector, protocol_factory
from testkit.h1 import Client as H1Client
from testkit.h2 import PREFACE, Client, SwitchableTransport, respond

pytestmark = pytest.mark.anyio


class Conn:
    def __init__(self, http_mode: str = 'auto') -> None:
        self.exchanges: list[Exchange] = []
        self.ctx = ServeContext(self.exchanges.append, loop=asyncio.get_running_loop(), http_mode=http_mode)
        selector = protocol_factory(self.ctx)()
        self.transport = SwitchableTransport(selector)
        selector.connection_made(self.transport)

    def send(self, data: bytes) -> None:
        self.transport.protocol.data_received(data)


async def test_factory_per_mode() -> None:
    for mode, kind in (('1', HTTP1Connection), ('2', HTTP2Connection), ('auto', ProtocolSelector)):
        ctx = ServeContext(lambda exchange: None, loop=asyncio.get_running_loop(), http_mode=mode)
        assert isinstance(protocol_factory(ctx)(), kind)


async def test_http1_request_goes_to_http1_at_the_first_byte() -> None:
    conn = Conn()
    conn.send(b'G')
    assert isinstance(conn.transport.protocol, HTTP1Connection)
    conn.send(b'ET / HTTP/1.1\r\nHost: x\r\n\r\n')
    (exchange,) = conn.exchanges
    assert exchange.http_version == '1.1'
    respond(exchange, b'one')
    client = H1Client()
    client.request()
    ((response, body),) = client.responses(conn.transport.take())
    assert (response.status_code, body) == (200, b'one')


async def test_post_is_not_mistaken_for_the_preface() -> None:
    conn = Conn()
    conn.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi')
    assert isinstance(conn.transport.protocol, HTTP1Connection)
    (exchange,) = conn.exchanges
    assert await exchange.read_body() == b'hi'


async def test_preface_hands_the_connection_to_http2_even_in_pieces() -> None:
    conn = Conn()
    client = Client()
    data = client.preface()
    assert data.startswith(PREFACE)
    conn.send(data[:5])
    assert isinstance(conn.transport.protocol, ProtocolSelector)
    conn.send(data[5:])
    assert isinstance(conn.transport.protocol, HTTP2Connection)
    client.feed(conn.transport.take())
    stream = client.request('GET', '/h2')
    conn.send(client.take())
    (exchange,) = conn.exchanges
    assert exchange.http_version == '2'
    respond(exchange, b'over h2')
    await asyncio.sleep(0)
    client.feed(conn.transport.take())
    assert bytes(client.responses[stream].body) == b'over h2'
    # The HTTP/1.1 side let go of the connection: only the HTTP/2 one is counted.
    assert len(conn.ctx.connections) == 1
    assert isinstance(next(iter(conn.ctx.connections)), HTTP2Connection)


def _h2c_request(
    method: str = 'GET', body: bytes = b'', extra: bytes = b''
) -> tuple[h2.connection.H2Connection, bytes]:
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    settings = client.initiate_upgrade_connection()
    assert settings is not None
    head = (
        (
            f'{method} /up?q=1 HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n'
            'Upgrade: h2c\r\nHTTP2-Settings: '
        ).encode()
        + settings.rstrip(b'=')
        + b'\r\nX-Kept: yes\r\n'
        + extra
    )
    if body:
        head += b'Content-Length: %d\r\n' % len(body)
    return client, head + b'\r\n' + body


def _after_101(data: bytes) -> bytes:
    assert data.startswith(b'HTTP/1.1 101 Switching Protocols\r\n'), data[:60]
    return data[data.index(b'\r\n\r\n') + 4 :]


@pytest.mark.parametrize('body', [b'', b'payload sent over HTTP/1.1'])
async def test_upgrade_h2c_serves_the_request_as_stream_one(body: bytes) -> None:
    conn = Conn()
    client, request = _h2c_request('POST' if body else 'GET', body)
    conn.send(request)
    assert isinstance(conn.transport.protocol, HTTP2Connection)
    (exchange,) = conn.exchanges
    assert exchange.http_version == '2'
    assert exchange.method == ('POST' if body else 'GET')
    assert (exchange.raw_path, exchange.query_string) == (b'/up', b'q=1')
    assert exchange.authority == 'example.com'
    names = [name for name, _ in exchange.headers]
    assert b'x-kept' in names
    assert not {b'connection', b'upgrade', b'http2-settings'} & set(names)
    assert exchange.body_complete
    assert await exchange.read_body() == body
    respond(exchange, b'answered on stream 1')
    await asyncio.sleep(0)
    events = client.receive_data(_after_101(conn.transport.take()))
    conn.send(client.data_to_send())  # the client's preface and SETTINGS ack
    data = [e for e in events if isinstance(e, h2.events.DataReceived)]
    assert data and data[0].stream_id == 1 and data[0].data == b'answered on stream 1'
    # The connection goes on as HTTP/2.
    client.send_headers(
        3, [(':method', 'GET'), (':scheme', 'http'), (':authority', 'x'), (':path', '/next')], end_stream=True
    )
    conn.send(client.data_to_send())
    assert conn.exchanges[-1].raw_path == b'/next'


@pytest.mark.parametrize(
    'extra',
    [
        pytest.param(b'Transfer-Encoding: chunked\r\n', id='chunked-body'),
        pytest.param(b'Expect: 100-continue\r\nContent-Length: 1\r\n', id='expect-continue'),
        pytest.param(b'Content-Length: 99999999\r\n', id='body-over-the-buffer'),
    ],
)
async def test_upgrade_h2c_declined_stays_on_http1(extra: bytes) -> None:
    conn = Conn()
    _, request = _h2c_request('POST', extra=extra)
    conn.send(request)
    assert isinstance(conn.transport.protocol, HTTP1Connection)
    (exchange,) = conn.exchanges
    assert exchange.http_version == '1.1'


async def test_upgrade_h2c_needs_http2_settings_and_connection_tokens() -> None:
    conn = Conn()
    conn.send(b'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')
    assert isinstance(conn.transport.protocol, HTTP1Connection)
    assert conn.exchanges[0].http_version == '1.1'


async def test_no_h2c_when_http_is_1() -> None:
    conn = Conn(http_mode='1')
    _, request = _h2c_request()
    conn.send(request)
    assert isinstance(conn.transport.protocol, HTTP1Connection)
    assert conn.exchanges[0].http_version == '1.1'


async def test_http2_only_refuses_http1() -> None:
    conn = Conn(http_mode='2')
    assert isinstance(conn.transport.protocol, HTTP2Connection)
    conn.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    assert conn.transport.closing
    assert not conn.exchanges


async def test_upgrade_settings_are_applied() -> None:
    conn = Conn()
    client, request = _h2c_request()
    # A client settings payload with a tiny window: our response must respect it.
    payload = base64.urlsafe_b64encode(b'\x00\x04\x00\x00\x00\x04').rstrip(b'=')
    start = request.index(b'HTTP2-Settings: ') + len(b'HTTP2-Settings: ')
    request = request[:start] + payload + request[request.index(b'\r\n', start) :]
    conn.send(request)
    respond(conn.exchanges[0], b'0123456789')
    await asyncio.sleep(0)
    out = _after_101(conn.transport.take())
    client.receive_data(out)
    assert client.streams[1].inbound_flow_control_window >= 0
    assert b'0123' in out and b'0123456789' not in out  # only 4 bytes fit the client's window
