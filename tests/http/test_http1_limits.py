"""Bad, hostile and slow clients on HTTP1Connection: each gets the right status and a close,
never an exception out of the protocol; plus timers and flow control both ways."""

from __future__ import annotations

import asyncio

import pytest

from granian_http.settings import HTTP1Settings
from testkit.h1 import Server, respond, settle

pytestmark = pytest.mark.anyio


def status_of(data: bytes) -> int:
    assert data.startswith(b'HTTP/1.1 '), data[:80]
    return int(data[9:12])


BAD_REQUESTS = {
    'malformed request line': (b'GARBAGE\r\n\r\n', 400),
    'no host on 1.1': (b'GET / HTTP/1.1\r\n\r\n', 400),
    'both content-length and transfer-encoding': (
        b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
    ),
    'both, names in odd case and order': (
        b'POST / HTTP/1.1\r\nHost: x\r\ntRANSFER-eNCODING: chunked\r\ncontent-LENGTH: 5\r\n\r\n',
        400,
    ),
    'conflicting content-length': (
        b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n',
        400,
    ),
    'obs-fold with space': (b'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n', 400),
    'obs-fold with tab': (b'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n', 400),
    'unsupported transfer-encoding': (b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 501),
    'http/2.0 on the http/1 parser': (b'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505),
    'http/3.1': (b'GET / HTTP/3.1\r\nHost: x\r\n\r\n', 505),
    'space before colon': (b'GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n', 400),
    'nul in header': (b'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', 400),
}


@pytest.mark.parametrize('name', list(BAD_REQUESTS))
async def test_bad_request_gets_status_and_close(name: str) -> None:
    request, status = BAD_REQUESTS[name]
    server = Server()
    server.send(request)
    assert server.exchanges == []
    data = server.transport.take()
    assert status_of(data) == status
    assert b'connection: close\r\n' in data
    assert server.transport.closing


async def test_too_many_headers() -> None:
    server = Server()
    fields = b''.join(b'X-%d: v\r\n' % idx for idx in range(101))
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n' + fields + b'\r\n')
    assert status_of(server.transport.take()) == 431
    assert server.transport.closing
    # At the limit is fine.
    server = Server()
    fields = b''.join(b'X-%d: v\r\n' % idx for idx in range(99))
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n' + fields + b'\r\n')
    assert len(server.exchanges) == 1


async def test_oversized_head_in_a_single_read() -> None:
    # h11's own limit only covers incomplete events; this head arrives whole.
    server = Server(settings=HTTP1Settings(max_buffer_size=8192))
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 9000 + b'\r\n\r\n')
    assert status_of(server.transport.take()) == 431
    assert server.exchanges == []


async def test_oversized_head_trickled() -> None:
    server = Server(settings=HTTP1Settings(max_buffer_size=8192))
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n')
    for _ in range(10):
        if server.transport.closing:
            break
        server.send(b'X-Big: ' + b'a' * 1000 + b'\r\n')
    assert status_of(server.transport.take()) == 431


async def test_uri_too_long() -> None:
    server = Server(settings=HTTP1Settings(max_buffer_size=200_000))
    server.send(b'GET /' + b'a' * 70_000 + b' HTTP/1.1\r\nHost: x\r\n\r\n')
    assert status_of(server.transport.take()) == 414


async def test_malformed_chunked_body_is_400_not_500() -> None:
    # Broken in the same read as the head: the app never sees the request.
    server = Server()
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n')
    assert server.exchanges == []
    assert status_of(server.transport.take()) == 400
    assert server.transport.closing

    # Broken later: the app holds the exchange, and its body read fails as a disconnect.
    server = Server()
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    (exchange,) = server.exchanges
    assert await exchange.read_body() == b'hello'
    server.send(b'zz\r\nhello\r\n')
    assert status_of(server.transport.take()) == 400
    assert server.transport.closing
    assert exchange.disconnected


async def test_bad_chunk_terminator_is_refused() -> None:
    # h11 CVE-2025-43859: bytes other than CRLF after a chunk must not be accepted.
    server = Server()
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n')
    assert status_of(server.transport.take()) == 400


async def test_trickled_headers_hit_the_header_read_timeout() -> None:
    server = Server(settings=HTTP1Settings(header_read_timeout=50))
    server.send(b'GET / HTTP/1.1\r\n')
    for _ in range(4):
        await asyncio.sleep(0.02)
        if server.transport.closing:
            break
        server.send(b'X-Slow: 1\r\n')
    await asyncio.sleep(0.1)
    assert server.transport.closing
    assert server.exchanges == []


async def test_idle_keep_alive_connection_times_out() -> None:
    server = Server(settings=HTTP1Settings(header_read_timeout=50))
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    respond(server.exchanges[0])
    assert not server.transport.closing
    await asyncio.sleep(0.12)
    assert server.transport.closing


async def test_timer_does_not_fire_during_a_slow_request() -> None:
    server = Server(settings=HTTP1Settings(header_read_timeout=30))
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await asyncio.sleep(0.1)
    assert not server.transport.closing
    respond(server.exchanges[0])
    assert not server.transport.closing


async def test_same_connection_class_serves_after_bad_clients() -> None:
    server = Server()
    server.send(b'GARBAGE\r\n\r\n')
    assert server.transport.closing
    conn, transport = server.connect()
    conn.data_received(b'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n')
    respond(server.exchanges[0], b'fine')
    assert transport.take().endswith(b'fine')


async def test_unconsumed_body_pauses_reading_until_the_app_reads() -> None:
    server = Server(settings=HTTP1Settings(max_buffer_size=10_000))
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n')
    exchange = server.exchanges[0]
    for _ in range(3):
        server.send(b'a' * 4000)
    assert not server.transport.reading
    assert len(await exchange.read_body()) == 12_000
    assert server.transport.reading


async def test_paused_transport_makes_writers_wait() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    exchange = server.exchanges[0]
    exchange.start(200, [])
    exchange.write(b'a')
    assert not exchange.write_paused
    server.conn.pause_writing()
    assert exchange.write_paused
    drain = asyncio.ensure_future(exchange.drain())
    await settle()
    assert not drain.done()
    server.conn.resume_writing()
    await settle()
    assert drain.done()
    assert not exchange.write_paused
    # A drain that waits when the client leaves is released too.
    server.conn.pause_writing()
    drain = asyncio.ensure_future(exchange.drain())
    await settle()
    server.conn.connection_lost(None)
    await settle()
    assert drain.done()


async def test_connection_limit_holds_extra_connections_unread() -> None:
    server = Server(max_connections=1)
    second, transport = server.connect()
    assert not transport.reading
    # Bytes that still arrive (before 3.11 a transport paused in connection_made keeps reading
    # once) wait unparsed for the connection's turn.
    second.data_received(b'GET /early HTTP/1.1\r\nHost: x\r\n\r\n')
    assert server.exchanges == []
    server.conn.connection_lost(None)
    assert transport.reading
    assert [exchange.raw_path for exchange in server.exchanges] == [b'/early']


async def test_shutdown_closes_idle_and_finishes_busy_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    # Idle connections get a short grace (a request may be on its way), then close.
    monkeypatch.setattr('granian_http.h1._connection._SHUTDOWN_GRACE', 0.05)
    server = Server()
    busy_conn, busy = server.conn, server.transport
    idle_conn, idle = server.connect()
    busy_conn.data_received(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    server.ctx.shutdown()
    assert not idle.closing
    assert not busy.closing
    respond(server.exchanges[0], b'last')
    assert b'connection: close\r\n' in busy.take()
    assert busy.closing
    await asyncio.sleep(0.1)
    assert idle.closing
    await settle()
    assert not server.ctx.connections
    await asyncio.wait_for(server.ctx.wait_closed(), 1)
    idle_conn.connection_lost(None)  # a second report is harmless


async def test_request_arriving_in_the_shutdown_grace_is_served_and_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr('granian_http.h1._connection._SHUTDOWN_GRACE', 0.05)
    server = Server()
    server.ctx.shutdown()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    respond(server.exchanges[0], b'served')
    data = server.transport.take()
    assert data.endswith(b'served') and b'connection: close\r\n' in data
    assert server.transport.closing


async def test_pipelined_bytes_behind_a_pending_response_are_bounded() -> None:
    server = Server(settings=HTTP1Settings(max_buffer_size=10_000))
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    assert server.transport.reading
    # The app has not answered; a client that keeps pipelining is stopped being read.
    server.send(b'GET /next HTTP/1.1\r\nHost: x\r\n\r\n' * 400)
    assert not server.transport.reading
    respond(server.exchanges[0])
    await settle()
    assert server.transport.reading
    assert len(server.exchanges) == 2


async def test_endless_chunk_size_line_is_refused() -> None:
    server = Server(settings=HTTP1Settings(max_buffer_size=8192))
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
    exchange = server.exchanges[0]
    server.send(b'1' * 9000)  # a chunk-size line that never ends
    assert status_of(server.transport.take()) == 431
    assert exchange.disconnected
