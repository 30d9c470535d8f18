"""The WSGI interface end to end with a plain app: environ, wsgi.input, responses, failures."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

WSGIServer = Any  # conftest.WSGIServer; test modules cannot import conftest

MULTILINE = b'first line\nsecond\n\nlast without newline'


@pytest.fixture(scope='module')
def server(start_server: Callable[..., WSGIServer]) -> WSGIServer:
    return start_server('basic:app', env={'WSGI_OS_MARKER': 'from-os', 'PATH_INFO': '/overridden'})


@pytest.fixture(scope='module')
def client(server: WSGIServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=20) as http:
        yield http


def raw_request(server: WSGIServer, data: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b''.join(chunks)
            chunks.append(chunk)


# -- environ ---------------------------------------------------------------------------------------


def test_environ_cgi_keys(client: httpx.Client, server: WSGIServer) -> None:
    response = client.get('/environ?a=1&b=%20x', headers={'X-Custom': 'value'})
    assert response.status_code == 200
    env = response.json()
    assert env['REQUEST_METHOD'] == 'GET'
    assert env['SCRIPT_NAME'] == ''
    # The request's keys win over os.environ (upstream #879).
    assert env['PATH_INFO'] == '/environ'
    assert env['QUERY_STRING'] == 'a=1&b=%20x'
    assert env['SERVER_PROTOCOL'] == 'HTTP/1.1'
    assert env['SERVER_NAME'] == '127.0.0.1'
    assert env['SERVER_PORT'] == str(server.address[1])
    assert env['REMOTE_ADDR'] == '127.0.0.1'
    assert env['REMOTE_PORT'].isdigit()
    assert env['GATEWAY_INTERFACE'] == 'CGI/1.1'
    assert env['SERVER_SOFTWARE'] == 'Granian'
    assert env['HTTP_X_CUSTOM'] == 'value'
    assert env['HTTP_HOST'] == f'127.0.0.1:{server.address[1]}'
    assert 'CONTENT_TYPE' not in env
    assert 'CONTENT_LENGTH' not in env
    # The worker's os.environ is part of every environ.
    assert env['WSGI_OS_MARKER'] == 'from-os'


def test_environ_wsgi_keys(client: httpx.Client) -> None:
    env = client.get('/environ').json()
    assert env['wsgi.version'] == [1, 0]
    assert env['wsgi.url_scheme'] == 'http'
    assert env['wsgi.multithread'] is True
    assert env['wsgi.multiprocess'] is False
    assert env['wsgi.run_once'] is False
    assert env['wsgi.input_terminated'] is True
    assert env['wsgi.file_wrapper'] is True
    assert env['wsgi.errors'] is True
    # The app runs on the blocking pool, never on the event loop's thread.
    assert env['thread'].startswith('granian-wsgi-')


def test_environ_header_joining(server: WSGIServer) -> None:
    raw = raw_request(
        server,
        b'POST /environ HTTP/1.1\r\nHost: example.test\r\nX-Multi: one\r\nX-Multi: two\r\n'
        b'Cookie: a=1\r\nCookie: b=2\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n'
        b'Connection: close\r\n\r\nabc',
    )
    head, _, body = raw.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200 ')
    env = json.loads(body)
    assert env['HTTP_X_MULTI'] == 'one,two'
    assert env['HTTP_COOKIE'] == 'a=1; b=2'
    assert env['CONTENT_TYPE'] == 'text/plain'
    assert env['CONTENT_LENGTH'] == '3'
    assert 'HTTP_CONTENT_TYPE' not in env
    assert 'HTTP_CONTENT_LENGTH' not in env
    assert env['HTTP_HOST'] == 'example.test'


def test_environ_path_latin1_and_http10(server: WSGIServer) -> None:
    raw = raw_request(server, b'GET /environ/caf%C3%A9/%2F?q=%C3%A9 HTTP/1.0\r\n\r\n')
    head, _, body = raw.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.0 200 ')
    env = json.loads(body)
    # Percent-decoded, then bytes as latin-1 (PEP 3333's "bytes as latin-1" strings).
    assert env['PATH_INFO'] == '/environ/caf\u00c3\u00a9//'
    assert env['QUERY_STRING'] == 'q=%C3%A9'
    assert env['SERVER_PROTOCOL'] == 'HTTP/1.0'
    assert 'HTTP_HOST' not in env


# -- wsgi.input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('op', 'expected'),
    [
        ('read', [MULTILINE.decode()]),
        ('read3', ['fir', 'st ', 'lin', 'e\ns', 'eco', 'nd\n', '\nla', 'st ', 'wit', 'hou', 't n', 'ewl', 'ine', '']),
        ('readline', ['first line\n', 'second\n', '\n', 'last without newline', '']),
        ('readline5', ['first', ' line', '\n', 'secon', 'd\n', '\n', 'last ', 'witho', 'ut ne', 'wline', '']),
        ('readlines', ['first line\n', 'second\n', '\n', 'last without newline']),
        ('readlines_hint', ['first line\n', '|second\n\nlast without newline']),
        ('iter', ['first line\n', 'second\n', '\n', 'last without newline']),
        ('mixed', ['fi', 'rst line\n', '', 'second\n\nlast without newline']),
    ],
)
@pytest.mark.parametrize('chunked', [False, True], ids=['whole', 'streamed'])
def test_input_stream(client: httpx.Client, op: str, expected: list[str], chunked: bool) -> None:
    if chunked:

        def body() -> Iterator[bytes]:
            # Split mid-line and mid-read so the stream has to stitch chunks together.
            for start in range(0, len(MULTILINE), 4):
                yield MULTILINE[start : start + 4]

        response = client.post('/input', params={'op': op}, content=body())
    else:
        response = client.post('/input', params={'op': op}, content=MULTILINE)
    assert response.status_code == 200
    assert response.json() == expected


def test_input_empty_body(client: httpx.Client) -> None:
    assert client.post('/input', params={'op': 'readline'}).json() == ['']
    assert client.get('/input', params={'op': 'read'}).json() == ['']


def test_input_expect_continue(server: WSGIServer) -> None:
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(
            b'POST /hash HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n'
        )
        # The app reading wsgi.input is what lets the client go on.
        assert sock.recv(1024).startswith(b'HTTP/1.1 100 Continue\r\n')
        sock.sendall(b'hello')
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b'HTTP/1.1 200 ')
    assert json.loads(data.partition(b'\r\n\r\n')[2])['size'] == 5


# -- responses ---------------------------------------------------------------------------------------


def test_list_body_has_content_length(client: httpx.Client) -> None:
    response = client.get('/')
    assert response.status_code == 200
    assert response.content == b'Hello, world!'
    assert response.headers['content-length'] == '13'
    assert response.headers['server'] == 'granian'
    assert 'transfer-encoding' not in response.headers


def test_generator_body_is_streamed(client: httpx.Client, server: WSGIServer, wait_until: Callable[..., Any]) -> None:
    size = 3 * 65536 + 7
    response = client.get('/stream', params={'size': size, 'tag': 'gen'})
    assert response.status_code == 200
    assert response.content == b'x' * size
    assert response.headers['transfer-encoding'] == 'chunked'
    wait_until(lambda: (server.shared / 'closed-gen').exists(), message='close() of the generator')


def test_generator_with_content_length(client: httpx.Client) -> None:
    size = 5 * 65536
    response = client.get('/stream', params={'size': size, 'length': '1', 'tag': 'len'})
    assert response.headers['content-length'] == str(size)
    assert 'transfer-encoding' not in response.headers
    assert response.content == b'x' * size


def test_write_callable(client: httpx.Client) -> None:
    response = client.get('/write')
    assert response.status_code == 200
    assert response.content == b'one,two,three'


def test_reason_text_is_replaced(server: WSGIServer) -> None:
    raw = raw_request(server, b'GET /reason HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert raw.startswith(b'HTTP/1.1 200 OK\r\n')


def test_iterable_close_is_called(client: httpx.Client, server: WSGIServer, wait_until: Callable[..., Any]) -> None:
    response = client.get('/closing', params={'tag': 'custom'})
    assert response.content == b'abc'
    wait_until(lambda: (server.shared / 'closed-custom').exists(), message='close() of the iterable')


def test_head_request(client: httpx.Client) -> None:
    response = client.head('/')
    assert response.status_code == 200
    assert response.headers['content-length'] == '13'
    assert response.content == b''


def test_invalid_headers_are_dropped(client: httpx.Client, server: WSGIServer) -> None:
    before = server.count(r'WSGI response header dropped.*x-euro')
    response = client.get('/bad_headers')
    assert response.status_code == 200
    assert response.content == b'ok'
    assert response.headers['x-good'] == 'yes'
    assert response.headers['x-also-good'] == 'fine'
    assert 'x-split' not in response.headers
    assert 'x-injected' not in response.headers
    assert 'x-euro' not in response.headers
    server.wait_for(r'WSGI response header dropped.*x-euro', more_than=before)


# -- failures ----------------------------------------------------------------------------------------


def test_exception_before_start_is_500(client: httpx.Client, server: WSGIServer) -> None:
    lines = ['Application callable raised an exception', 'RuntimeError: boom before start']
    before = [server.count(line) for line in lines]
    response = client.get('/boom')
    assert response.status_code == 500
    assert response.content == b''
    for line, count in zip(lines, before, strict=True):
        server.wait_for(line, more_than=count)
    # The worker goes on.
    assert client.get('/').status_code == 200


def test_exception_in_body_before_first_chunk_is_500(
    client: httpx.Client, server: WSGIServer, wait_until: Callable[..., Any]
) -> None:
    response = client.get('/boom_gen', params={'tag': 'early'})
    assert response.status_code == 500
    assert response.content == b''
    wait_until(lambda: (server.shared / 'closed-early').exists(), message='close() after the failure')


def test_exception_mid_body_closes_connection(server: WSGIServer, wait_until: Callable[..., Any]) -> None:
    raw = raw_request(server, b'GET /boom_gen?mid=1&tag=mid HTTP/1.1\r\nHost: x\r\n\r\n')
    head, _, body = raw.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200 ')
    assert b'transfer-encoding: chunked' in head
    # The body was cut: no last chunk, and the server closed the connection (recv returned b'').
    assert not body.endswith(b'0\r\n\r\n')
    wait_until(lambda: (server.shared / 'closed-mid').exists(), message='close() after the failure')


def test_exc_info_replaces_head_before_body(client: httpx.Client) -> None:
    response = client.get('/exc_info_before')
    assert response.status_code == 503
    assert response.headers['x-error'] == 'yes'
    assert response.content == b'handled'


def test_exc_info_after_body_reraises(server: WSGIServer) -> None:
    before = server.count('ValueError: too late')
    raw = raw_request(server, b'GET /exc_info_after HTTP/1.1\r\nHost: x\r\n\r\n')
    head, _, body = raw.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200 ')
    assert b'first' in body
    assert b'never' not in body
    assert not body.endswith(b'0\r\n\r\n')
    server.wait_for('ValueError: too late', more_than=before)


# -- wsgi.file_wrapper -------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp('files') / 'data.bin'
    path.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    return path


def test_file_wrapper_whole(client: httpx.Client, data_file: Path) -> None:
    response = client.get('/file', params={'path': str(data_file)})
    assert response.status_code == 200
    assert response.headers['content-length'] == str(data_file.stat().st_size)
    assert response.content == data_file.read_bytes()


def test_file_wrapper_from_position_and_length(client: httpx.Client, data_file: Path) -> None:
    response = client.get('/file', params={'path': str(data_file), 'offset': 1000, 'length': 70000})
    assert response.headers['content-length'] == '70000'
    assert response.content == data_file.read_bytes()[1000:71000]
    small = client.get('/file', params={'path': str(data_file), 'offset': 10, 'length': 20})
    assert small.content == data_file.read_bytes()[10:30]


def test_file_wrapper_over_bytesio_is_iterated(client: httpx.Client) -> None:
    response = client.get('/file_bytesio')
    assert response.content == b'in memory file ' * 1000


def test_keep_alive_across_responses(server: WSGIServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for path in ('/', '/stream?size=200000', '/write', '/closing', '/'):
            assert http.get(path).status_code == 200
