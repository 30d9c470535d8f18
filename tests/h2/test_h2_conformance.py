"""Frame-level conformance with RFC 9113 §3 to §8 and HPACK (RFC 7541), in the manner of h2spec.

h2spec cannot be installed here, so these cases are written with hyperframe and hpack: raw frames
go into HTTP2Connection and the frames it answers with are parsed back. As in h2spec, a stream
error may be answered with RST_STREAM or with a GOAWAY of the same code (RFC 9113 §5.4.1 lets an
endpoint treat any stream error as a connection error); a connection error must be a GOAWAY.
"""

from __future__ import annotations

import struct

import pytest
from h2.errors import ErrorCodes
from hpack import Encoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from testkit.h2 import PREFACE, Server

pytestmark = pytest.mark.anyio

REQUEST = [(b':method', b'GET'), (b':scheme', b'http'), (b':authority', b'example.com'), (b':path', b'/')]


def parse_frames(data: bytes) -> list[Frame]:
    frames = []
    while len(data) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        frame.parse_body(memoryview(data[9 : 9 + length]))
        frames.append(frame)
        data = data[9 + length :]
    return frames


def raw_frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    """A frame built by hand, for what hyperframe refuses to serialize."""
    return struct.pack('>I', len(payload))[1:] + bytes((kind, flags)) + struct.pack('>I', stream_id) + payload


class Peer:
    """A hand-driven client: it says only what each test tells it to."""

    def __init__(self, server: Server | None = None) -> None:
        self.server = server or Server(handler=self._answer)
        self.encoder = Encoder()
        self.frames: list[Frame] = []
        self.requests: list[int] = []
        self.send(PREFACE + SettingsFrame(0).serialize())
        self.read()
        self.send(SettingsFrame(0, flags=['ACK']).serialize())

    @staticmethod
    def _answer(exchange: object) -> None:
        exchange.start(200, [])  # type: ignore[attr-defined]
        exchange.end(b'ok')  # type: ignore[attr-defined]

    def send(self, data: bytes) -> None:
        if not self.server.closed:
            self.server.send(data)

    def read(self) -> list[Frame]:
        frames = parse_frames(self.server.transport.take())
        self.frames += frames
        return frames

    def headers(self, stream_id: int, block: list[tuple[bytes, bytes]] | None = None, *, end: bool = True) -> bytes:
        flags = ['END_HEADERS'] + (['END_STREAM'] if end else [])
        return HeadersFrame(stream_id, self.encoder.encode(block or REQUEST), flags=flags).serialize()

    def goaway(self) -> GoAwayFrame | None:
        return next((frame for frame in self.frames if isinstance(frame, GoAwayFrame)), None)

    def reset(self, stream_id: int) -> RstStreamFrame | None:
        return next((f for f in self.frames if isinstance(f, RstStreamFrame) and f.stream_id == stream_id), None)

    def expect_connection_error(self, code: ErrorCodes) -> None:
        self.read()
        goaway = self.goaway()
        assert goaway is not None, f'no GOAWAY in {self.frames}'
        assert goaway.error_code == code
        assert self.server.closed

    def expect_stream_error(self, stream_id: int, code: ErrorCodes) -> None:
        self.read()
        reset = self.reset(stream_id)
        goaway = self.goaway()
        assert (reset is not None and reset.error_code == code) or (goaway is not None and goaway.error_code == code), (
            self.frames
        )

    def alive(self) -> bool:
        """The connection still works: a PING is answered."""
        self.send(PingFrame(0, opaque_data=b'stillok!').serialize())
        frames = self.read()
        return any(isinstance(f, PingFrame) and 'ACK' in f.flags and f.opaque_data == b'stillok!' for f in frames)


# -- §3.4 connection preface ---------------------------------------------------------------------


async def test_3_4_invalid_preface_is_a_connection_error() -> None:
    server = Server()
    server.send(b'PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n' + SettingsFrame(0).serialize())
    assert server.closed


async def test_3_4_server_preface_is_a_settings_frame_first() -> None:
    server = Server()
    frames = parse_frames(server.transport.take())
    assert isinstance(frames[0], SettingsFrame)
    assert 'ACK' not in frames[0].flags


async def test_3_4_client_settings_are_acknowledged() -> None:
    peer = Peer()
    assert any(isinstance(f, SettingsFrame) and 'ACK' in f.flags for f in peer.frames)


# -- §4 frames -----------------------------------------------------------------------------------


async def test_4_1_unknown_frame_types_and_flags_are_ignored() -> None:
    peer = Peer()
    peer.send(raw_frame(0xEE, 0xFF, 0, b'anything'))
    peer.send(raw_frame(0x6, 0xF0, 0, b'12345678'))  # PING with unknown flags set
    assert peer.alive()
    assert peer.goaway() is None


async def test_4_2_frame_larger_than_max_frame_size() -> None:
    peer = Peer()
    peer.send(peer.headers(1, end=False))
    peer.send(DataFrame(1, data=b'x' * 16385).serialize())
    peer.expect_connection_error(ErrorCodes.FRAME_SIZE_ERROR)


async def test_4_3_undecodable_header_block() -> None:
    peer = Peer()
    peer.send(HeadersFrame(1, b'\xff\xff\xff\xff\xff', flags=['END_HEADERS', 'END_STREAM']).serialize())
    peer.expect_connection_error(ErrorCodes.COMPRESSION_ERROR)


# -- §5.1 stream states and identifiers ----------------------------------------------------------


async def test_5_1_data_on_an_idle_stream() -> None:
    peer = Peer()
    peer.send(DataFrame(1, data=b'x', flags=['END_STREAM']).serialize())
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_5_1_headers_on_a_half_closed_remote_stream() -> None:
    peer = Peer(Server())  # no handler: the stream stays half-closed (remote)
    peer.send(peer.headers(1))
    peer.send(peer.headers(1, [(b'x-trailer', b'1')]))
    peer.expect_stream_error(1, ErrorCodes.STREAM_CLOSED)


async def test_5_1_data_after_end_stream() -> None:
    peer = Peer(Server())
    peer.send(peer.headers(1))
    peer.send(DataFrame(1, data=b'late').serialize())
    peer.expect_stream_error(1, ErrorCodes.STREAM_CLOSED)


async def test_5_1_1_even_stream_id_from_the_client() -> None:
    peer = Peer()
    peer.send(peer.headers(2))
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_5_1_1_stream_id_lower_than_a_previous_one() -> None:
    peer = Peer()
    peer.send(peer.headers(5))
    peer.send(peer.headers(3))
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_5_1_2_more_streams_than_advertised() -> None:
    from granian_http.settings import HTTP2Settings

    peer = Peer(Server(settings=HTTP2Settings(max_concurrent_streams=10)))
    for stream_id in range(1, 23, 2):
        peer.send(peer.headers(stream_id))
    peer.read()
    refused = peer.reset(21)
    goaway = peer.goaway()
    assert (refused is not None and refused.error_code in (ErrorCodes.REFUSED_STREAM, ErrorCodes.PROTOCOL_ERROR)) or (
        goaway is not None and goaway.error_code == ErrorCodes.PROTOCOL_ERROR
    )


async def test_5_5_unknown_frame_inside_is_fine_between_streams() -> None:
    peer = Peer()
    peer.send(raw_frame(0xBB, 0, 1, b'ext'))
    peer.send(peer.headers(3))
    frames = peer.read()
    assert any(isinstance(f, HeadersFrame) and f.stream_id == 3 for f in frames)


# -- §6 frame definitions ------------------------------------------------------------------------


async def test_6_1_data_on_stream_zero() -> None:
    peer = Peer()
    peer.send(raw_frame(0x0, 0, 0, b'x'))
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_1_padding_longer_than_the_payload() -> None:
    peer = Peer()
    peer.send(peer.headers(1, end=False))
    peer.send(raw_frame(0x0, 0x8, 1, b'\x05ab'))  # PADDED, pad length 5 with 2 bytes left
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_2_headers_on_stream_zero() -> None:
    peer = Peer()
    peer.send(raw_frame(0x1, 0x5, 0, Encoder().encode(REQUEST)))
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_3_priority_with_a_wrong_length() -> None:
    peer = Peer()
    peer.send(raw_frame(0x2, 0, 1, b'\x00\x00\x00\x03'))  # 4 bytes, not 5
    peer.read()
    assert (peer.reset(1) is not None and peer.reset(1).error_code == ErrorCodes.FRAME_SIZE_ERROR) or (  # type: ignore[union-attr]
        peer.goaway() is not None
        and peer.goaway().error_code in (ErrorCodes.FRAME_SIZE_ERROR, ErrorCodes.PROTOCOL_ERROR)  # type: ignore[union-attr]
    )


async def test_6_3_priority_frames_are_accepted_and_ignored() -> None:
    peer = Peer()
    peer.send(PriorityFrame(1, depends_on=0, stream_weight=200).serialize())
    peer.send(peer.headers(3))
    assert any(isinstance(f, HeadersFrame) and f.stream_id == 3 for f in peer.read())


async def test_6_4_rst_stream_on_stream_zero() -> None:
    peer = Peer()
    peer.send(raw_frame(0x3, 0, 0, b'\x00\x00\x00\x08'))
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_4_rst_stream_on_an_idle_stream() -> None:
    peer = Peer()
    peer.send(RstStreamFrame(1, error_code=8).serialize())
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_4_rst_stream_with_a_wrong_length() -> None:
    peer = Peer(Server())
    peer.send(peer.headers(1))
    peer.send(raw_frame(0x3, 0, 1, b'\x00\x00\x08'))
    peer.expect_connection_error(ErrorCodes.FRAME_SIZE_ERROR)


async def test_6_5_settings_ack_with_a_payload() -> None:
    peer = Peer()
    peer.send(raw_frame(0x4, 0x1, 0, b'\x00\x03\x00\x00\x00\x64'))
    peer.expect_connection_error(ErrorCodes.FRAME_SIZE_ERROR)


async def test_6_5_settings_on_a_stream() -> None:
    peer = Peer()
    peer.send(raw_frame(0x4, 0, 1, b''))
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_5_settings_length_not_a_multiple_of_six() -> None:
    peer = Peer()
    peer.send(raw_frame(0x4, 0, 0, b'\x00\x03\x00\x00\x64'))
    peer.expect_connection_error(ErrorCodes.FRAME_SIZE_ERROR)


@pytest.mark.parametrize(
    ('setting', 'value', 'code'),
    [
        (0x2, 2, ErrorCodes.PROTOCOL_ERROR),  # ENABLE_PUSH must be 0 or 1
        (0x4, 2**31, ErrorCodes.FLOW_CONTROL_ERROR),  # INITIAL_WINDOW_SIZE above 2^31-1
        (0x5, 16383, ErrorCodes.PROTOCOL_ERROR),  # MAX_FRAME_SIZE below the minimum
        (0x5, 2**24, ErrorCodes.PROTOCOL_ERROR),  # MAX_FRAME_SIZE above the maximum
    ],
)
async def test_6_5_2_invalid_setting_values(setting: int, value: int, code: ErrorCodes) -> None:
    peer = Peer()
    peer.send(raw_frame(0x4, 0, 0, struct.pack('>HI', setting, value)))
    peer.expect_connection_error(code)


async def test_6_5_2_unknown_settings_are_ignored_and_acknowledged() -> None:
    peer = Peer()
    peer.send(raw_frame(0x4, 0, 0, struct.pack('>HI', 0xABCD, 7)))
    frames = peer.read()
    assert any(isinstance(f, SettingsFrame) and 'ACK' in f.flags for f in frames)
    assert peer.alive()


async def test_6_5_3_settings_changes_apply_to_open_streams() -> None:
    peer = Peer(Server(handler=lambda exchange: (exchange.start(200, []), exchange.end(b'y' * 100))))
    peer.send(raw_frame(0x4, 0, 0, struct.pack('>HI', 0x4, 10)))  # INITIAL_WINDOW_SIZE = 10
    peer.send(peer.headers(1))
    data = [f for f in peer.read() if isinstance(f, DataFrame)]
    assert sum(len(f.data) for f in data) == 10
    peer.send(raw_frame(0x4, 0, 0, struct.pack('>HI', 0x4, 1000)))  # the rest now fits
    data = [f for f in peer.read() if isinstance(f, DataFrame)]
    assert sum(len(f.data) for f in data) == 90
    assert 'END_STREAM' in data[-1].flags


async def test_6_7_ping_is_answered_with_the_same_payload() -> None:
    peer = Peer()
    peer.send(PingFrame(0, opaque_data=b'abcdefgh').serialize())
    (ack,) = [f for f in peer.read() if isinstance(f, PingFrame)]
    assert 'ACK' in ack.flags and ack.opaque_data == b'abcdefgh'


async def test_6_7_ping_ack_is_not_answered() -> None:
    peer = Peer()
    peer.send(PingFrame(0, opaque_data=b'abcdefgh', flags=['ACK']).serialize())
    assert not [f for f in peer.read() if isinstance(f, PingFrame)]


async def test_6_7_ping_on_a_stream() -> None:
    peer = Peer()
    peer.send(raw_frame(0x6, 0, 1, b'12345678'))
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_7_ping_with_a_wrong_length() -> None:
    peer = Peer()
    peer.send(raw_frame(0x6, 0, 0, b'123456'))
    peer.expect_connection_error(ErrorCodes.FRAME_SIZE_ERROR)


async def test_6_8_goaway_on_a_stream() -> None:
    peer = Peer()
    peer.send(raw_frame(0x7, 0, 1, b'\x00\x00\x00\x00\x00\x00\x00\x00'))
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_9_window_update_of_zero_on_the_connection() -> None:
    peer = Peer()
    peer.send(raw_frame(0x8, 0, 0, b'\x00\x00\x00\x00'))
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_9_window_update_of_zero_on_a_stream() -> None:
    peer = Peer(Server())
    peer.send(peer.headers(1))
    peer.send(raw_frame(0x8, 0, 1, b'\x00\x00\x00\x00'))
    peer.expect_stream_error(1, ErrorCodes.PROTOCOL_ERROR)


async def test_6_9_window_update_with_a_wrong_length() -> None:
    peer = Peer()
    peer.send(raw_frame(0x8, 0, 0, b'\x00\x00\x01'))
    peer.expect_connection_error(ErrorCodes.FRAME_SIZE_ERROR)


async def test_6_9_1_connection_window_overflow() -> None:
    peer = Peer()
    peer.send(WindowUpdateFrame(0, window_increment=2**31 - 1).serialize())
    peer.expect_connection_error(ErrorCodes.FLOW_CONTROL_ERROR)


async def test_6_9_1_stream_window_overflow() -> None:
    peer = Peer(Server())
    peer.send(peer.headers(1))
    peer.send(WindowUpdateFrame(1, window_increment=2**31 - 1).serialize())
    peer.expect_stream_error(1, ErrorCodes.FLOW_CONTROL_ERROR)


async def test_6_9_data_beyond_the_advertised_window() -> None:
    from granian_http.settings import HTTP2Settings

    peer = Peer(Server(settings=HTTP2Settings(initial_stream_window_size=1024)))
    peer.send(peer.headers(1, end=False))
    peer.send(DataFrame(1, data=b'x' * 2048).serialize())
    peer.expect_stream_error(1, ErrorCodes.FLOW_CONTROL_ERROR)


async def test_6_10_header_block_split_over_continuation_frames() -> None:
    peer = Peer()
    block = peer.encoder.encode([*REQUEST, (b'x-long', b'v' * 100)])
    peer.send(HeadersFrame(1, block[:10], flags=['END_STREAM']).serialize())
    peer.send(ContinuationFrame(1, block[10:50]).serialize())
    peer.send(ContinuationFrame(1, block[50:], flags=['END_HEADERS']).serialize())
    assert any(isinstance(f, HeadersFrame) and f.stream_id == 1 for f in peer.read())


async def test_6_10_continuation_without_headers() -> None:
    peer = Peer()
    peer.send(ContinuationFrame(1, peer.encoder.encode(REQUEST), flags=['END_HEADERS']).serialize())
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_10_other_frame_inside_a_header_block() -> None:
    peer = Peer()
    block = peer.encoder.encode(REQUEST)
    peer.send(HeadersFrame(1, block[:5], flags=['END_STREAM']).serialize())
    peer.send(PingFrame(0, opaque_data=b'12345678').serialize())
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


async def test_6_10_continuation_on_another_stream() -> None:
    peer = Peer()
    block = peer.encoder.encode(REQUEST)
    peer.send(HeadersFrame(1, block[:5], flags=['END_STREAM']).serialize())
    peer.send(ContinuationFrame(3, block[5:], flags=['END_HEADERS']).serialize())
    peer.expect_connection_error(ErrorCodes.PROTOCOL_ERROR)


# -- §8 HTTP semantics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    'block',
    [
        pytest.param([*REQUEST, (b'X-Upper', b'1')], id='uppercase-name'),
        pytest.param([*REQUEST, (b'connection', b'keep-alive')], id='connection-specific'),
        pytest.param([*REQUEST, (b'transfer-encoding', b'chunked')], id='transfer-encoding'),
        pytest.param([*REQUEST, (b'te', b'gzip')], id='te-not-trailers'),
        pytest.param([*REQUEST, (b'x-bad', b'a\r\nb')], id='crlf-in-value'),
        pytest.param([*REQUEST, (b'x-bad', b' padded')], id='leading-space-in-value'),
        pytest.param([*REQUEST, (b'bad name', b'1')], id='space-in-name'),
        pytest.param([*REQUEST, (b'', b'1')], id='empty-name'),
        pytest.param(REQUEST[1:], id='no-method'),
        pytest.param([REQUEST[0], *REQUEST[2:]], id='no-scheme'),
        pytest.param(REQUEST[:3], id='no-path'),
        pytest.param([*REQUEST[:3], (b':path', b'')], id='empty-path'),
        pytest.param([*REQUEST[:3], (b':path', b'relative')], id='relative-path'),
        pytest.param([*REQUEST, (b':method', b'POST')], id='duplicate-pseudo'),
        pytest.param([*REQUEST, (b':custom', b'x')], id='unknown-pseudo'),
        pytest.param([*REQUEST, (b':status', b'200')], id='response-pseudo'),
        pytest.param([REQUEST[0], (b'x-first', b'1'), *REQUEST[1:]], id='pseudo-after-regular'),
        pytest.param([*REQUEST, (b':protocol', b'websocket')], id='protocol-outside-connect'),
        pytest.param([*REQUEST, (b'host', b'other.example')], id='host-differs-from-authority'),
    ],
)
async def test_8_malformed_requests_are_stream_errors(block: list[tuple[bytes, bytes]]) -> None:
    peer = Peer(Server())
    peer.send(peer.headers(1, block))
    peer.expect_stream_error(1, ErrorCodes.PROTOCOL_ERROR)
    assert not peer.server.exchanges
    if peer.goaway() is None:
        peer.send(peer.headers(3))
        peer.read()
        assert len(peer.server.exchanges) == 1  # the connection goes on


async def test_8_1_content_length_mismatch() -> None:
    peer = Peer(Server())
    peer.send(peer.headers(1, [*REQUEST, (b'content-length', b'10')], end=False))
    peer.send(DataFrame(1, data=b'12345', flags=['END_STREAM']).serialize())
    peer.expect_stream_error(1, ErrorCodes.PROTOCOL_ERROR)


async def test_8_1_pseudo_headers_in_trailers() -> None:
    peer = Peer(Server())
    peer.send(peer.headers(1, end=False))
    peer.send(peer.headers(1, [(b':path', b'/x')]))
    peer.expect_stream_error(1, ErrorCodes.PROTOCOL_ERROR)


async def test_8_1_request_trailers_are_accepted() -> None:
    peer = Peer()
    peer.send(peer.headers(1, end=False))
    peer.send(DataFrame(1, data=b'body').serialize())
    peer.send(peer.headers(1, [(b'x-checksum', b'1')]))
    assert any(isinstance(f, HeadersFrame) and f.stream_id == 1 for f in peer.read())


async def test_8_3_options_asterisk_is_allowed() -> None:
    peer = Peer()
    peer.send(
        peer.headers(1, [(b':method', b'OPTIONS'), (b':scheme', b'http'), (b':authority', b'x'), (b':path', b'*')])
    )
    assert any(isinstance(f, HeadersFrame) and f.stream_id == 1 for f in peer.read())


# -- HPACK (RFC 7541) ----------------------------------------------------------------------------


async def test_hpack_index_out_of_range() -> None:
    peer = Peer()
    peer.send(HeadersFrame(1, b'\xff\x80\x01', flags=['END_HEADERS', 'END_STREAM']).serialize())  # index 255
    peer.expect_connection_error(ErrorCodes.COMPRESSION_ERROR)


async def test_hpack_table_size_update_beyond_the_setting() -> None:
    peer = Peer()
    update = b'\x3f\xe2\x1f'  # dynamic table size update to 4096 + 1
    peer.send(HeadersFrame(1, update + Encoder().encode(REQUEST), flags=['END_HEADERS', 'END_STREAM']).serialize())
    peer.expect_connection_error(ErrorCodes.COMPRESSION_ERROR)


async def test_hpack_invalid_huffman_string() -> None:
    peer = Peer()
    block = Encoder().encode(REQUEST) + b'\x40\x81\xff\x81\xff'  # literal with a Huffman EOS padding error
    peer.send(HeadersFrame(1, block, flags=['END_HEADERS', 'END_STREAM']).serialize())
    peer.expect_connection_error(ErrorCodes.COMPRESSION_ERROR)


async def test_hpack_dynamic_table_carries_across_requests() -> None:
    seen: list[list[tuple[bytes, bytes]]] = []

    def handler(exchange: object) -> None:
        seen.append(list(exchange.headers))  # type: ignore[attr-defined]
        Peer._answer(exchange)

    peer = Peer(Server(handler=handler))
    block = [*REQUEST, (b'x-repeated', b'value-' * 10)]
    for stream_id in (1, 3, 5):
        peer.send(peer.headers(stream_id, block))
    peer.read()
    assert seen == [[(b'x-repeated', b'value-' * 10)]] * 3


async def test_hpack_our_responses_decode_after_a_table_size_change() -> None:
    from hpack import Decoder

    peer = Peer()
    peer.send(raw_frame(0x4, 0, 0, struct.pack('>HI', 0x1, 0)))  # HEADER_TABLE_SIZE = 0
    peer.read()
    decoder = Decoder()
    decoder.max_allowed_table_size = 0
    for stream_id in (1, 3):
        peer.send(peer.headers(stream_id))
        (headers,) = [f for f in peer.read() if isinstance(f, HeadersFrame)]
        assert dict(decoder.decode(headers.data, raw=True))[b':status'] == b'200'
