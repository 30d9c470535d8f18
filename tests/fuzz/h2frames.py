"""Client frames for the HTTP/2 targets: built from fuzzer choices, and seeds from an h2 client.

:func:`build_frames` reads the input as a list of frame choices: the type, a stream id from a
small pool (so frames meet the streams earlier frames opened), flags, and a payload assembled
from its fields. HEADERS carry a header list HPACK-encoded by one encoder for the whole input,
so the server's decoder stays in step and the request itself (pseudo-fields, ``content-length``,
``te``, ``:protocol``) is what gets fuzzed. hyperframe serializes each frame; when a choice is
one hyperframe refuses to build (DATA on stream 0, say), the frame is written by hand, since
sending exactly such frames is the point.
"""

from __future__ import annotations

from collections.abc import Callable

import h2.config
import h2.connection
import h2.settings
import hpack
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

from .harness import Reader

__all__ = ['build_frames', 'seed_frames']

_MAX_FRAMES = 48
_STREAMS = (1, 1, 3, 3, 5, 7, 0, 2, 9, 11, 2**31 - 1)
_METHODS = (b'GET', b'POST', b'HEAD', b'CONNECT', b'PUT', b'OPTIONS', b'', b'get')
_PATHS = (b'/', b'/a?b=c', b'*', b'', b'/%00', b'//x/../y', b'http://h/p')
_SCHEMES = (b'http', b'https', b'', b'ftp')
_FIELDS = (
    (b'content-length', b'0'),
    (b'content-length', b'5'),
    (b'content-length', b'x'),
    (b'te', b'trailers'),
    (b'te', b'gzip'),
    (b'connection', b'close'),
    (b'host', b'example.com'),
    (b'cookie', b'a=b'),
    (b'Upper', b'case'),
    (b'x-nul', b'a\x00b'),
    (b':status', b'200'),
    (b'sec-websocket-version', b'13'),
    (b'sec-websocket-extensions', b'permessage-deflate'),
)


def _raw(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, 'big') + bytes((kind & 0xFF, flags & 0xFF)) + stream_id.to_bytes(4, 'big') + payload


def _field(reader: Reader, pool: tuple[bytes, ...]) -> bytes:
    # Mostly a value from the pool; sometimes bytes of the fuzzer's own.
    return reader.chunk(24) if reader.below(8) == 0 else reader.choice(pool)


def _header_list(reader: Reader) -> list[tuple[bytes, bytes]]:
    present = reader.uint()
    fields: list[tuple[bytes, bytes]] = []
    if present & 1:
        fields.append((b':method', _field(reader, _METHODS)))
    if present & 2:
        fields.append((b':scheme', _field(reader, _SCHEMES)))
    if present & 4:
        fields.append((b':path', _field(reader, _PATHS)))
    if present & 8:
        fields.append((b':authority', _field(reader, (b'example.com', b'', b'a b'))))
    if present & 16:
        fields.append((b':protocol', _field(reader, (b'websocket', b'x'))))
    for _ in range((present >> 5) & 3):
        fields.append(reader.choice(_FIELDS) if reader.flag() else (reader.chunk(16), reader.chunk(32)))
    if present & 128:
        reader_order = reader.uint()
        if reader_order & 1 and fields:
            fields.append(fields[0])  # a repeated field (a second :method, say)
        if reader_order & 2:
            fields.reverse()  # pseudo-fields after regular ones
    return fields


def _headers(reader: Reader, encoder: hpack.Encoder, stream_id: int, flags: int) -> bytes:
    block = encoder.encode(_header_list(reader), huffman=bool(flags & 0x40))
    end_stream = ('END_STREAM',) if flags & 1 else ()
    split = reader.below(len(block) + 1) if flags & 0x80 else len(block)
    end_headers = ('END_HEADERS',) if split == len(block) else ()
    first = HeadersFrame(stream_id, block[:split], flags=(*end_stream, *end_headers))
    if flags & 0x20:
        first.flags.add('PRIORITY')
        first.depends_on, first.stream_weight = reader.choice(_STREAMS), reader.uint()
    out = first.serialize()
    if split < len(block):
        out += ContinuationFrame(stream_id, block[split:], flags=('END_HEADERS',)).serialize()
    return out


def _settings(reader: Reader, flags: int) -> bytes:
    if flags & 1:
        return SettingsFrame(0, flags=('ACK',)).serialize()
    codes = [int(code) for code in h2.settings.SettingCodes] + [0, 0x7F]
    values = (0, 1, 100, 16383, 16384, 65535, 2**31 - 1, 2**32 - 1, 2**24)
    entries = {reader.choice(codes): reader.choice(values) for _ in range(reader.below(4))}
    return SettingsFrame(0, settings=entries).serialize()


def _one(reader: Reader, encoder: hpack.Encoder) -> bytes:
    kind = reader.below(12)
    flags = reader.uint()
    stream_id = reader.choice(_STREAMS)
    builders: dict[int, Callable[[], Frame | bytes]] = {
        0: lambda: _headers(reader, encoder, stream_id, flags),
        1: lambda: DataFrame(stream_id, reader.chunk(200), flags=('END_STREAM',) if flags & 1 else ()),
        2: lambda: _settings(reader, flags),
        3: lambda: PingFrame(0, opaque_data=reader.take(8).ljust(8, b'\0'), flags=('ACK',) if flags & 1 else ()),
        4: lambda: WindowUpdateFrame(stream_id, window_increment=reader.uint(4) & 0x7FFFFFFF),
        5: lambda: RstStreamFrame(stream_id, error_code=reader.below(16)),
        6: lambda: PriorityFrame(stream_id, depends_on=reader.choice(_STREAMS), stream_weight=reader.uint()),
        7: lambda: GoAwayFrame(0, last_stream_id=reader.choice(_STREAMS), error_code=reader.below(16)),
        8: lambda: ContinuationFrame(stream_id, reader.chunk(40), flags=('END_HEADERS',) if flags & 4 else ()),
        # Anything at all: unknown types, wrong lengths, PUSH_PROMISE from a client.
        9: lambda: _raw(reader.uint(), flags, stream_id, reader.chunk(64)),
        10: lambda: DataFrame(stream_id, b'', flags=('END_STREAM',) if flags & 1 else ()),
        11: lambda: _headers(reader, encoder, stream_id, flags | 1),
    }
    try:
        built = builders[kind]()
        return built if isinstance(built, bytes) else built.serialize()
    except Exception:
        # hyperframe would not build this one (a stream id or a value out of range): the
        # bytes it would have had, by hand.
        return _raw(kind, flags, stream_id, reader.chunk(32))


def build_frames(reader: Reader) -> bytes:
    encoder = hpack.Encoder()
    out = bytearray()
    for _ in range(_MAX_FRAMES):
        if reader.remaining <= 0:
            break
        out += _one(reader, encoder)
    return bytes(out)


def seed_frames() -> list[bytes]:
    """What an h2 client sends after the preface for the requests the HTTP/2 tests make."""

    def client() -> h2.connection.H2Connection:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        conn.initiate_connection()
        conn.data_to_send()  # the preface and SETTINGS: the target sends its own
        return conn

    request = [(':method', 'GET'), (':scheme', 'http'), (':authority', 'example.com'), (':path', '/')]
    post = [(':method', 'POST'), *request[1:], ('content-length', '5'), ('te', 'trailers')]
    connect = [(':method', 'CONNECT'), (':protocol', 'websocket'), *request[1:], ('sec-websocket-version', '13')]
    seeds = []
    conn = client()
    conn.send_headers(1, request, end_stream=True)
    seeds.append(conn.data_to_send())
    conn = client()
    conn.send_headers(1, post)
    conn.send_data(1, b'hello')
    conn.send_headers(1, [('x-trailer', '1')], end_stream=True)
    conn.send_headers(3, request, end_stream=True)
    conn.ping(b'12345678')
    seeds.append(conn.data_to_send())
    conn = client()
    conn.send_headers(1, post)
    conn.reset_stream(1)
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10})
    conn.increment_flow_control_window(1000)
    conn.send_headers(3, request, end_stream=True)
    seeds.append(conn.data_to_send())
    conn = client()
    conn.send_headers(1, connect)
    conn.send_data(1, b'\x81\x85\x01\x02\x03\x04iglhn')
    seeds.append(conn.data_to_send())
    conn = client()
    for stream_id in range(1, 12, 2):
        conn.send_headers(stream_id, request, end_stream=True)
    conn.close_connection()
    seeds.append(conn.data_to_send())
    return seeds
