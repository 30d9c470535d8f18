"""Fuzz target ``h3``: an HTTP/3 connection driven by a real aioquic client, in memory.

Input: a config byte, then a list of client actions (:func:`_act`). After the QUIC handshake (the
client is aioquic's own, see :mod:`.h3pair`), the fuzzer opens request streams with HEADERS whose
pseudo-headers and fields come from pools of valid and invalid ones (QPACK-encoded by aioquic's
encoder), sends DATA, trailers, unknown, reserved and control-only frames and raw bytes on request
streams, FINs, RESET_STREAM and STOP_SENDING, frames on the control stream, new unidirectional
streams of any type, raw datagrams to the endpoint (not QUIC, unknown connection IDs, other
versions), more streams than the server allows, a graceful shutdown, and lets (virtual) time pass.

The config byte picks the server: a small header limit, two concurrent streams, small windows and
send buffers (flow control both ways), WebSockets on (RFC 9220, echoed by the app), a response
body large enough to need the client's window, a one-second idle timeout; and how the client
leaves (a CONNECTION_CLOSE or silence until the idle timeout).

Properties:

* the client never has to close the connection itself: aioquic's client finds nothing in what the
  server sent to object to (a malformed response head, a frame out of place, a bad QUIC frame);
* every request stream the client finished (FIN, no reset of its own) and could open (not held
  back by the server's stream limit while earlier streams stay open) gets a complete response,
  a RESET_STREAM, or the connection is closed (a CONNECTION_CLOSE, or the server's idle timeout);
  every error code the server sends is an HTTP/3 or QUIC one;
* every request the app answered while the connection was up reached the client;
* no exception escapes to the loop; once the client has gone (closed, or silent past the idle
  timeout), the server connection is closed, its streams are gone, every app task has finished,
  and neither the endpoint nor the context holds it.
"""

from __future__ import annotations

import asyncio

from aioquic.buffer import encode_uint_var
from aioquic.h3.connection import ErrorCode, FrameType, StreamType, encode_frame
from aioquic.quic.packet import QuicErrorCode

from granian_http import ServeContext
from granian_http.settings import HTTP3Settings

from .apps import App
from .h3pair import CLIENT, H3Pair
from .harness import Reader, Target, expect, finish_tasks, quiet_logs, run_async

__all__ = ['TARGET']

_H3_CODES = frozenset(int(code) for code in ErrorCode)
_QUIC_CODES = frozenset(int(code) for code in QuicErrorCode) | frozenset(range(0x100, 0x200))  # + CRYPTO_ERROR
#: A response body above the client's stream window (see h3pair), so that it waits for the client.
_LARGE_BODY = b'x' * 24_000

_METHODS = (b'GET', b'POST', b'HEAD', b'CONNECT', b'OPTIONS', b'G T', b'', b'get', b'PUT')
_PATHS = (b'/', b'/a?b=c', b'', b'*', b'noslash', b'/%zz', b'/' + b'p' * 3000, b'/\x00')
_FIELDS = (
    (b'content-length', b'5'),
    (b'content-length', b'0'),
    (b'content-length', b'x'),
    (b'te', b'trailers'),
    (b'te', b'gzip'),
    (b'connection', b'keep-alive'),
    (b'transfer-encoding', b'chunked'),
    (b'keep-alive', b'1'),
    (b'upgrade', b'websocket'),
    (b'Host', b'x'),
    (b'host', b'other'),
    (b'cookie', b'a=1'),
    (b'cookie', b'b=2'),
    (b'sec-websocket-version', b'13'),
    (b'sec-websocket-extensions', b'permessage-deflate'),
    (b'x-big', b'v' * 3000),
    (b'x', b'a\r\nb'),
    (b'x\x00', b'v'),
    (b'x', b' padded '),
    (b':foo', b'unknown pseudo'),
    (b':status', b'200'),
    (b':method', b'GET'),
    (b':path', b'/dup'),
    (b':protocol', b'websocket'),
    (b'x-trailer', b'1'),
)
#: Frame types sent as "unknown or misplaced": grease, HTTP/2's reserved ones, control-stream
#: frames, PUSH_PROMISE, WebTransport, an unassigned one.
_FRAME_TYPES = (0x21, 0x1F * 7 + 0x21, 0x2, 0x6, 0x8, 0x9, 0x3, 0x4, 0x5, 0x7, 0xD, 0x41, 0x30)
_RESET_CODES = (0x100, 0x10C, 0x10B, 0, 0xFFFF, 2**62 - 1)
_UNI_TYPES = (StreamType.CONTROL, StreamType.PUSH, StreamType.QPACK_ENCODER, StreamType.QPACK_DECODER, 0x21, 0x54)
_WAITS = (0.01, 0.2, 1.5, 5.0, 31.0)


def _settings(config: int) -> HTTP3Settings:
    settings = HTTP3Settings()
    if config & 1:
        settings.max_headers_size = 1024
    if config & 2:
        settings.max_concurrent_streams = 2
    if config & 4:
        settings.initial_stream_window_size = 1024
        settings.initial_connection_window_size = 4096
        settings.max_send_buffer_size = 1024
    if config & 32:
        settings.idle_timeout = 1
    return settings


def _headers(reader: Reader) -> list[tuple[bytes, bytes]]:
    """A request head: a valid one, then up to five changes (a pseudo-header dropped, a field from
    the pool or of the fuzzer's own bytes, another method or path, a field moved first)."""
    method, path = reader.choice(_METHODS[:2] + _METHODS), reader.choice(_PATHS[:2] + _PATHS)
    headers = [(b':method', method), (b':scheme', b'https'), (b':authority', b'localhost'), (b':path', path)]
    for _ in range(reader.below(6)):
        change = reader.below(5)
        if change == 0 and headers:
            del headers[reader.below(len(headers))]
        elif change == 1:
            headers.append(reader.choice(_FIELDS))
        elif change == 2:
            headers.append((reader.chunk(16) or b'-', reader.chunk(32)))  # QPACK cannot encode b''
        elif change == 3 and headers:
            headers.insert(0, headers.pop(reader.below(len(headers))))
        else:
            headers.append((b':protocol', b'websocket'))
    return headers


class _Client:
    """The fuzzer's side: what it sent on which stream, on top of the pair's client."""

    def __init__(self, pair: H3Pair) -> None:
        self.pair = pair
        self.quic = pair.client
        #: Request streams opened, and which the client finished (FIN) or reset itself.
        self.opened: list[int] = []
        self.finished: set[int] = set()
        self.reset: set[int] = set()
        #: The STOP_SENDING codes the client sent: the server's QUIC resets the stream with the
        #: same code (RFC 9000 §3.5), whatever it is (any of them: a later one may go out first).
        self.stopped: dict[int, set[int]] = {}

    def held_back(self, stream_id: int) -> bool:
        """Whether aioquic still holds the stream back: opening it would pass the server's
        MAX_STREAMS (RFC 9000 §4.6), so the server has not seen it and owes it nothing yet."""
        stream = self.quic._streams.get(stream_id)
        return stream is not None and stream.is_blocked

    def stream(self, reader: Reader) -> int | None:
        return self.opened[reader.below(len(self.opened))] if self.opened else None

    def send(self, stream_id: int, data: bytes, end: bool) -> None:
        if stream_id in self.finished or stream_id in self.reset:
            return  # aioquic refuses to write after FIN or reset (a client cannot)
        try:
            self.quic.send_stream_data(stream_id, data, end)
        except (AssertionError, ValueError, RuntimeError):
            return  # the stream is over on aioquic's side (the server asked it to stop sending)
        if end:
            self.finished.add(stream_id)

    def open(self, headers: list[tuple[bytes, bytes]], end: bool) -> None:
        stream_id = self.quic.get_next_available_stream_id()
        self.opened.append(stream_id)
        self.send(stream_id, self.encode(stream_id, headers), end)

    def encode(self, stream_id: int, headers: list[tuple[bytes, bytes]]) -> bytes:
        encoder, frame = self.pair.h3._encoder.encode(stream_id, headers)
        if encoder:  # the server allows no dynamic table: never, but sent if it were
            self.quic.send_stream_data(self.pair.h3._local_encoder_stream_id, encoder)
        return encode_frame(FrameType.HEADERS, frame)


async def _act(reader: Reader, client: _Client, pair: H3Pair) -> None:
    action = reader.below(16)
    if action == 0:
        client.open(_headers(reader), reader.flag())
    elif action == 1 and (stream_id := client.stream(reader)) is not None:
        client.send(stream_id, encode_frame(FrameType.DATA, reader.chunk()), reader.flag())
    elif action == 2 and (stream_id := client.stream(reader)) is not None:
        # A second HEADERS: trailers (valid or not), or a head out of place.
        client.send(stream_id, client.encode(stream_id, _headers(reader)[4:]), reader.flag())
    elif action == 3 and (stream_id := client.stream(reader)) is not None:
        client.send(stream_id, encode_frame(reader.choice(_FRAME_TYPES), reader.chunk(64)), reader.flag())
    elif action == 4 and (stream_id := client.stream(reader)) is not None:
        client.send(stream_id, reader.chunk(), reader.flag())
    elif action == 5 and (stream_id := client.stream(reader)) is not None:
        client.send(stream_id, b'', True)
    elif action == 6 and (stream_id := client.stream(reader)) is not None:
        code = reader.choice(_RESET_CODES)
        if stream_id not in client.reset:
            client.reset.add(stream_id)
            try:
                client.quic.reset_stream(stream_id, code)
            except (AssertionError, ValueError):
                pass  # already reset by the server, or over
    elif action == 7 and (stream_id := client.stream(reader)) is not None:
        code = reader.choice(_RESET_CODES)
        try:
            client.quic.stop_stream(stream_id, code)
        except (AssertionError, ValueError):
            return
        client.stopped.setdefault(stream_id, set()).add(code)
    elif action == 8:
        await pair.pump()
    elif action == 9:
        await pair.wait(reader.choice(_WAITS))
    elif action == 10:
        # More streams than the server allows (aioquic would wait for the limit to rise).
        client.quic._remote_max_streams_bidi = 1000
        for _ in range(reader.below(8) + 1):
            client.open(_headers(Reader(b'')), True)
    elif action == 11:
        control = pair.h3._local_control_stream_id
        assert control is not None
        client.quic.send_stream_data(control, encode_frame(reader.choice((*_FRAME_TYPES, 0x0)), reader.chunk(16)))
    elif action == 12:
        stream_id = client.quic.get_next_available_stream_id(is_unidirectional=True)
        payload = encode_uint_var(reader.choice(_UNI_TYPES)) + reader.chunk(32)
        client.quic.send_stream_data(stream_id, payload, reader.flag())
    elif action == 13:
        address = CLIENT if reader.flag() else ('127.0.0.2', 4433)
        pair.send_raw_datagram(reader.chunk(), address)
    elif action == 14:
        conn = pair.server_connection()
        if conn is not None:
            conn.shutdown()  # graceful shutdown (GOAWAY) while streams are open
    elif action == 15:
        stream_id = client.stream(reader)
        if stream_id is not None:
            client.send(stream_id, encode_frame(FrameType.DATA, _LARGE_BODY), reader.flag())


async def exercise(data: bytes) -> None:
    reader = Reader(data)
    config = reader.uint()
    settings = _settings(config)
    app = App(accept_websockets=bool(config & 8), body=_LARGE_BODY if config & 16 else b'ok')
    loop = asyncio.get_running_loop()
    ctx = ServeContext(app.handle, loop=loop, websockets=bool(config & 8))
    pair = H3Pair(ctx, settings)
    client = _Client(pair)
    try:
        pair.connect()
        await pair.pump()
        for _ in range(reader.below(24) + 1):
            await _act(reader, client, pair)
            expect(not pair.complaints, f'the client closed the connection: {pair.complaints}')
        await pair.pump()
        expect(not pair.complaints, f'the client closed the connection: {pair.complaints}')
        _check_streams(client, pair, app)
        silent = bool(config & 64)
        await pair.close(silent, settings.idle_timeout + 5.0)
        await finish_tasks(app.tasks, 'an app task')
        for conn in pair.connections:
            expect(conn.closed, 'the server connection is open after the client left')
            expect(not conn._streams, f'streams left after the connection closed: {list(conn._streams)}')
        expect(not pair.endpoint._cids, 'the endpoint still routes to a closed connection')
        expect(not ctx.connections, f'connections left: {ctx.connections!r}')
    finally:
        ctx.close()


def _check_streams(client: _Client, pair: H3Pair, app: App) -> None:
    close = pair.closed
    if close is not None:
        expect(close.error_code in _H3_CODES | _QUIC_CODES, f'connection closed with code {close.error_code:#x}')
    # The server let the connection go (an idle timeout sends nothing): nothing more is owed.
    gone = close is not None or all(conn.closed for conn in pair.connections)
    for stream_id, seen in pair.streams.items():
        if seen.reset is not None and seen.reset not in client.stopped.get(stream_id, ()):
            expect(seen.reset in _H3_CODES, f'stream {stream_id} reset with code {seen.reset:#x}')
        if seen.final is not None:
            status = seen.final
            expect(len(status) == 3 and status.isdigit() and 200 <= int(status) <= 599, f'status {status!r}')
    if gone:
        return
    for stream_id in client.opened:
        if stream_id in client.finished and stream_id not in client.reset and not client.held_back(stream_id):
            seen = pair.seen(stream_id)
            answered = (seen.final is not None and seen.ended) or seen.reset is not None
            websocket = seen.final == b'200' and not seen.ended  # an accepted RFC 9220 session
            expect(answered or websocket, f'stream {stream_id} finished by the client got no answer: {seen}')
    for request in app.seen:
        if request.answered and request.stream_id not in client.reset:
            seen = pair.seen(request.stream_id or 0)
            expect(seen.final is not None or seen.reset is not None, f'answered stream {request.stream_id} unseen')


def check(data: bytes) -> None:
    with quiet_logs(('_granian', 'quic', 'http3')):
        run_async(exercise(data), virtual_clock=True)


def seeds() -> list[bytes]:
    # [config][count][actions]. A GET; a POST with a body; trailers; a reset; too many streams; a
    # shutdown mid-request; a bad pseudo-header; an unknown frame; an idle wait; a WebSocket CONNECT.
    get = bytes((0, 0, 0, 0, 1))  # open: method GET, path /, no changes, FIN
    post = bytes((0, 1, 1, 0, 0))  # open: POST, /a?b=c, no changes, no FIN
    return [
        bytes((0, 0)) + get,
        bytes((4, 2)) + post + bytes((1, 0, 5)) + b'hello' + bytes((1,)) + bytes((8,)),
        bytes((0, 2)) + post + bytes((2, 0, 0, 0, 1, 1, len(_FIELDS) - 1, 1)) + bytes((8,)),
        bytes((0, 1)) + post + bytes((6, 0, 1)),
        bytes((2, 1, 10, 5)) + bytes((8,)),
        bytes((0, 2)) + post + bytes((14,)) + bytes((5, 0)),
        bytes((1, 0, 0, 0, 0, 1, 0, 1, 1)),
        bytes((0, 2)) + post + bytes((3, 0, 0, 6)) + b'grease' + bytes((1,)) + bytes((8,)),
        bytes((32, 1)) + get + bytes((9, 4)),
        bytes((8, 0, 0, 5, 0, 2, 4, 1, 13, 0)),
        bytes((64, 1)) + get + bytes((13, 1, 10)) + b'not quic..',
    ]


TARGET = Target(name='h3', check=check, seeds=seeds)
