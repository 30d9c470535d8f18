"""Where WSGI apps run: a bounded pool of blocking threads, off the event loop, behind the
per-worker connection limit (backpressure)."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

WSGIServer = Any  # conftest.WSGIServer; test modules cannot import conftest


def entered(server: WSGIServer) -> set[str]:
    return {path.name.removeprefix('entered-') for path in server.shared.glob('entered-*')}


def release(server: WSGIServer) -> None:
    (server.shared / 'release').write_text('')


def test_pool_size_bounds_concurrent_requests(
    start_server: Callable[..., WSGIServer], wait_until: Callable[..., Any]
) -> None:
    server = start_server('basic:app', blocking_threads=2, backpressure=64)

    def blocked(tag: str) -> dict[str, Any]:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            response = http.get('/block', params={'tag': tag})
            assert response.status_code == 200
            return dict(response.json())

    with ThreadPoolExecutor(5) as requests:
        futures = [requests.submit(blocked, f'r{index}') for index in range(5)]
        wait_until(lambda: len(entered(server)) == 2, message='two requests in the app')
        # Both threads are busy; the loop still answers what needs no app thread.
        with socket.create_connection(server.address, timeout=10) as sock:
            sock.sendall(b'NOT A REQUEST\r\n\r\n')
            assert sock.recv(1024).startswith(b'HTTP/1.1 400 ')
        assert len(entered(server)) == 2
        release(server)
        threads = {future.result()['thread'] for future in futures}
    assert len(entered(server)) == 5
    assert len(threads) == 2
    assert all(name.startswith('granian-wsgi-') for name in threads)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get('/stats').json()['max_active'] == 2


def test_backpressure_bounds_connections(
    start_server: Callable[..., WSGIServer], wait_until: Callable[..., Any]
) -> None:
    # More threads than connections allowed: only backpressure can hold the third request back.
    server = start_server('basic:app', blocking_threads=8, backpressure=2)
    sockets = []
    try:
        for index in range(3):
            sock = socket.create_connection(server.address, timeout=30)
            sock.sendall(f'GET /block?tag=c{index} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'.encode())
            sockets.append(sock)
        wait_until(lambda: len(entered(server)) == 2, message='two connections admitted')
        # The third connection was accepted by the kernel but is not read while two are open:
        # give it time to get in if it could.
        time.sleep(0.5)
        assert entered(server) == {'c0', 'c1'}
        release(server)
        for sock in sockets:
            data = b''
            while chunk := sock.recv(65536):
                data += chunk
            assert data.startswith(b'HTTP/1.1 200 ')
    finally:
        for sock in sockets:
            sock.close()
    assert entered(server) == {'c0', 'c1', 'c2'}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get('/stats').json()['max_active'] == 2


def test_default_pool_serves_many_concurrent_requests(
    start_server: Callable[..., WSGIServer], wait_until: Callable[..., Any]
) -> None:
    # Default sizing: backpressure // 2 threads (upstream's rule), here 8 with backpressure 16.
    server = start_server('basic:app', backpressure=16)

    def blocked(tag: str) -> str:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            return str(http.get('/block', params={'tag': tag}).json()['thread'])

    with ThreadPoolExecutor(10) as requests:
        futures = [requests.submit(blocked, f'd{index}') for index in range(10)]
        wait_until(lambda: len(entered(server)) == 8, message='eight requests in the app')
        release(server)
        threads = {future.result() for future in futures}
    assert len(threads) == 8


def test_graceful_stop_finishes_inflight_request(
    start_server: Callable[..., WSGIServer], wait_until: Callable[..., Any]
) -> None:
    server = start_server('basic:app', blocking_threads=2)
    with socket.create_connection(server.address, timeout=30) as sock:
        sock.sendall(b'GET /block?tag=inflight HTTP/1.1\r\nHost: x\r\n\r\n')
        wait_until(lambda: entered(server) == {'inflight'}, message='the request in the app')
        server.proc.send_signal(signal.SIGTERM)
        server.wait_for('Stopping worker-1')
        release(server)
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b'HTTP/1.1 200 ')
    # The whole body arrived before the server closed the connection.
    assert json.loads(data.partition(b'\r\n\r\n')[2])['thread'].startswith('granian-wsgi-')
    assert server.stop() == 0


def test_access_log(start_server: Callable[..., WSGIServer]) -> None:
    server = start_server('basic:app', log_access=True)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get('/environ', params={'x': '1'}).status_code == 200
        assert http.get('/boom').status_code == 500
    server.wait_for(r'"GET /environ HTTP/1.1" 200 ')
    server.wait_for(r'"GET /boom HTTP/1.1" 500 ')
