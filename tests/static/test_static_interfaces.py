"""Static files on every interface: one mount without a route (served at ``/static``) and
``static_path_expires=0`` (no ``cache-control``), on RSGI, WSGI and ASGI without lifespan."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'

TARGETS = {'rsgi': 'static_echo:rsgi_app', 'wsgi': 'static_echo:wsgi_app', 'asginl': 'static_echo:asgi_app'}


@pytest.fixture(scope='module', params=list(TARGETS))
def served(request: pytest.FixtureRequest, tree: Any) -> Iterator[tuple[ServerProcess, httpx.Client]]:
    interface = request.param
    proc = api_server(
        TARGETS[interface],
        interface=interface,
        working_dir=str(APPS),
        static_path_mount=[str(tree.public)],
        static_path_expires=0,
    ).ready()
    try:
        with httpx.Client(base_url=proc.url, timeout=10) as client:
            yield proc, client
    finally:
        assert proc.stop() == 0


def test_single_mount_is_served_at_static_without_cache_control(served: Any, tree: Any) -> None:
    _, client = served
    response = client.get('/static/hello.txt')
    assert response.status_code == 200
    assert response.content == b'hello, static\n'
    assert response.headers['content-type'] == 'text/plain'
    assert 'cache-control' not in response.headers
    assert client.get('/static/big.bin').content == tree.big
    assert client.get('/static/こんにちは.png').content == tree.png


def test_missing_is_404_and_other_paths_reach_the_app(served: Any) -> None:
    _, client = served
    missing = client.get('/static/missing.txt')
    assert (missing.status_code, missing.text) == (404, 'Not found')
    assert client.get('/elsewhere').text == 'app GET /elsewhere'
    # No index file configured: a directory is a 404.
    assert client.get('/static/sub').status_code == 404


def test_head_range_and_conditional(served: Any, tree: Any) -> None:
    _, client = served
    head = client.head('/static/big.bin')
    assert (head.status_code, head.content, head.headers['content-length']) == (200, b'', str(len(tree.big)))
    ranged = client.get('/static/big.bin', headers={'range': 'bytes=70000-'})
    assert ranged.status_code == 206
    assert ranged.content == tree.big[70000:]
    cached = client.get('/static/big.bin', headers={'if-none-match': head.headers['etag']})
    assert cached.status_code == 304
    assert 'cache-control' not in cached.headers


def test_traversal_is_404(served: Any, raw: Any, tree: Any) -> None:
    proc, _ = served
    for target in (b'/static/../secret.txt', b'/static/%2e%2e/secret.txt', b'/static/link-out'):
        response = raw(proc.port, target)
        assert response.status == 404
        assert tree.secret not in response.body


def test_http_1_0(served: Any) -> None:
    proc, _ = served
    with socket.create_connection(('127.0.0.1', proc.port), timeout=10) as sock:
        sock.sendall(b'GET /static/hello.txt HTTP/1.0\r\n\r\n')
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b'HTTP/1.0 200 OK\r\n')
    assert b'content-length: 14\r\n' in data
    assert data.endswith(b'\r\n\r\nhello, static\n')


def test_static_files_over_http2(tree: Any) -> None:
    """The same files over HTTP/2 (h2c prior knowledge): static files sit on the exchange too."""
    proc = api_server(
        TARGETS['asginl'],
        interface='asginl',
        working_dir=str(APPS),
        static_path_mount=[str(tree.public)],
    ).ready()
    try:
        with httpx.Client(base_url=proc.url, http1=False, http2=True, timeout=10) as client:
            response = client.get('/static/hello.txt')
            assert response.http_version == 'HTTP/2'
            assert response.content == b'hello, static\n'
            assert response.headers['cache-control'] == 'max-age=86400'
            big = client.get('/static/big.bin')
            assert big.content == tree.big
            assert int(big.headers['content-length']) == len(tree.big)
            ranged = client.get('/static/big.bin', headers={'range': 'bytes=10-19'})
            assert (ranged.status_code, ranged.content) == (206, tree.big[10:20])
            assert client.get('/static/missing.txt').status_code == 404
            assert client.get('/elsewhere').text == 'app GET /elsewhere'
    finally:
        assert proc.stop() == 0
