"""Fuzz targets ``h2`` and ``h2-frames``: an HTTP/2 connection after a valid h2c preface.

``h2`` input: ``[config][n][n cut points][payload]``; the server reads the client preface and an
empty SETTINGS, then the payload, in the reads the cut points make. ``h2-frames`` is structure
aware: after the same config and cut points, the rest of the input is read as a list of frame
choices (:mod:`.h2frames`), so most inputs get past the frame layer into streams, header blocks
and flow control, where raw bytes rarely go.

The config byte picks the server: a small header list limit, few concurrent streams, small
windows (so flow control matters), the adaptive window, WebSockets accepted (RFC 8441), and a
response body large enough to block on the client's window.

Properties:

* no exception escapes ``data_received`` or reaches the loop;
* everything the server wrote checks out as HTTP/2 frames (:mod:`.h2check`): complete, decodable
  header blocks, a valid ``:status``, known error codes, no push;
* a GOAWAY with an error code closes the transport;
* every request the handler answered (to a client still connected) has its response head out;
* after the client hangs up: every handler has finished (blocked reads are released), the
  connection holds no stream and ``ctx.connections`` is empty.
"""

from __future__ import annotations

import asyncio

from hyperframe.frame import SettingsFrame

from granian_http import HTTP2Connection, HTTP2Settings, ServeContext
from testkit.h1 import MemoryTransport

from .apps import App
from .h2check import check_server_frames
from .h2frames import build_frames, seed_frames
from .harness import (
    Reader,
    Target,
    cut,
    encode,
    expect,
    read_plan,
    run_async,
    serve_and_hang_up,
)

__all__ = ['FRAMES_TARGET', 'TARGET']

PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + SettingsFrame(0).serialize()
_LARGE_BODY = b'x' * 70_000  # above the default 64 KiB stream window


def _settings(config: int) -> HTTP2Settings:
    settings = HTTP2Settings()
    if config & 1:
        settings.max_headers_size = 512
    if config & 2:
        settings.max_concurrent_streams = 2
    if config & 4:
        settings.initial_connection_window_size = settings.initial_stream_window_size = 65535
        settings.max_send_buffer_size = 1024
    if config & 8:
        settings.adaptive_window = True
    return settings


async def serve(config: int, pieces: list[bytes]) -> None:
    app = App(accept_websockets=bool(config & 16), body=_LARGE_BODY if config & 32 else b'ok')
    loop = asyncio.get_running_loop()
    ctx = ServeContext(app.handle, loop=loop, http2=_settings(config))
    conn = HTTP2Connection(ctx)
    transport = MemoryTransport(conn)
    try:
        conn.connection_made(transport)
        server_closed, written = await serve_and_hang_up(transport, pieces, app.tasks)
        summary = check_server_frames(written)
        if summary.goaway:
            expect(server_closed, f'GOAWAY {summary.goaway} but the transport stayed open')
        for seen in app.seen:
            if seen.answered:
                expect(seen.stream_id in summary.responses, f'no response head on answered stream {seen.stream_id}')
        expect(not conn._streams, f'streams left after connection_lost: {list(conn._streams)}')
        expect(not ctx.connections, f'connections left after connection_lost: {ctx.connections!r}')
    finally:
        ctx.close()


def check_raw(data: bytes) -> None:
    reader = Reader(data)
    config, points = read_plan(reader)
    run_async(serve(config, cut(PREFACE + reader.rest(), points)))


def check_frames(data: bytes) -> None:
    reader = Reader(data)
    config, points = read_plan(reader)
    run_async(serve(config, cut(PREFACE + build_frames(reader), points)))


def raw_seeds() -> list[bytes]:
    return [encode(frames, config=index * 37 % 64) for index, frames in enumerate(seed_frames())]


def frame_seeds() -> list[bytes]:
    # Choice bytes that build a request, a body, settings and a reset (see h2frames).
    out = []
    for config in (0, 1, 4, 16, 32, 63):
        out.append(encode(bytes(range(0, 250, 7)), config=config))
        out.append(encode(bytes([0, 1, 0x25, 3, 2, 1, 1, 5, 9, 0, 4, 1]) * 3, config=config, points=(30, 60)))
    return out


TARGET = Target(name='h2', check=check_raw, seeds=raw_seeds)
FRAMES_TARGET = Target(name='h2-frames', check=check_frames, seeds=frame_seeds)
