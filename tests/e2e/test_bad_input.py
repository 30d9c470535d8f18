"""Bad clients against a real server: each gets its status and a clean close, and the same worker
goes on serving the next client."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from granian.http import HTTP1Settings
from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'


# Each request parser behind the seam gets the same bad clients and must answer them alike.
@pytest.fixture(scope='module', params=['h11', 'httptools'])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    proc = api_server(
        'asgi_inspector:app',
        interface='asgi',
        working_dir=str(APPS),
        http1_settings=HTTP1Settings(header_read_timeout=500, max_buffer_size=16384, parser=request.param),
    ).ready()
    yield proc
    assert proc.stop() == 0


def exchange(port: int, data: bytes, trickle: float = 0.0) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        if trickle:
            for byte in data:
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    break
                time.sleep(trickle)
        else:
            sock.sendall(data)
        received = b''
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


CASES = {
    'malformed request line': (b'THIS IS NOT HTTP\r\n\r\n', 400),
    'oversized headers': (b'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 20000 + b'\r\n\r\n', 431),
    'too many headers': (b'GET / HTTP/1.1\r\nHost: x\r\n' + b'X-A: 1\r\n' * 150 + b'\r\n', 431),
    'conflicting content-length': (
        b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
        400,
    ),
    'content-length with transfer-encoding': (
        b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
    ),
    'malformed chunk': (b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n', 400),
    'unsupported version': (b'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505),
}


@pytest.mark.parametrize('name', list(CASES))
def test_bad_request_then_the_same_worker_serves_on(server: ServerProcess, name: str) -> None:
    worker = httpx.get(f'{server.url}/pid').text
    request, status = CASES[name]
    response = exchange(server.port, request)
    assert response.startswith(b'HTTP/1.1 %d ' % status), response[:100]
    assert b'connection: close' in response
    assert httpx.get(f'{server.url}/pid').text == worker


def test_trickled_headers_are_cut_off(server: ServerProcess) -> None:
    worker = httpx.get(f'{server.url}/pid').text
    started = time.monotonic()
    response = exchange(server.port, b'GET / HTTP/1.1\r\nHost: x\r\n' + b'X-Slow: 1\r\n' * 40, trickle=0.01)
    assert response == b''  # closed without an answer, like upstream
    assert time.monotonic() - started < 4.5
    assert httpx.get(f'{server.url}/pid').text == worker


def test_silent_connection_is_closed(server: ServerProcess) -> None:
    with socket.create_connection(('127.0.0.1', server.port), timeout=5) as sock:
        assert sock.recv(10) == b''
