"""PEP 3333 conformance: an app wrapped in ``wsgiref.validate.validator``, served end to end."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

WSGIServer = Any  # conftest.WSGIServer; test modules cannot import conftest


@pytest.fixture(scope='module')
def server(start_server: Callable[..., WSGIServer]) -> WSGIServer:
    return start_server('validated:app')


@pytest.fixture(scope='module')
def client(server: WSGIServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=20) as http:
        yield http


def test_get(client: httpx.Client) -> None:
    response = client.get('/', params={'q': '1'})
    assert response.status_code == 200
    assert response.content == b'validated'


def test_head(client: httpx.Client) -> None:
    assert client.head('/').status_code == 200


@pytest.mark.parametrize('streamed', [False, True])
def test_upload(client: httpx.Client, streamed: bool) -> None:
    payload = b'first line\n' + bytes(range(256)) * 400
    content: Any = payload
    if streamed:
        content = iter([payload[index : index + 3000] for index in range(0, len(payload), 3000)])
    response = client.post('/upload', content=content, headers={'content-type': 'application/octet-stream'})
    assert response.status_code == 200
    rest = hashlib.sha256(payload).hexdigest()
    assert response.text == f"b'first line\\n' {rest}"


def test_readlines(client: httpx.Client) -> None:
    response = client.post('/lines', content=b'a\nb\nc')
    assert response.text == '3'


def test_streamed_body(client: httpx.Client) -> None:
    response = client.get('/stream')
    assert response.content == b''.join(b'chunk %d\n' % index for index in range(100))


def test_write_callable(client: httpx.Client) -> None:
    assert client.get('/write').content == b'written returned'


def test_file_wrapper(client: httpx.Client) -> None:
    assert client.get('/file').content == b'file body ' * 100


def test_no_content(client: httpx.Client) -> None:
    response = client.get('/empty')
    assert response.status_code == 204
    assert response.content == b''


def test_validator_found_nothing(client: httpx.Client, server: WSGIServer) -> None:
    # Runs last in this module: every request above went through the validator's checks.
    assert client.get('/').status_code == 200
    output = server.output
    for sign in ('AssertionError', 'WSGIWarning', 'Exception ignored', 'Traceback'):
        assert sign not in output, output
