"""WSGI over HTTP/2 (cleartext, prior knowledge): the same adapter serves every HTTP version."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

WSGIServer = Any  # conftest.WSGIServer; test modules cannot import conftest


@pytest.fixture(scope='module')
def client(start_server: Callable[..., WSGIServer]) -> Iterator[httpx.Client]:
    server = start_server('basic:app', http='2')
    with httpx.Client(base_url=server.url, http1=False, http2=True, timeout=20) as http:
        yield http


def test_environ_over_http2(client: httpx.Client) -> None:
    response = client.get('/environ', headers={'cookie': 'a=1'})
    assert response.http_version == 'HTTP/2'
    env = response.json()
    assert env['SERVER_PROTOCOL'] == 'HTTP/2'
    # No host header in HTTP/2: it comes from :authority.
    assert env['HTTP_HOST'] == f'{client.base_url.host}:{client.base_url.port}'
    assert env['HTTP_COOKIE'] == 'a=1'


def test_streams_both_ways_over_http2(client: httpx.Client) -> None:
    data = bytes(range(256)) * 12_000
    response = client.post(
        '/hash', content=iter([data[index : index + 50_000] for index in range(0, len(data), 50_000)])
    )
    assert response.json() == {'size': len(data), 'sha256': hashlib.sha256(data).hexdigest()}
    response = client.get('/stream', params={'size': 3_000_000, 'tag': 'h2'})
    assert response.content == b'x' * 3_000_000


def test_failure_over_http2(client: httpx.Client) -> None:
    response = client.get('/boom')
    assert response.status_code == 500
    assert response.content == b''
    assert client.get('/write').content == b'one,two,three'
