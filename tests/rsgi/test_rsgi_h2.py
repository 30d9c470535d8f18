"""RSGI over HTTP/2: the same adapter, served through the exchange contract by the HTTP/2 protocol.

Cleartext uses prior knowledge (h2c); the TLS server negotiates h2 through ALPN, which also shows
``scheme == 'https'``.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.certs import Certs, make_certs
from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'


@pytest.fixture(scope='module')
def server() -> Iterator[ServerProcess]:
    proc = api_server('rsgi_inspector:app', interface='rsgi', working_dir=str(APPS)).ready()
    try:
        yield proc
    finally:
        code = proc.stop()
    assert code == 0, proc.output


@pytest.fixture(scope='module')
def h2c(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, http1=False, http2=True, timeout=20) as client:
        yield client


def test_scope_over_h2c(h2c: httpx.Client, server: ServerProcess) -> None:
    response = h2c.get('/scope?x=1', headers={'X-Multi': 'one'})
    assert response.http_version == 'HTTP/2'
    scope = response.json()
    assert scope['http_version'] == '2'
    assert scope['authority'] == f'127.0.0.1:{server.port}'
    assert scope['scheme'] == 'http'
    assert scope['method'] == 'GET'
    assert scope['path'] == '/scope'
    assert scope['query_string'] == 'x=1'
    assert scope['server'] == f'127.0.0.1:{server.port}'
    assert re.fullmatch(r'127\.0\.0\.1:\d+', scope['client'])
    assert scope['get'] == 'one'
    assert all(not key.startswith(':') for key in scope['keys'])


def test_bodies_over_h2c(h2c: httpx.Client) -> None:
    payload = bytes(range(256)) * 4000

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 50_000):
            yield payload[start : start + 50_000]

    assert h2c.post('/echo', content=chunks()).content == payload
    assert h2c.post('/echo-chunks', content=b'abc').json() == {'count': 2, 'last': '', 'body': 'abc'}
    response = h2c.get('/stream')
    assert (response.status_code, response.text) == (200, 'one,two,three')
    response = h2c.get('/str')
    assert (response.status_code, response.text) == (201, 'héllo ✓')
    assert response.headers.get_list('x-dup') == ['a', 'b']


def test_files_over_h2c(h2c: httpx.Client, tmp_path: Path) -> None:
    data = bytes(range(256)) * 1200
    path = tmp_path / 'data.bin'
    path.write_bytes(data)
    assert h2c.get('/file', params={'path': str(path)}).content == data
    response = h2c.get('/file-range', params={'path': str(path), 'start': 100, 'end': 200_000})
    assert (response.status_code, response.content) == (206, data[100:200_000])
    assert h2c.get('/file', params={'path': str(tmp_path / 'missing')}).status_code == 404


@pytest.mark.parametrize('path', ['/raise', '/no-response'])
def test_failures_over_h2c(h2c: httpx.Client, path: str) -> None:
    response = h2c.get(path)
    assert (response.status_code, response.content) == (500, b'')


def test_tls_with_alpn_h2(tmp_path_factory: pytest.TempPathFactory) -> None:
    certs: Certs = make_certs(tmp_path_factory.mktemp('certs'))
    proc = api_server(
        'rsgi_inspector:app', interface='rsgi', working_dir=str(APPS), ssl_cert=certs.cert, ssl_key=certs.key
    ).ready()
    try:
        context = ssl.create_default_context(cafile=str(certs.ca))
        with httpx.Client(base_url=proc.url, http2=True, verify=context, timeout=20) as client:
            response = client.get('/scope')
            assert response.http_version == 'HTTP/2'
            scope = response.json()
            assert scope['scheme'] == 'https'
            assert scope['http_version'] == '2'
            assert client.post('/echo', content=b'over tls').content == b'over tls'
    finally:
        code = proc.stop()
    assert code == 0, proc.output


@pytest.mark.parametrize('status', [101, 103])
def test_an_informational_status_is_no_final_response_over_h2c(h2c: httpx.Client, status: int) -> None:
    # As on HTTP/1.1 (found there by the rsgi-messages fuzz target): a 1xx cannot end a response,
    # so the app's call raises ValueError and the client gets the 500 of a failed app.
    response = h2c.get('/informational-status', params={'status': status})
    assert (response.status_code, response.content) == (500, b'')
    assert h2c.get('/bytes-default').status_code == 200
