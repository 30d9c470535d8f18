"""Real WSGI frameworks, Flask and Django, served end to end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

WSGIServer = Any  # conftest.WSGIServer; test modules cannot import conftest


@pytest.fixture(scope='module')
def download_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp('download') / 'payload.bin'
    path.write_bytes(bytes(range(256)) * 2048 + b'tail')
    return path


@pytest.fixture(scope='module')
def flask_client(start_server: Callable[..., WSGIServer], download_file: Path) -> Iterator[httpx.Client]:
    server = start_server('flask_app:app', env={'WSGI_TEST_FILE': str(download_file)})
    with httpx.Client(base_url=server.url, timeout=20) as client:
        yield client


@pytest.fixture(scope='module')
def django_server(start_server: Callable[..., WSGIServer], download_file: Path) -> WSGIServer:
    return start_server('django_app:application', env={'WSGI_TEST_FILE': str(download_file)}, url_path_prefix='/dj')


@pytest.fixture(scope='module')
def django_client(django_server: WSGIServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=django_server.url, timeout=20) as client:
        yield client


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# -- Flask -----------------------------------------------------------------------------------------


def test_flask_index(flask_client: httpx.Client) -> None:
    response = flask_client.get('/')
    assert response.status_code == 200
    assert response.text == 'flask says hi'
    assert response.headers['server'] == 'granian'


def test_flask_json(flask_client: httpx.Client) -> None:
    response = flask_client.post('/json', params={'a': '1'}, json={'hello': ['world', 1]})
    assert response.status_code == 200
    assert response.json() == {
        'body': {'hello': ['world', 1]},
        'args': {'a': '1'},
        'url': f'{flask_client.base_url}/'.replace('//localhost', '//localhost'),
    }


def test_flask_multipart(flask_client: httpx.Client) -> None:
    payload = b'\x00\x01' * 100_000
    response = flask_client.post('/form', data={'name': 'value'}, files={'upload': ('blob.bin', payload)})
    assert response.json() == {'name': 'value', 'filename': 'blob.bin', 'size': len(payload)}


def test_flask_chunked_upload(flask_client: httpx.Client) -> None:
    payload = b'z' * 300_000
    response = flask_client.post('/data', content=chunks(payload, 7000))
    assert response.json() == {'size': len(payload), 'chunked': True}


def test_flask_stream(flask_client: httpx.Client) -> None:
    response = flask_client.get('/stream', params={'count': 500})
    assert response.status_code == 200
    assert response.text == ''.join(f'line {index}\n' for index in range(500))


def test_flask_send_file(flask_client: httpx.Client, download_file: Path) -> None:
    response = flask_client.get('/download')
    assert response.status_code == 200
    assert response.headers['content-length'] == str(download_file.stat().st_size)
    assert response.content == download_file.read_bytes()


def test_flask_cookies(flask_client: httpx.Client) -> None:
    response = flask_client.get('/cookies', headers={'cookie': 'a=1; b=two'})
    assert response.json() == {'a': '1', 'b': 'two'}
    assert response.cookies['served'] == 'yes'


def test_flask_view_error_is_flasks_500(flask_client: httpx.Client) -> None:
    response = flask_client.get('/error')
    assert response.status_code == 500
    assert flask_client.get('/').status_code == 200


# -- Django ----------------------------------------------------------------------------------------


def test_django_index(django_client: httpx.Client) -> None:
    response = django_client.get('/dj/')
    assert response.status_code == 200
    assert response.text == 'django says hi'


def test_django_info_under_prefix(django_client: httpx.Client, django_server: WSGIServer) -> None:
    response = django_client.get('/dj/info', params=[('q', 'a'), ('q', 'b')], headers={'cookie': 'k=v'})
    assert response.status_code == 200
    host, port = django_server.address
    assert response.json() == {
        'method': 'GET',
        'path': '/dj/info',
        'path_info': '/info',
        'script_name': '/dj',
        'q': ['a', 'b'],
        'remote_addr': '127.0.0.1',
        'absolute': f'http://{host}:{port}/dj/info?q=a&q=b',
        'cookies': {'k': 'v'},
    }


def test_django_multipart(django_client: httpx.Client) -> None:
    payload = b'django upload ' * 50_000
    response = django_client.post('/dj/upload', data={'name': 'n'}, files={'upload': ('up.txt', payload)})
    assert response.json() == {'name': 'n', 'filename': 'up.txt', 'size': len(payload)}


def test_django_body(django_client: httpx.Client) -> None:
    response = django_client.post('/dj/body', content=b'b' * 123_456)
    assert response.json() == {'size': 123_456}


def test_django_streaming_response(django_client: httpx.Client) -> None:
    response = django_client.get('/dj/stream', params={'count': 1000})
    assert response.text == ''.join(f'row {index}\n' for index in range(1000))


def test_django_file_response(django_client: httpx.Client, download_file: Path) -> None:
    response = django_client.get('/dj/download')
    assert response.status_code == 200
    assert response.headers['content-length'] == str(download_file.stat().st_size)
    assert response.content == download_file.read_bytes()


def test_django_not_found(django_client: httpx.Client) -> None:
    assert django_client.get('/dj/missing').status_code == 404
