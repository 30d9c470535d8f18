"""Clients that break off mid-request on purpose: the ``reset`` load.

Each round takes the next way of breaking off, and every break is counted as *provoked*: the
server owes it no answer, only to survive it, free what it held (the soak's fd and memory checks
see to that) and keep serving everyone else. What each way checks before it breaks off (the
answer's head arrived, the handshake succeeded, the HTTP/2 connection still serves its other
streams) is a real request: ok or failed like any other.

- ``mid-head``: half a request head, then a TCP reset;
- ``mid-upload``: a 1 MiB POST cut after 64 KiB of body;
- ``mid-download``: a 4 MiB streamed answer cut after its head and some body;
- ``h2-stream``: an HTTP/2 upload cancelled with RST_STREAM, then a GET on the same connection;
- ``h2-connection``: an HTTP/2 connection reset while four streamed answers are flowing;
- ``ws-frame``: a WebSocket handshake, then half a frame, then a TCP reset.

A TCP reset is ``SO_LINGER`` 0 then ``close()``: the kernel sends RST and drops what is unsent.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from collections.abc import Callable

import h2.errors
import h2.exceptions

from soak.h2load import H2Session
from soak.loads import TRANSPORT_ERRORS, KiB, LoadContext, Wrong, check, describe
from testkit.h2 import Client

__all__ = ['VARIANTS', 'resets']


class Refused(Exception):
    """The server, stopping, refused the HTTP/2 streams (GOAWAY): the round is done again."""


def _connect(ctx: LoadContext) -> socket.socket:
    sock = socket.create_connection(ctx.address, timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * KiB)
    return sock


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()


def _read_at_least(sock: socket.socket, size: int) -> bytes:
    data = b''
    while len(data) < size:
        piece = sock.recv(64 * KiB)
        if not piece:
            raise ConnectionError(f'closed after {len(data)} bytes')
        data += piece
    return data


def _host(ctx: LoadContext) -> str:
    return f'{ctx.host}:{ctx.port}'


def mid_head(ctx: LoadContext, kind: str) -> None:
    sock = _connect(ctx)
    sock.sendall(f'GET /small?i=0 HTTP/1.1\r\nhost: {_host(ctx)}\r\nx-padding: '.encode() + b'p' * 512)
    _reset(sock)
    ctx.record.provoked(kind, 'mid-head')


def mid_upload(ctx: LoadContext, kind: str) -> None:
    sock = _connect(ctx)
    head = f'POST /upload HTTP/1.1\r\nhost: {_host(ctx)}\r\ncontent-length: {1024 * KiB}\r\n\r\n'
    sock.sendall(head.encode() + os.urandom(64 * KiB))
    _reset(sock)
    ctx.record.provoked(kind, 'mid-upload')


def mid_download(ctx: LoadContext, kind: str) -> None:
    began = time.monotonic()
    sock = _connect(ctx)
    try:
        sock.sendall(f'GET /stream?size={4096 * KiB} HTTP/1.1\r\nhost: {_host(ctx)}\r\n\r\n'.encode())
        data = _read_at_least(sock, 32 * KiB)
        check(data.startswith(b'HTTP/1.1 200 '), f'mid-download: answer began {data[:30]!r}')
    except BaseException:
        sock.close()
        raise
    _reset(sock)
    ctx.record.ok(kind, began, len(data))
    ctx.record.provoked(kind, 'mid-download')


def h2_stream(ctx: LoadContext, kind: str) -> None:
    began = time.monotonic()
    session = H2Session(ctx.address)
    try:
        client: Client = session.client
        cancelled = client.request('POST', '/upload', body=os.urandom(48 * KiB), end=False)
        session.flush()
        client.conn.reset_stream(cancelled, h2.errors.ErrorCodes.CANCEL)
        follow = client.request('GET', '/small?i=1')
        response = client.responses[follow]
        while not response.ended and response.reset is None and not session.closed:
            if not session.step():
                raise TimeoutError('no answer on the stream after the reset one')
        ctx.record.provoked(kind, 'h2-stream')
        if session.refused(follow):
            raise Refused()
        got = response.reset or session.end
        check(response.ended, f'h2-stream: the next stream got {got} ({session.describe()})')
        check(response.status == 200 and bytes(response.body) == b'small 1', 'h2-stream: wrong next answer')
        ctx.record.ok(kind, began, len(response.body))
    finally:
        session.close()


def h2_connection(ctx: LoadContext, kind: str) -> None:
    began = time.monotonic()
    session = H2Session(ctx.address)
    try:
        for _ in range(4):
            session.client.request('GET', f'/stream?size={1024 * KiB}&chunk={16 * KiB}')
        deadline = time.monotonic() + 30
        while not any(len(r.body) >= 16 * KiB for r in session.client.responses.values()):
            if session.refused(1):
                raise Refused()
            check(not session.closed, f'h2-connection: {session.end} ({session.describe()})')
            check(time.monotonic() < deadline, 'h2-connection: no body for 30 s')
            session.step(1.0)
        received = sum(len(r.body) for r in session.client.responses.values())
    except BaseException:
        session.close()
        raise
    session.selector.close()
    _reset(session.sock)
    ctx.record.ok(kind, began, received)
    ctx.record.provoked(kind, 'h2-connection')


def ws_frame(ctx: LoadContext, kind: str) -> None:
    began = time.monotonic()
    sock = _connect(ctx)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f'GET /ws HTTP/1.1\r\nhost: {_host(ctx)}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n'
            f'sec-websocket-key: {key}\r\nsec-websocket-version: 13\r\n\r\n'.encode()
        )
        data = _read_at_least(sock, 12)
        check(data.startswith(b'HTTP/1.1 101 '), f'ws-frame: handshake answered {data[:30]!r}')
        # A masked binary frame announcing 4096 bytes, of which only 100 come.
        sock.sendall(b'\x82\xfe' + struct.pack('!H', 4096) + os.urandom(4) + os.urandom(100))
    except BaseException:
        sock.close()
        raise
    _reset(sock)
    ctx.record.ok(kind, began, 100)
    ctx.record.provoked(kind, 'ws-frame')


VARIANTS: dict[str, Callable[[LoadContext, str], None]] = {
    'mid-head': mid_head,
    'mid-upload': mid_upload,
    'mid-download': mid_download,
    'h2-stream': h2_stream,
    'h2-connection': h2_connection,
    'ws-frame': ws_frame,
}


def resets(ctx: LoadContext, kind: str, _seed: int) -> None:
    round_ = 0
    names = list(VARIANTS)
    refused = False
    while ctx.running():
        name = names[round_ % len(names)]
        try:
            VARIANTS[name](ctx, kind)
        except Refused:
            if refused:
                ctx.fail(kind, f'{name}: streams refused on two connections in a row')
            else:
                ctx.record.retried(kind, 'streams refused (above GOAWAY last-stream-id)')
                refused = True
                continue  # the same way again, on a new connection
        except (Wrong, TimeoutError, h2.exceptions.ProtocolError, *TRANSPORT_ERRORS) as exc:
            ctx.fail(kind, f'{name}: {describe(exc)}')
        refused = False
        round_ += 1
        ctx.stop.wait(ctx.plan.reset_pause)
