"""The RSGI HTTP interface end to end: a real server process, httpx and raw sockets as clients."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'
PROTOCOL_ERROR = {
    'type': 'ProtocolError',
    'message': 'RSGI protocol error',
    'is_protocol_error': True,
    'is_protocol_closed': False,
    'is_runtime_error': True,
}
PROTOCOL_CLOSED = {
    'type': 'ProtocolClosed',
    'message': 'RSGI transport is closed',
    'is_protocol_error': False,
    'is_protocol_closed': True,
    'is_runtime_error': True,
}


@pytest.fixture(scope='module')
def server() -> Iterator[ServerProcess]:
    proc = api_server('rsgi_inspector:app', interface='rsgi', working_dir=str(APPS), log_access=True).ready()
    try:
        yield proc
    finally:
        code = proc.stop()
    assert code == 0, proc.output


@pytest.fixture(scope='module')
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


@pytest.fixture(scope='module')
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp('rsgi-files')
    small = folder / 'small.txt'
    small.write_bytes(b'0123456789abcdefghij')
    # Above the size the exchange sends in one write, so the file is streamed in chunks.
    large = folder / 'large.bin'
    large.write_bytes(bytes(range(256)) * 1200)
    return {'small': small, 'large': large, 'missing': folder / 'missing.bin'}


def observed(client: httpx.Client, key: str) -> Any:
    return client.get('/observed', params={'key': key}).json()


def eventually(probe: Callable[[], Any], accept: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Poll ``probe`` until ``accept`` likes its value (or give up and return the last one)."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not accept(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = probe()
    return value


def raw_request(port: int, request: bytes, host: str = '127.0.0.1') -> bytes:
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    return data


# -- scope -----------------------------------------------------------------------------------------


def test_scope_attributes(client: httpx.Client, server: ServerProcess) -> None:
    response = client.get(
        '/scope?a=1&b=%20',
        headers=[('X-Multi', 'one'), ('X-Multi', 'two'), ('X-Latin', 'café'.encode('latin-1'))],
    )
    assert response.status_code == 200
    scope = response.json()
    assert scope['proto'] == 'http'
    assert scope['rsgi_version'] == '1.6'
    assert scope['http_version'] == '1.1'
    assert scope['server'] == f'127.0.0.1:{server.port}'
    assert re.fullmatch(r'127\.0\.0\.1:\d+', scope['client'])
    assert scope['scheme'] == 'http'
    assert scope['method'] == 'GET'
    assert scope['path'] == '/scope'
    assert scope['query_string'] == 'a=1&b=%20'
    assert scope['authority'] is None  # HTTP/1.1 has no :authority


def test_headers_mapping(client: httpx.Client) -> None:
    scope = client.get(
        '/scope', headers=[('X-Multi', 'one'), ('X-Multi', 'two'), ('X-Latin', 'café'.encode('latin-1'))]
    ).json()
    keys = scope['keys']
    assert keys.count('x-multi') == 1
    assert all(key == key.lower() for key in keys)
    assert {'host', 'x-multi', 'x-latin'} <= set(keys)
    assert scope['iter'] == keys
    assert scope['len'] == len(keys)
    assert ['x-multi', 'one'] in scope['items'] and ['x-multi', 'two'] in scope['items']
    assert len(scope['items']) == len(keys) + 1  # the repeated name counts once per value
    assert 'one' in scope['values'] and 'two' in scope['values']
    assert len(scope['values']) == len(scope['items'])
    assert scope['get'] == 'one'
    assert scope['get_default'] is None
    assert scope['get_custom_default'] == 'fallback'
    assert scope['get_all'] == ['one', 'two']
    assert scope['get_all_absent'] == []
    assert scope['getitem'] == 'one'
    assert scope['getitem_missing'] == "KeyError('x-absent')"
    assert scope['contains'] is True
    assert scope['contains_absent'] is False
    assert scope['latin1'] == 'café'


def test_path_is_percent_decoded_lossy_utf8(client: httpx.Client) -> None:
    assert client.get('/sc%6Fpe').json()['path'] == '/scope'
    response = client.get('/%c0')
    assert response.status_code == 404
    assert response.text == "no route for '/\ufffd'"


def test_http10_version(server: ServerProcess) -> None:
    data = raw_request(server.port, b'GET /scope HTTP/1.0\r\n\r\n')
    head, _, body = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.0 200 OK')
    assert json.loads(body)['http_version'] == '1'


def test_ipv6_addresses_are_bracketed() -> None:
    proc = api_server('rsgi_inspector:app', interface='rsgi', working_dir=str(APPS), address='::1').ready()
    try:
        port = int(proc.url.rsplit(':', 1)[1])
        scope = httpx.get(f'http://[::1]:{port}/scope', timeout=10).json()
        assert scope['server'] == f'[::1]:{port}'
        assert re.fullmatch(r'\[::1\]:\d+', scope['client'])
    finally:
        assert proc.stop() == 0, proc.output


# -- request body ----------------------------------------------------------------------------------


def test_await_protocol_reads_the_whole_body(client: httpx.Client) -> None:
    payload = b'0123456789' * 100_000

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    assert client.post('/echo', content=chunks()).content == payload
    assert client.post('/echo', content=b'short').content == b'short'
    assert client.post('/echo').content == b''


def test_async_iteration_ends_with_an_empty_chunk(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'abc'
        yield b'def'

    result = client.post('/echo-chunks', content=chunks()).json()
    assert result['body'] == 'abcdef'
    assert result['last'] == ''
    assert result['count'] >= 2
    assert client.get('/echo-chunks').json() == {'count': 1, 'last': '', 'body': ''}


@pytest.mark.parametrize('path', ['/body-twice', '/iter-then-call', '/call-then-iter', '/iter-twice'])
def test_body_can_be_read_once(client: httpx.Client, path: str) -> None:
    result = client.post(path, content=b'payload').json()
    assert result['error'] == PROTOCOL_ERROR
    if path == '/body-twice':
        assert result['first'] == 'payload'


@pytest.mark.parametrize('how', ['call', 'iter'])
def test_abandoned_body_raises_protocol_closed(server: ServerProcess, client: httpx.Client, how: str) -> None:
    key = f'read_abandoned_{how}'
    with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
        sock.sendall(
            f'POST /read-abandoned-body?how={how} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n'.encode()
            + b'only ten b'
        )
        assert eventually(lambda: observed(client, key), lambda value: value != 'missing') == 'reading'
    assert eventually(lambda: observed(client, key), lambda value: value != 'reading') == PROTOCOL_CLOSED


# -- responses ---------------------------------------------------------------------------------------


def test_response_empty(client: httpx.Client) -> None:
    response = client.get('/empty')
    assert response.status_code == 204
    assert response.headers['x-kind'] == 'empty'
    assert response.content == b''
    response = client.get('/empty-default')
    assert response.status_code == 200
    assert response.headers['content-length'] == '0'
    assert response.content == b''


def test_response_str(client: httpx.Client) -> None:
    response = client.get('/str')
    assert response.status_code == 201
    assert response.content == 'héllo ✓'.encode()
    assert response.headers.get_list('x-dup') == ['a', 'b']
    assert response.headers['server'] == 'granian'
    response = client.get('/str-default')
    assert (response.status_code, response.content) == (200, b'')


def test_response_bytes_defaults(client: httpx.Client) -> None:
    response = client.get('/bytes-default')
    assert (response.status_code, response.content) == (200, b'')
    assert response.headers['content-length'] == '0'


def test_head_request_gets_no_body(client: httpx.Client) -> None:
    response = client.head('/str')
    assert response.status_code == 201
    assert response.headers['content-length'] == str(len('héllo ✓'.encode()))
    assert response.content == b''


@pytest.mark.parametrize('name', ['small', 'large'])
def test_response_file(client: httpx.Client, files: dict[str, Path], name: str) -> None:
    response = client.get('/file', params={'path': str(files[name])})
    assert response.status_code == 200
    assert response.headers['content-type'] == 'application/octet-stream'
    assert response.content == files[name].read_bytes()


def test_response_file_missing_is_404(client: httpx.Client, files: dict[str, Path]) -> None:
    response = client.get('/file', params={'path': str(files['missing'])})
    assert response.status_code == 404


def test_response_file_is_sent_while_the_handler_runs(server: ServerProcess, files: dict[str, Path]) -> None:
    # The handler waits for the client to leave after calling response_file: the file must not
    # wait for the handler.
    with httpx.Client(base_url=server.url, timeout=10) as own:
        response = own.get('/file-then-wait', params={'path': str(files['large'])})
        assert response.content == files['large'].read_bytes()


def test_client_disconnect_resolves_after_a_complete_response(server: ServerProcess, files: dict[str, Path]) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as own:
        own.get('/file-then-wait', params={'path': str(files['small']), 'key': 'after'})
    with httpx.Client(base_url=server.url, timeout=10) as other:
        result = eventually(lambda: observed(other, 'file_then_wait_after'), lambda value: value != 'missing')
    assert result == 'disconnected'


@pytest.mark.parametrize(('name', 'start', 'end'), [('small', 3, 9), ('large', 1000, 200_000), ('small', 15, 100)])
def test_response_file_range(client: httpx.Client, files: dict[str, Path], name: str, start: int, end: int) -> None:
    response = client.get('/file-range', params={'path': str(files[name]), 'start': start, 'end': end})
    assert response.status_code == 206
    assert response.headers['content-range'] == f'bytes {start}-{end - 1}/*'
    assert response.content == files[name].read_bytes()[start:end]


@pytest.mark.parametrize(('start', 'end'), [(5, 5), (6, 5)])
def test_response_file_range_rejects_empty_ranges(
    client: httpx.Client, files: dict[str, Path], start: int, end: int
) -> None:
    response = client.get('/file-range-invalid', params={'path': str(files['small']), 'start': start, 'end': end})
    assert response.status_code == 400
    error = response.json()['error']
    assert (error['type'], error['message']) == ('ValueError', 'Invalid range')


def test_response_file_range_missing_file_is_404(client: httpx.Client, files: dict[str, Path]) -> None:
    response = client.get('/file-range', params={'path': str(files['missing']), 'start': 0, 'end': 10})
    assert response.status_code == 404


def test_response_stream(client: httpx.Client) -> None:
    response = client.get('/stream')
    assert response.status_code == 200
    assert response.headers['transfer-encoding'] == 'chunked'
    assert response.headers['content-type'] == 'text/plain'
    assert response.text == 'one,two,three'
    response = client.get('/stream-default')
    assert (response.status_code, response.text) == (200, 'x')


def test_second_response_stream_raises(client: httpx.Client) -> None:
    assert client.get('/stream-twice').json() == {'error': PROTOCOL_ERROR}


def test_only_the_first_response_counts(client: httpx.Client) -> None:
    response = client.get('/first-response-wins')
    assert response.status_code == 200
    assert response.headers['x-which'] == 'first'
    assert response.content == b'first'
    # Later calls were ignored silently, except response_stream.
    assert observed(client, 'first_response_wins') == PROTOCOL_ERROR


# -- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'path',
    ['/raise', '/no-response', '/bad-header', '/informational-status?status=103', '/informational-status?status=101'],
)
def test_failure_or_no_response_is_an_empty_500(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 500
    assert response.content == b''
    assert response.headers['content-length'] == '0'
    assert 'x-injected' not in response.headers


def test_values_of_the_wrong_type_raise_type_error(client: httpx.Client) -> None:
    # Found by the rsgi-messages fuzz target: byte or int headers and a non-str body raised
    # AttributeError, and a large str body to response_bytes left a head out with no body.
    response = client.get('/wrong-types')
    assert response.json() == {
        'bytes-headers': 'TypeError',
        'int-header-value': 'TypeError',
        'bytes-to-response-str': 'TypeError',
        'large-str-to-response-bytes': 'TypeError',
    }
    assert client.get('/bytes-default').status_code == 200  # the same connection goes on


def test_a_stream_send_of_the_wrong_type_sends_nothing(client: httpx.Client) -> None:
    # Found by the rsgi-messages fuzz target: send_bytes('abc') counted three bytes against the
    # content-length before the write failed, so the body ended short on a connection kept open.
    response = client.get('/stream-wrong-type')
    assert (response.status_code, response.content) == (200, b'abc')
    assert observed(client, 'stream_wrong_type') == 'TypeError'


def test_app_exception_is_logged(client: httpx.Client, server: ServerProcess) -> None:
    lines = ['Application callable raised an exception', 'RuntimeError: boom from the app']
    before = [server.count(line) for line in lines]
    client.get('/raise')
    for line, count in zip(lines, before, strict=True):
        server.wait_for(line, more_than=count)


def test_exception_after_responding_keeps_the_response(client: httpx.Client, server: ServerProcess) -> None:
    before = server.count('RuntimeError: late failure')
    response = client.get('/raise-after-response')
    assert (response.status_code, response.content) == (200, b'sent')
    server.wait_for('RuntimeError: late failure', more_than=before)


def test_exception_mid_stream_cuts_the_body(server: ServerProcess, client: httpx.Client) -> None:
    data = raw_request(server.port, b'GET /raise-mid-stream HTTP/1.1\r\nHost: x\r\n\r\n')
    assert data.startswith(b'HTTP/1.1 200 OK')
    assert b'partial' in data
    assert not data.endswith(b'0\r\n\r\n')  # no terminating chunk: the client sees a cut body
    assert client.get('/bytes-default').status_code == 200


# -- disconnects and flow control --------------------------------------------------------------------


def test_client_disconnect_resolves_when_the_client_leaves(server: ServerProcess, client: httpx.Client) -> None:
    with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
        sock.sendall(b'GET /wait-disconnect HTTP/1.1\r\nHost: x\r\n\r\n')
        data = b''
        while b'ready' not in data:
            data += sock.recv(65536)
    assert eventually(lambda: observed(client, 'wait_disconnect'), lambda value: value != 'missing') == 'disconnected'


def test_stream_waits_for_a_slow_client_then_raises_protocol_closed(
    server: ServerProcess, client: httpx.Client
) -> None:
    with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
        sock.sendall(b'GET /send-until-closed HTTP/1.1\r\nHost: x\r\n\r\n')
        assert eventually(lambda: observed(client, 'send_until_closed'), lambda value: value != 'missing') == 'sending'
        # The client reads nothing: the app must be left waiting in send_bytes, far below the cap.
        time.sleep(0.5)
        assert observed(client, 'send_until_closed') == 'sending'
    result = eventually(lambda: observed(client, 'send_until_closed'), lambda value: value != 'sending')
    assert result['error'] == PROTOCOL_CLOSED
    assert result['sent_mib'] < 64


# -- access log ------------------------------------------------------------------------------------


def test_access_log_records_the_status_sent(client: httpx.Client, server: ServerProcess) -> None:
    lines = [r'"GET /empty HTTP/1\.1" 204 ', r'"GET /no-response HTTP/1\.1" 500 ', r'"GET /file HTTP/1\.1" 404 ']
    before = [server.count(line) for line in lines]
    client.get('/empty')
    client.get('/no-response')
    client.get('/file', params={'path': '/nonexistent/rsgi-access-log'})
    for line, count in zip(lines, before, strict=True):
        server.wait_for(line, more_than=count)
