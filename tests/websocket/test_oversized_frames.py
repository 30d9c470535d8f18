"""A frame whose header announces more than the message limit is refused at once (issue 15).

A client announces a 100 MiB payload, sends 16 bytes of it and waits: the server must not keep the
connection open for the rest. It answers with close 1009 within a second and ends the connection
(HTTP/1.1) or the stream (HTTP/2), for ASGI and RSGI alike. The 64-bit length takes the session's
wsproto path; a 16-bit one over a smaller limit is covered by tests/websocket/test_session.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.h2ws import H2WebSocketClient
from testkit.process import ServerProcess, api_server
from testkit.raw import open_websocket

APPS = Path(__file__).parent / 'apps'
ANNOUNCED = 100 * 1024 * 1024
#: What the server is given to answer in.
DEADLINE = 1.0


def oversized_frame_start() -> bytes:
    """The header of a masked binary frame announcing ``ANNOUNCED`` bytes, and 16 of them."""
    mask = b'\x11\x22\x33\x44'
    payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(b'x' * 16))
    return bytes([0x82, 0x80 | 127]) + ANNOUNCED.to_bytes(8, 'big') + mask + payload


@pytest.fixture(scope='module', params=['asgi', 'rsgi'])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    target, interface = ('asgi_ws:app', 'asginl') if request.param == 'asgi' else ('rsgi_ws:app', 'rsgi')
    proc = api_server(target, interface=interface, working_dir=str(APPS)).ready()
    yield proc
    assert proc.stop() == 0


def test_over_http1(server: ServerProcess) -> None:
    sock, received = open_websocket(server.port, '/echo')
    with sock:
        sock.sendall(oversized_frame_start())
        sent = time.monotonic()
        # Everything the server sends until it closes; a server that keeps waiting for the
        # payload times out here.
        while True:
            sock.settimeout(max(0.001, sent + DEADLINE - time.monotonic()))
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    assert time.monotonic() - sent < DEADLINE
    # One unmasked close frame: 1009 and its reason.
    assert received[0] == 0x88
    assert received[1] == len(received) - 2
    assert int.from_bytes(received[2:4], 'big') == 1009


def test_over_http2(server: ServerProcess) -> None:
    client = H2WebSocketClient('127.0.0.1', server.port)
    try:
        ws = client.websocket('/echo')
        assert ws.status == 200
        ws.send_raw(oversized_frame_start())
        client.flush()
        sent = time.monotonic()
        client.wait_ended(ws, timeout=DEADLINE)
        assert time.monotonic() - sent < DEADLINE
        assert ws.close_frame is not None and ws.close_frame.code == 1009
        # The connection serves on: only that stream ended.
        again = client.websocket('/echo')
        assert again.status == 200
    finally:
        client.close()
