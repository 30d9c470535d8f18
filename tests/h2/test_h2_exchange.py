"""HTTP/2 requests and responses through HTTP2Connection, checked by an h2 client (no sockets)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import h2.errors
import h2.events
import h2.settings
import pytest

from granian_http.exchange import ClientDisconnected, Exchange, ResponseStateError
from granian_http.settings import HTTP2Settings
from testkit.h2 import Client, Pair, Response, Server, respond

pytestmark = pytest.mark.anyio


async def test_get_head_and_response() -> None:
    pair = Pair()
    stream = pair.client.request('GET', '/a%20b/c?x=1', headers=[('x-thing', 'one'), ('x-thing', 'two')])
    pair.pump()
    (exchange,) = pair.server.exchanges
    assert exchange.method == 'GET'
    assert exchange.raw_path == b'/a%20b/c'
    assert exchange.query_string == b'x=1'
    assert exchange.http_version == '2'
    assert exchange.scheme == 'http'
    assert exchange.authority == 'example.com'
    assert exchange.client == ('127.0.0.1', 50000)
    assert exchange.server == ('127.0.0.1', 8000)
    assert exchange.tls is None
    assert exchange.headers == [(b'x-thing', b'one'), (b'x-thing', b'two')]
    assert exchange.body_complete
    assert await exchange.read_body() == b''

    writes = pair.server.transport.writes
    respond(exchange, b'hello', headers=[(b'Content-Type', b'text/plain'), (b'Connection', b'keep-alive')])
    await pair.settle()
    assert pair.server.transport.writes - writes == 1  # head and body leave in one write
    response = pair.client.responses[stream]
    assert response.status == 200
    assert response.ended
    assert bytes(response.body) == b'hello'
    assert response.header(b'content-type') == b'text/plain'
    assert response.header(b'content-length') == b'5'
    assert response.header(b'server') == b'granian'
    assert response.header(b'date') is not None
    assert response.header(b'connection') is None  # connection-specific: dropped on HTTP/2


async def test_many_streams_on_one_connection() -> None:
    pair = Pair()
    streams = [pair.client.request('GET', f'/{idx}') for idx in range(20)]
    pair.pump()
    assert len(pair.server.exchanges) == 20
    for exchange in reversed(pair.server.exchanges):
        respond(exchange, exchange.raw_path)
    await pair.settle()
    assert [bytes(pair.client.responses[stream].body) for stream in streams] == [
        f'/{idx}'.encode() for idx in range(20)
    ]


async def test_split_cookies_are_joined() -> None:
    pair = Pair()
    pair.client.request('GET', '/', headers=[('cookie', 'a=1'), ('cookie', 'b=2')])
    pair.pump()
    assert pair.server.exchanges[0].headers == [(b'cookie', b'a=1; b=2')]


async def test_request_body_is_acknowledged_only_as_the_app_reads_it() -> None:
    settings = HTTP2Settings(initial_stream_window_size=65535, initial_connection_window_size=1024 * 1024)
    pair = Pair(Server(settings=settings))
    stream = pair.client.request('POST', '/up', body=b'x' * 200_000)
    pair.pump()
    (exchange,) = pair.server.exchanges
    # The stream window (64 KiB) is full and nothing was read: the client is blocked.
    assert pair.client.conn.local_flow_control_window(stream) == 0
    assert stream in pair.client.outbox
    received = b''
    while True:
        chunk = await exchange.read_body()
        if not chunk:
            break
        received += chunk
        await pair.settle()  # reading hands the window back; the client sends more
    assert received == b'x' * 200_000
    assert exchange.body_complete
    respond(exchange, b'done')
    await pair.settle()
    assert bytes(pair.client.responses[stream].body) == b'done'


async def test_streamed_response_and_drain() -> None:
    # The client's stream window is 16 KiB and it does not acknowledge: the server must queue.
    client = Client(window=16384, auto_ack=False)
    pair = Pair(Server(settings=HTTP2Settings(max_send_buffer_size=32768)), client)
    stream = client.request('GET', '/stream')
    pair.pump()
    (exchange,) = pair.server.exchanges
    exchange.start(200, [(b'content-type', b'application/octet-stream')])
    exchange.write(b'a' * 16384)
    assert not exchange.write_paused
    exchange.write(b'b' * 40000)  # cannot move: the window is spent
    assert exchange.write_paused
    drained = asyncio.ensure_future(exchange.drain())
    await pair.settle()
    assert not drained.done()
    assert len(client.responses[stream].body) == 16384
    # The client reads and opens the window: the queue moves and the writer is released.
    client.conn.acknowledge_received_data(16384, stream)
    client.conn.increment_flow_control_window(100_000, stream)
    await pair.settle()
    await asyncio.wait_for(drained, 1)
    exchange.end(b'c')
    client.conn.increment_flow_control_window(100_000, stream)
    client.conn.increment_flow_control_window(100_000)
    await pair.settle()
    response = client.responses[stream]
    assert bytes(response.body) == b'a' * 16384 + b'b' * 40000 + b'c'
    assert response.ended
    assert response.header(b'content-length') is None


async def test_trailers_when_the_client_accepts_them() -> None:
    pair = Pair()
    with_te = pair.client.request('GET', '/', headers=[('te', 'trailers')])
    without = pair.client.request('GET', '/')
    pair.pump()
    first, second = pair.server.exchanges
    assert first.trailers_allowed and not second.trailers_allowed
    for exchange in (first, second):
        exchange.start(200, [])
        exchange.write(b'body')
        exchange.end(b'', trailers=[(b'X-Checksum', b'abc'), (b'content-length', b'9')])
    await pair.settle()
    assert pair.client.responses[with_te].trailers == [(b'x-checksum', b'abc')]
    assert pair.client.responses[without].trailers is None
    assert pair.client.responses[without].ended


async def test_early_hints_before_the_response() -> None:
    pair = Pair()
    stream = pair.client.request('GET', '/')
    pair.pump()
    (exchange,) = pair.server.exchanges
    assert exchange.early_hints_allowed
    exchange.early_hints([(b'link', b'</style.css>; rel=preload; as=style')])
    respond(exchange, b'page')
    assert not exchange.early_hints_allowed
    exchange.early_hints([(b'link', b'</late.css>')])  # too late: ignored
    await pair.settle()
    response = pair.client.responses[stream]
    assert response.informational == [[(b':status', b'103'), (b'link', b'</style.css>; rel=preload; as=style')]]
    assert response.status == 200


async def test_head_and_no_body_statuses_send_no_data() -> None:
    pair = Pair()
    head = pair.client.request('HEAD', '/')
    empty = pair.client.request('GET', '/')
    pair.pump()
    first, second = pair.server.exchanges
    respond(first, b'ignored body', headers=[(b'content-length', b'12')])
    respond(second, b'', status=204)
    await pair.settle()
    assert pair.client.responses[head].header(b'content-length') == b'12'
    assert pair.client.responses[head].body == b''
    assert pair.client.responses[head].ended
    assert pair.client.responses[empty].status == 204
    assert pair.client.responses[empty].header(b'content-length') is None


async def test_body_longer_than_content_length_is_cut_and_shorter_is_reset() -> None:
    pair = Pair()
    long_stream = pair.client.request('GET', '/long')
    short_stream = pair.client.request('GET', '/short')
    pair.pump()
    long_ex, short_ex = pair.server.exchanges
    long_ex.start(200, [(b'content-length', b'3')])
    long_ex.end(b'abcdef')
    short_ex.start(200, [(b'content-length', b'10')])
    short_ex.write(b'abc')
    short_ex.end()
    await pair.settle()
    assert bytes(pair.client.responses[long_stream].body) == b'abc'
    assert pair.client.responses[long_stream].ended
    assert pair.client.responses[short_stream].reset == h2.errors.ErrorCodes.INTERNAL_ERROR


async def test_whole_body_in_one_end_against_the_apps_content_length() -> None:
    pair = Pair()
    streams = [pair.client.request('GET', f'/{index}') for index in range(3)]
    pair.pump()
    longer, shorter, exact = pair.server.exchanges
    longer.start(200, [(b'content-length', b'3')])
    longer.end(b'abcdef')
    shorter.start(200, [(b'content-length', b'10')])
    shorter.end(b'abc')
    exact.start(200, [(b'content-length', b'3')])
    exact.end(b'abc')
    await pair.settle()
    responses = [pair.client.responses[stream] for stream in streams]
    assert bytes(responses[0].body) == b'abc' and responses[0].ended and responses[0].reset is None
    assert responses[1].reset == h2.errors.ErrorCodes.INTERNAL_ERROR
    assert bytes(responses[2].body) == b'abc' and responses[2].ended and responses[2].reset is None


async def test_response_heads_repeat_and_take_any_header_sequence() -> None:
    pair = Pair()
    streams = [pair.client.request('GET', f'/{index}') for index in range(4)]
    pair.pump()
    shapes: list[Any] = [
        [(b'X-Kind', b'tuple')],
        [(b'X-Kind', b'tuple')],  # the same head again (remembered)
        [[b'X-Kind', b'list']],  # unhashable pairs
        ((name, value) for name, value in [(b'X-Kind', b'generator')]),
    ]
    for exchange, headers in zip(pair.server.exchanges, shapes, strict=True):
        exchange.start(200, headers)
        exchange.end(b'ok')
    await pair.settle()
    kinds = [pair.client.responses[stream].header(b'x-kind') for stream in streams]
    assert kinds == [b'tuple', b'tuple', b'list', b'generator']
    assert all(pair.client.responses[stream].header(b'content-length') == b'2' for stream in streams)


async def test_client_reset_reaches_the_app_as_a_disconnect() -> None:
    pair = Pair()
    stream = pair.client.request('POST', '/', body=b'part', end=False)
    pair.pump()
    (exchange,) = pair.server.exchanges
    assert await exchange.read_body() == b'part'
    waiter = asyncio.ensure_future(exchange.wait_disconnect())
    reader = asyncio.ensure_future(exchange.read_body())
    await asyncio.sleep(0)
    pair.client.conn.reset_stream(stream, h2.errors.ErrorCodes.CANCEL)
    pair.pump()
    await asyncio.wait_for(waiter, 1)
    with pytest.raises(ClientDisconnected):
        await reader
    assert exchange.disconnected
    exchange.start(200, [])
    exchange.write(b'dropped')  # writes after the reset are dropped silently
    exchange.end(b'')
    await pair.settle()
    assert not pair.server.closed  # only the stream ended


async def test_response_before_the_whole_body_stops_the_client_with_no_error() -> None:
    pair = Pair()
    stream = pair.client.request('POST', '/', body=b'start', end=False)
    pair.pump()
    respond(pair.server.exchanges[0], b'early answer')
    await pair.settle()
    response = pair.client.responses[stream]
    assert bytes(response.body) == b'early answer'
    assert response.reset == h2.errors.ErrorCodes.NO_ERROR


async def test_abort_resets_the_stream_not_the_connection() -> None:
    pair = Pair()
    stream = pair.client.request('GET', '/')
    pair.pump()
    (exchange,) = pair.server.exchanges
    exchange.start(200, [])
    exchange.write(b'partial')
    exchange.abort()
    await pair.settle()
    assert pair.client.responses[stream].reset == h2.errors.ErrorCodes.INTERNAL_ERROR
    assert not pair.server.closed
    written = pair.server.transport.writes
    exchange.end(b'more')  # the stream is gone: dropped
    await pair.settle()
    assert pair.server.transport.writes == written


async def test_response_order_errors() -> None:
    pair = Pair()
    pair.client.request('GET', '/')
    pair.pump()
    (exchange,) = pair.server.exchanges
    with pytest.raises(ResponseStateError):
        exchange.write(b'x')
    exchange.start(200, [])
    exchange.flush_head()
    assert exchange.response_started
    with pytest.raises(ResponseStateError):
        exchange.start(500, [])
    exchange.end(b'')
    with pytest.raises(ResponseStateError):
        exchange.end(b'')


async def test_handler_failure_answers_500() -> None:
    def handler(exchange: Exchange) -> None:
        raise RuntimeError('boom')

    pair = Pair(Server(handler))
    stream = pair.client.request('GET', '/')
    await pair.settle()
    assert pair.client.responses[stream].status == 500


async def test_graceful_shutdown_finishes_streams_in_flight() -> None:
    pair = Pair()
    first = pair.client.request('GET', '/1')
    pair.pump()
    pair.server.ctx.shutdown()
    pair.pump()
    assert pair.client.goaway is not None
    assert pair.client.goaway.error_code == h2.errors.ErrorCodes.NO_ERROR
    assert pair.client.goaway.last_stream_id == first
    assert not pair.server.closed
    # A stream the client opens after the GOAWAY is refused, safe to retry elsewhere.
    pair.client.keep_open()
    late = pair.client.request('GET', '/late')
    pair.pump()
    assert pair.client.responses[late].reset == h2.errors.ErrorCodes.REFUSED_STREAM
    respond(pair.server.exchanges[0], b'finished')
    await pair.settle()
    assert bytes(pair.client.responses[first].body) == b'finished'
    assert pair.server.closed


async def test_client_goaway_lets_open_streams_finish() -> None:
    pair = Pair()
    stream = pair.client.request('GET', '/')
    pair.pump()
    pair.client.conn.close_connection()
    pair.client.keep_open()
    pair.pump()
    assert not pair.server.closed
    respond(pair.server.exchanges[0], b'still answered')
    await pair.settle()
    assert bytes(pair.client.responses[stream].body) == b'still answered'
    assert pair.server.closed


async def test_settings_advertised_from_http2_settings() -> None:
    settings = HTTP2Settings(
        max_concurrent_streams=50, initial_stream_window_size=2_000_000, max_frame_size=32768, max_headers_size=65536
    )
    pair = Pair(Server(settings=settings))
    assert pair.client.settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] == 50
    assert pair.client.settings[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] == 2_000_000
    assert pair.client.settings[h2.settings.SettingCodes.MAX_FRAME_SIZE] == 32768
    assert pair.client.settings[h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE] == 65536
    # The connection window is opened to initial_connection_window_size right away.
    assert pair.client.conn.outbound_flow_control_window == 1024 * 1024


async def test_max_frame_size_below_the_rfc_minimum_is_raised_to_it() -> None:
    pair = Pair(Server(settings=HTTP2Settings(max_frame_size=1024)))
    assert pair.client.settings[h2.settings.SettingCodes.MAX_FRAME_SIZE] == 16384


async def test_adaptive_window_grows_with_the_data() -> None:
    pair = Pair(Server(settings=HTTP2Settings(adaptive_window=True)))
    assert pair.client.settings[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] == 65535
    start = pair.client.conn.outbound_flow_control_window
    assert start == 65535
    stream = pair.client.request('POST', '/', body=b'x' * 60000, end=False)
    pair.pump()  # the server probes the round trip with a PING; the client answers it
    (exchange,) = pair.server.exchanges
    await exchange.read_body()
    pair.pump()
    assert pair.client.settings[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] == 131070
    assert pair.client.conn.outbound_flow_control_window > start
    pair.client.send_body(stream, b'', end=True)
    pair.pump()


async def test_keep_alive_ping_closes_an_unresponsive_connection() -> None:
    settings = HTTP2Settings(keep_alive_interval=10, keep_alive_timeout=1)
    pair = Pair(Server(settings=settings))
    # Answered pings keep the connection open.
    for _ in range(3):
        await asyncio.sleep(0.02)
        pair.pump()
    pings = [event for event in pair.client.events if isinstance(event, h2.events.PingReceived)]
    assert pings
    assert not pair.server.closed
    # A client that stops answering is dropped after keep_alive_timeout.
    await asyncio.sleep(0.03)
    for _ in range(150):
        if pair.server.closed:
            break
        await asyncio.sleep(0.02)
    assert pair.server.closed


async def test_connect_is_not_served() -> None:
    pair = Pair()
    stream = pair.client.conn.get_next_available_stream_id()
    pair.client.conn.send_headers(stream, [(':method', 'CONNECT'), (':authority', 'example.com:443')])
    pair.client.responses[stream] = Response(stream)
    pair.pump()
    assert not pair.server.exchanges
    assert pair.client.responses[stream].status == 405
    assert pair.client.responses[stream].ended


async def test_send_file_small_and_large(tmp_path: Path) -> None:
    small, large = tmp_path / 'small.bin', tmp_path / 'large.bin'
    small.write_bytes(b'tiny file')
    payload = bytes(range(256)) * 1000  # 256 000 bytes: streamed in chunks
    large.write_bytes(payload)
    pair = Pair()
    first = pair.client.request('GET', '/small')
    second = pair.client.request('GET', '/large')
    pair.pump()
    small_ex, large_ex = pair.server.exchanges
    small_ex.start(200, [])
    large_ex.start(200, [(b'content-type', b'application/octet-stream')])
    await small_ex.send_file(small)
    sending = asyncio.ensure_future(large_ex.send_file(large, offset=1000, count=200_000))
    while not sending.done():
        await pair.settle()
    await sending
    await pair.settle()
    assert bytes(pair.client.responses[first].body) == b'tiny file'
    response = pair.client.responses[second]
    assert response.header(b'content-length') == b'200000'
    assert bytes(response.body) == payload[1000:201_000]
    assert response.ended


async def test_send_file_missing_raises_before_anything_is_sent(tmp_path: Path) -> None:
    pair = Pair()
    stream = pair.client.request('GET', '/')
    pair.pump()
    (exchange,) = pair.server.exchanges
    exchange.start(200, [])
    with pytest.raises(OSError):
        await exchange.send_file(tmp_path / 'missing')
    respond(exchange, b'not found', status=404)
    await pair.settle()
    assert pair.client.responses[stream].status == 404
