"""Limits that hold under attack: each abuse ends in GOAWAY or RST_STREAM, with the work and the
memory it causes bounded (see granian_http.h2._limits)."""

from __future__ import annotations

import asyncio

import pytest
from h2.errors import ErrorCodes
from hpack import Encoder
from hyperframe.frame import ContinuationFrame, DataFrame, HeadersFrame, PingFrame, RstStreamFrame, SettingsFrame

from granian_http.exchange import Exchange
from granian_http.settings import HTTP2Settings
from testkit.h2 import Client, Pair, Server

pytestmark = pytest.mark.anyio

REQUEST = [(b':method', b'GET'), (b':scheme', b'http'), (b':authority', b'example.com'), (b':path', b'/')]


def _peer(server: Server) -> None:
    from testkit.h2 import PREFACE

    server.send(PREFACE + SettingsFrame(0).serialize() + SettingsFrame(0, flags=['ACK']).serialize())
    server.transport.take()


def _goaway_code(server: Server) -> int | None:
    from hyperframe.frame import Frame, GoAwayFrame

    data = server.transport.take()
    while len(data) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        frame.parse_body(memoryview(data[9 : 9 + length]))
        if isinstance(frame, GoAwayFrame):
            return frame.error_code
        data = data[9 + length :]
    return None


async def test_rapid_reset_is_cut_off() -> None:
    started: list[Exchange] = []
    server = Server(handler=started.append)  # the app never answers: streams stay in progress
    _peer(server)
    encoder = Encoder()
    for stream_id in range(1, 20001, 2):
        if server.closed:
            break
        headers = HeadersFrame(stream_id, encoder.encode(REQUEST), flags=['END_HEADERS', 'END_STREAM'])
        server.send(headers.serialize())
        server.send(RstStreamFrame(stream_id, error_code=ErrorCodes.CANCEL).serialize())
    assert server.closed
    assert _goaway_code(server) == ErrorCodes.ENHANCE_YOUR_CALM
    # Work started for about the reset budget (twice the stream limit, refilled over ten seconds),
    # not for 10 000 streams.
    assert len(started) < 2.5 * HTTP2Settings().max_concurrent_streams
    assert all(exchange.disconnected for exchange in started)


async def test_resets_in_the_same_read_never_reach_the_app() -> None:
    started: list[Exchange] = []
    server = Server(handler=started.append)
    _peer(server)
    encoder = Encoder()
    burst = b''.join(
        HeadersFrame(stream_id, encoder.encode(REQUEST), flags=['END_HEADERS', 'END_STREAM']).serialize()
        + RstStreamFrame(stream_id, error_code=ErrorCodes.CANCEL).serialize()
        for stream_id in range(1, 101, 2)
    )
    server.send(burst)
    assert started == []
    assert not server.closed  # 50 resets are within a browser's habits


async def test_continuation_flood_of_small_frames() -> None:
    server = Server()
    _peer(server)
    block = Encoder().encode(REQUEST)
    server.send(HeadersFrame(1, block[:2], flags=['END_STREAM']).serialize())
    for _ in range(1000):
        if server.closed:
            break
        server.send(ContinuationFrame(1, b'').serialize())
    assert server.closed
    assert _goaway_code(server) in (ErrorCodes.PROTOCOL_ERROR, ErrorCodes.ENHANCE_YOUR_CALM)


async def test_continuation_flood_of_large_frames_is_bounded_by_the_header_limit() -> None:
    # Large frames allowed, but the header block may not outgrow max_headers_size.
    server = Server(settings=HTTP2Settings(max_frame_size=1 << 20, max_headers_size=100_000))
    _peer(server)
    server.send(HeadersFrame(1, b'\x00' * 60_000, flags=['END_STREAM']).serialize())
    frames = 0
    while not server.closed and frames < 64:
        server.send(ContinuationFrame(1, b'\x00' * 60_000).serialize())
        frames += 1
    assert server.closed
    assert frames <= 2
    assert _goaway_code(server) == ErrorCodes.ENHANCE_YOUR_CALM


async def test_hpack_bomb() -> None:
    server = Server(settings=HTTP2Settings(max_headers_size=65536))
    _peer(server)
    encoder = Encoder()
    # One 4000-byte field goes into the dynamic table ...
    server.send(
        HeadersFrame(
            1, encoder.encode([*REQUEST, (b'x-big', b'a' * 4000)]), flags=['END_HEADERS', 'END_STREAM']
        ).serialize()
    )
    assert not server.closed
    # ... then a 10 KB block refers to it 10 000 times: 40 MB once decoded.
    server.send(
        HeadersFrame(3, encoder.encode(REQUEST) + b'\xbe' * 10_000, flags=['END_HEADERS', 'END_STREAM']).serialize()
    )
    assert server.closed
    assert _goaway_code(server) == ErrorCodes.ENHANCE_YOUR_CALM


async def test_oversized_header_list() -> None:
    server = Server(settings=HTTP2Settings(max_headers_size=8192))
    _peer(server)
    fields = [*REQUEST] + [(b'x-filler-%d' % idx, b'v' * 100) for idx in range(100)]
    block = Encoder().encode(fields)
    server.send(HeadersFrame(1, block[:16384], flags=['END_STREAM', 'END_HEADERS']).serialize())
    assert server.closed
    assert _goaway_code(server) == ErrorCodes.ENHANCE_YOUR_CALM


@pytest.mark.parametrize(
    'frame',
    [
        pytest.param(SettingsFrame(0, settings={SettingsFrame.MAX_CONCURRENT_STREAMS: 100}), id='settings'),
        pytest.param(PingFrame(0, opaque_data=b'floodxxx'), id='ping'),
    ],
)
async def test_control_frame_floods(frame: SettingsFrame | PingFrame) -> None:
    server = Server()
    _peer(server)
    raw = frame.serialize()
    answered = 0
    sent = 0
    while sent < 5000:
        sent += 1
        server.send(raw * 10)
        if server.closed:
            break
        answered += len(server.transport.take())
    assert server.closed
    assert _goaway_code(server) == ErrorCodes.ENHANCE_YOUR_CALM
    assert sent * 10 < 2000  # cut off after the burst allowance, not at the end of the flood
    assert answered < 2000 * 17  # and what we owed in reply stayed bounded too


async def test_empty_data_frame_flood() -> None:
    server = Server()
    _peer(server)
    post = [(b':method', b'POST'), *REQUEST[1:]]
    server.send(HeadersFrame(1, Encoder().encode(post), flags=['END_HEADERS']).serialize())
    empty = DataFrame(1, data=b'').serialize()
    for _ in range(500):
        if server.closed:
            break
        server.send(empty * 10)
    assert server.closed
    assert _goaway_code(server) == ErrorCodes.ENHANCE_YOUR_CALM


async def test_no_reading_while_the_client_does_not_read_our_replies() -> None:
    server = Server()
    _peer(server)
    server.conn.pause_writing()  # the transport's buffer is full: the client is not reading
    assert not server.transport.reading
    server.conn.resume_writing()
    assert server.transport.reading


async def test_zero_window_stall_resets_the_stream() -> None:
    client = Client(window=0)
    pair = Pair(Server(settings=HTTP2Settings(keep_alive_timeout=1)), client)
    stream = client.request('GET', '/')
    pair.pump()
    (exchange,) = pair.server.exchanges
    exchange.start(200, [])
    exchange.write(b'x' * 100)
    gone = asyncio.ensure_future(exchange.wait_disconnect())
    await pair.settle()
    assert client.responses[stream].body == b''
    await asyncio.wait_for(gone, 5)  # reset after keep_alive_timeout without window
    await pair.settle()
    assert client.responses[stream].reset == ErrorCodes.CANCEL
    assert exchange.disconnected
    assert not pair.server.closed  # the other streams would go on


async def test_a_window_that_opens_in_time_is_not_a_stall() -> None:
    client = Client(window=0)
    pair = Pair(Server(settings=HTTP2Settings(keep_alive_timeout=1)), client)
    stream = client.request('GET', '/')
    pair.pump()
    (exchange,) = pair.server.exchanges
    exchange.start(200, [])
    exchange.end(b'x' * 100)
    await pair.settle()
    client.conn.increment_flow_control_window(100, stream)
    await pair.settle()
    await asyncio.sleep(1.2)
    await pair.settle()
    assert bytes(client.responses[stream].body) == b'x' * 100
    assert client.responses[stream].reset is None
