"""ProxyHeaderReader on a memory transport: trust, the header, the hand-over, and giving up.

The transport delivers bytes as a socket would to a buffered protocol: each read fills at most the
buffer the protocol offers, so what the reader reads (and leaves unread) is what it would on a real
loop. The real loops and real proxies are in ``test_proxy_haproxy.py``.
"""

from __future__ import annotations

import asyncio
import gc
import ssl
from typing import Any

import pytest

from granian_http import HTTP1Connection, ServeContext, proxy_protocol_factory
from granian_http.exchange import Exchange
from granian_http.settings import HTTP1Settings
from granian_http.transport import forget_addresses, tell_addresses, transport_addresses
from proxy_protocol.headers import v1, v2, v2_inet
from testkit.h1 import MemoryTransport, settle
from testkit.poll import eventually_async

pytestmark = pytest.mark.anyio

REQUEST = b'GET /x HTTP/1.1\r\nhost: example.com\r\n\r\n'
PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'


class SocketLikeTransport(MemoryTransport):
    """Delivers through ``get_buffer``/``buffer_updated`` to a buffered protocol, a read at a time."""

    def __init__(self, protocol: asyncio.BaseProtocol, peer: Any = ('127.0.0.1', 50000), switch: bool = True) -> None:
        super().__init__(protocol, peer)  # type: ignore[arg-type]
        self.switch = switch
        self.unread = b''
        self.eof_written = False

    def receive(self, data: bytes) -> None:
        self.unread += data
        self.pump()

    def pump(self) -> None:
        while self.unread and self.reading and not self.closing:
            protocol = self.protocol
            if isinstance(protocol, asyncio.BufferedProtocol):
                buffer = memoryview(protocol.get_buffer(-1)).cast('B')
                size = min(len(buffer), len(self.unread))
                assert size > 0
                buffer[:size] = self.unread[:size]
                self.unread = self.unread[size:]
                protocol.buffer_updated(size)
            else:
                data, self.unread = self.unread, b''
                protocol.data_received(data)

    def resume_reading(self) -> None:
        super().resume_reading()
        self.pump()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        if not self.switch:
            raise NotImplementedError  # as rloop's transports do
        super().set_protocol(protocol)

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True


class Listener:
    """A worker's context with a PROXY reader factory; records what reaches the app."""

    def __init__(
        self,
        mode: str = 'auto',
        trusted: Any = ('127.0.0.1',),
        *,
        timeout_ms: int = 30_000,
        tls: bool = False,
        http: str = 'auto',
    ) -> None:
        self.exchanges: list[Exchange] = []
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER) if tls else None
        self.ctx = ServeContext(
            self.answer,
            loop=asyncio.get_running_loop(),
            http1=HTTP1Settings(header_read_timeout=timeout_ms),
            http_mode=http,
            ssl_context=ssl_context,
        )
        self.factory = proxy_protocol_factory(self.ctx, mode, set(trusted))

    def answer(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        exchange.start(200, [(b'content-length', b'2')])
        exchange.write(b'ok')
        exchange.end()

    def connect(self, peer: Any = ('127.0.0.1', 50000), switch: bool = True) -> SocketLikeTransport:
        reader = self.factory()
        transport = SocketLikeTransport(reader, peer, switch)
        reader.connection_made(transport)
        return transport


@pytest.mark.parametrize('header', [v1(), v2_inet()], ids=['v1', 'v2'])
async def test_the_app_sees_the_headers_addresses(header: bytes) -> None:
    listener = Listener()
    transport = listener.connect()
    transport.receive(header + REQUEST)
    (exchange,) = listener.exchanges
    assert exchange.client == ('192.0.2.1', 56324)
    assert exchange.server == ('198.51.100.7', 443)
    assert transport.take().startswith(b'HTTP/1.1 200 ')
    assert transport_addresses(transport) == (('192.0.2.1', 56324), ('198.51.100.7', 443))
    # The transport is HTTP/1.1's now: the reader (and its timer) is out of the way.
    assert isinstance(transport.protocol, HTTP1Connection)


async def test_a_header_in_pieces_and_the_request_after_it() -> None:
    listener = Listener('v1')
    transport = listener.connect()
    for byte in v1('TCP6', '2001:db8::7', '2001:db8::8', 1234, 80):
        transport.receive(bytes([byte]))
    assert listener.exchanges == []
    transport.receive(REQUEST)
    (exchange,) = listener.exchanges
    assert exchange.client == ('2001:db8::7', 1234)


@pytest.mark.parametrize(
    'header',
    [v1('UNKNOWN'), v2(0x0, 0x00), v2_inet(command=0x0), v2(0x1, 0x31, bytes(216))],
    ids=['unknown', 'local', 'local-inet', 'unix'],
)
async def test_local_unknown_and_unix_keep_the_sockets_addresses(header: bytes) -> None:
    listener = Listener()
    transport = listener.connect(('127.0.0.1', 40001))
    transport.receive(header + REQUEST)
    (exchange,) = listener.exchanges
    assert exchange.client == ('127.0.0.1', 40001)
    assert exchange.server == ('127.0.0.1', 8000)


async def test_http2_with_prior_knowledge_after_the_header() -> None:
    from testkit.h2 import Client

    listener = Listener()
    transport = listener.connect()
    client = Client()
    client.request('GET', '/')
    transport.receive(v2_inet() + client.preface())
    (exchange,) = listener.exchanges
    assert exchange.http_version == '2'
    assert exchange.client == ('192.0.2.1', 56324)


@pytest.mark.parametrize(
    ('peer', 'trusted'),
    [
        (('127.0.0.2', 5000), ['127.0.0.1']),
        (('10.0.0.1', 5000), ['127.0.0.1', '10.1.0.0/16']),
        (('::1', 5000, 0, 0), ['127.0.0.1']),
    ],
)
async def test_an_untrusted_peer_is_closed_before_anything_is_read(peer: Any, trusted: list[str]) -> None:
    listener = Listener(trusted=trusted)
    transport = listener.connect(peer)
    assert transport.closing and transport.eof_written
    transport.receive(v1() + REQUEST)  # too late: nothing is read any more
    await settle()
    assert transport.lost and listener.exchanges == [] and transport.written == b''


@pytest.mark.parametrize(
    ('peer', 'trusted'),
    [
        (('10.1.2.3', 5000), ['127.0.0.1', '10.1.0.0/16']),
        (('::ffff:127.0.0.1', 5000, 0, 0), ['127.0.0.1']),  # a dual-stack socket's IPv4 peer
        (('203.0.113.5', 5000), ['*']),
        ('', ['127.0.0.1']),  # a Unix socket's peer: trusted
    ],
)
async def test_a_trusted_peer_is_read(peer: Any, trusted: list[str]) -> None:
    from granian_proxies import TrustedHosts

    listener = Listener()
    listener.factory = proxy_protocol_factory(listener.ctx, 'auto', TrustedHosts(trusted))
    transport = listener.connect(peer)
    transport.receive(v1() + REQUEST)
    assert [exchange.client for exchange in listener.exchanges] == [('192.0.2.1', 56324)]


@pytest.mark.parametrize(
    ('mode', 'data'),
    [
        ('auto', REQUEST),  # no header: the client spoke first
        ('auto', PREFACE),
        ('v1', v2_inet() + REQUEST),  # the version not configured
        ('v2', v1() + REQUEST),
        ('auto', b'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\n' + REQUEST),  # malformed
        ('auto', b'PROXY TCP4 192.0.2.1 198.51.100.07 56324 443\r\n' + REQUEST),
        ('auto', v2_inet()[:12] + b'\x23' + v2_inet()[13:] + REQUEST),
    ],
)
async def test_a_bad_or_missing_header_closes_the_connection_unanswered(mode: str, data: bytes) -> None:
    listener = Listener(mode)
    transport = listener.connect()
    transport.receive(data)
    await settle()
    assert transport.lost and transport.written == b''
    assert listener.exchanges == []
    assert listener.ctx.connections == set()


async def test_a_client_that_stops_mid_header_is_closed() -> None:
    listener = Listener()
    transport = listener.connect()
    reader = transport.protocol
    transport.receive(v1()[:20])
    assert reader.eof_received() is None  # asyncio closes the transport on None
    assert listener.exchanges == []


async def test_no_header_within_the_header_read_timeout_closes() -> None:
    listener = Listener(timeout_ms=50)
    transport = listener.connect()
    transport.receive(v1()[:20])
    await eventually_async(lambda: transport.lost, what='the connection closed', timeout=5)
    assert transport.written == b'' and listener.exchanges == []


async def test_a_transport_that_cannot_switch_protocols_is_forwarded_to() -> None:
    listener = Listener()
    transport = listener.connect(switch=False)
    reader = transport.protocol
    transport.receive(v1() + REQUEST)
    assert type(transport.protocol) is type(reader)  # still the reader, forwarding
    transport.receive(REQUEST)
    assert [exchange.client for exchange in listener.exchanges] == [('192.0.2.1', 56324)] * 2
    reader.pause_writing()
    reader.resume_writing()
    transport.close()
    await settle()
    assert listener.ctx.connections == set()


async def test_on_tls_listeners_the_reader_never_reads_the_handshakes_bytes() -> None:
    listener = Listener(tls=True)
    transport = listener.connect()
    client_hello = b'\x16\x03\x01\x00\xc8' + bytes(200)
    transport.receive(v1() + client_hello)
    # Reading stopped right at the header's end: the ClientHello is left for the TLS layer.
    assert not transport.reading
    assert transport.unread == client_hello
    await settle()  # start_tls refuses this memory transport: the connection is dropped
    assert transport.closing and listener.exchanges == []


class Pinned(asyncio.BaseTransport):
    """A transport that takes no weak reference (as rloop's and uvloop's TLS transport)."""

    __slots__ = ('closed',)

    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ('127.0.0.1', 1) if name in ('peername', 'sockname') else default


def test_told_addresses_go_with_their_transport() -> None:
    from granian_http import transport as transport_module

    weak = MemoryTransport(asyncio.Protocol())
    tell_addresses(weak, ('192.0.2.1', 1), ('192.0.2.2', 2))
    assert transport_addresses(weak) == (('192.0.2.1', 1), ('192.0.2.2', 2))
    del weak
    gc.collect()
    assert len(transport_module._TOLD) == 0

    pinned = Pinned()
    tell_addresses(pinned, ('192.0.2.1', 1), ('192.0.2.2', 2))
    assert transport_addresses(pinned) == (('192.0.2.1', 1), ('192.0.2.2', 2))
    forget_addresses(pinned)
    assert transport_addresses(pinned) == (('127.0.0.1', 1), ('127.0.0.1', 1))

    # Pinned entries nobody forgot (the transport switched protocols away from the reader) are
    # swept once closed: the table stays within twice what is open.
    transports = []
    for index in range(1000):
        transport = Pinned()
        tell_addresses(transport, ('192.0.2.1', index), ('192.0.2.2', 2))
        transport.closed = True
        transports.append(transport)
    assert len(transport_module._TOLD_PINNED) <= 128
    for transport in transports:
        forget_addresses(transport)
    assert transport_module._TOLD_PINNED == {}
