"""The ASGI interface end to end: a real server process, real clients (httpx, curl)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.poll import eventually
from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'


@pytest.fixture(scope='module')
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    marker = tmp_path_factory.mktemp('lifespan') / 'marker'
    proc = api_server(
        'asgi_inspector:app',
        interface='asgi',
        working_dir=str(APPS),
        env={'LIFESPAN_MARKER': str(marker)},
    ).ready()
    yield proc
    assert proc.stop() == 0
    assert 'shutdown' in marker.read_text()


@pytest.fixture(scope='module')
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def observed(client: httpx.Client, key: str) -> object:
    return client.get('/observed', params={'key': key}).json()


def test_scope(client: httpx.Client, server: ServerProcess) -> None:
    response = client.get('/scope?a=1&b=%20', headers={'X-Multi': 'one'})
    assert response.status_code == 200
    scope = response.json()
    assert scope['type'] == 'http'
    assert scope['asgi'] == {'version': '3.0', 'spec_version': '2.4'}
    assert scope['extensions'] == {'http.response.pathsend': {}, 'websocket.http.response': {}}
    assert scope['http_version'] == '1.1'
    assert scope['method'] == 'GET'
    assert scope['scheme'] == 'http'
    # Upstream's quirk, kept for compatibility: ports are strings.
    assert scope['server'] == ['127.0.0.1', str(server.port)]
    assert scope['client'][0] == '127.0.0.1'
    assert isinstance(scope['client'][1], str) and scope['client'][1].isdigit()
    assert scope['root_path'] == ''
    assert scope['path'] == '/scope'
    assert scope['raw_path'] == '/scope'
    assert scope['query_string'] == 'a=1&b=%20'
    assert ['x-multi', 'one'] in scope['headers']
    assert all(name == name.lower() for name, _ in scope['headers'])
    assert scope['state']['started'] is True


def test_path_is_percent_decoded_lossy_utf8(client: httpx.Client) -> None:
    scope = client.get('/sc%6Fpe').json()
    assert scope['path'] == '/scope'
    assert scope['raw_path'] == '/sc%6Fpe'
    response = client.get('/%c0')
    assert response.status_code == 404  # the app routes on the decoded path '/\ufffd'


def test_http10_version_is_reported_as_1(server: ServerProcess) -> None:
    with socket.create_connection(('127.0.0.1', server.port)) as sock:
        sock.sendall(b'GET /scope HTTP/1.0\r\n\r\n')
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.0 200 OK')
    assert json.loads(body)['http_version'] == '1'


def test_state_is_copied_per_request(client: httpx.Client) -> None:
    assert client.get('/state').json() == {'leaked': False, 'started': True}
    assert client.get('/state').json() == {'leaked': False, 'started': True}


def test_echo_streams_request_body(client: httpx.Client) -> None:
    payload = b'0123456789' * 100_000

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    response = client.post('/echo', content=chunks())
    assert response.content == payload
    messages = observed(client, 'echo_messages')
    assert isinstance(messages, list)
    assert all(kind == 'http.request' for kind, _, _ in messages)
    assert messages[-1][2] is False
    assert sum(size for _, size, _ in messages) == len(payload)


def test_bodyless_request_gives_one_message(client: httpx.Client) -> None:
    client.post('/echo')
    assert observed(client, 'echo_messages') == [['http.request', 0, False]]


def test_disconnect_after_response_completes(client: httpx.Client) -> None:
    assert client.get('/after-response').text == 'done'
    result = eventually(lambda: observed(client, 'after_response'), lambda value: value is not None, what='the end')
    assert result == 'http.disconnect'


def test_disconnect_when_client_leaves(server: ServerProcess, client: httpx.Client) -> None:
    with socket.create_connection(('127.0.0.1', server.port)) as sock:
        sock.sendall(b'GET /wait-disconnect HTTP/1.1\r\nHost: x\r\n\r\n')
        eventually(lambda: observed(client, 'wait_disconnect'), lambda value: value == 'waiting', what='the request')
    result = eventually(lambda: observed(client, 'wait_disconnect'), lambda value: value != 'waiting', what='the end')
    assert result == 'http.disconnect'


def test_streamed_response(client: httpx.Client) -> None:
    response = client.get('/stream?n=4')
    assert response.headers['transfer-encoding'] == 'chunked'
    assert response.text == 'chunk0;chunk1;chunk2;chunk3;end'


def test_large_response(client: httpx.Client) -> None:
    response = client.get('/big?size=5000000')
    assert response.headers['content-length'] == '5000000'
    assert len(response.content) == 5_000_000


def test_event_stream_head_is_sent_at_once(server: ServerProcess) -> None:
    with socket.create_connection(('127.0.0.1', server.port), timeout=5) as sock:
        sock.sendall(b'GET /sse?delay=2 HTTP/1.1\r\nHost: x\r\n\r\n')
        started = time.monotonic()
        head = sock.recv(65536)
        # The head arrives before the app sends its first event (2 s later).
        assert time.monotonic() - started < 1.5
        assert head.startswith(b'HTTP/1.1 200 OK')
        assert b'content-type: text/event-stream' in head


@pytest.mark.parametrize('path', ['/raise', '/nothing', '/start-only'])
def test_app_failure_or_no_response_is_500(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 500
    assert response.text == 'Internal server error'
    assert response.headers['server'] == 'granian'


def test_failure_mid_body_cuts_the_response(server: ServerProcess) -> None:
    with socket.create_connection(('127.0.0.1', server.port), timeout=5) as sock:
        sock.sendall(b'GET /raise-after-start HTTP/1.1\r\nHost: x\r\n\r\n')
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b'HTTP/1.1 200 OK')
    assert b'partial' in data
    assert not data.endswith(b'0\r\n\r\n')  # no terminating chunk: the client sees a cut body


def test_stream_without_final_body_is_ended(client: httpx.Client) -> None:
    assert client.get('/stream-no-end').text == 'open'


def test_flow_error_texts(client: httpx.Client) -> None:
    assert client.get('/double-start').text == 'ASGI flow error: Response already started'
    assert client.get('/body-before-start').text == 'ASGI flow error: Response not started'
    assert client.get('/unsupported').text == 'Unsupported ASGI message'
    assert client.get('/missing-status').text == 'Unsupported ASGI message'
    assert client.get('/body-after-finish').text == 'first'
    assert observed(client, 'body_after_finish') == 'ASGI flow error: Response already finished'


def test_invalid_response_header_becomes_500(client: httpx.Client) -> None:
    response = client.get('/bad-header')
    assert response.status_code == 500
    assert 'x-injected' not in response.headers


def test_pathsend(client: httpx.Client, tmp_path: Path) -> None:
    small = tmp_path / 'small.bin'
    small.write_bytes(b'tiny file')
    large = tmp_path / 'large.bin'
    large.write_bytes(bytes(range(256)) * 8000)
    response = client.get('/pathsend', params={'file': str(small)})
    assert response.content == b'tiny file'
    assert response.headers['content-type'] == 'application/x-test'
    response = client.get('/pathsend', params={'file': str(large)})
    assert response.content == large.read_bytes()
    assert response.headers['content-length'] == str(large.stat().st_size)
    response = client.get('/pathsend', params={'file': str(tmp_path / 'missing')})
    assert response.status_code == 404
    assert response.text == 'Not found'


def test_keep_alive_and_many_requests_on_one_connection(client: httpx.Client) -> None:
    pids = {client.get('/pid').text for _ in range(50)}
    assert len(pids) == 1


def test_curl(server: ServerProcess, tmp_path: Path) -> None:
    curl = shutil.which('curl')
    assert curl, 'curl is required'
    result = subprocess.run([curl, '-s', '-i', f'{server.url}/stream?n=2'], capture_output=True, check=True, timeout=10)
    assert b'transfer-encoding: chunked' in result.stdout
    assert result.stdout.endswith(b'chunk0;chunk1;end')
    upload = tmp_path / 'upload'
    upload.write_bytes(b'z' * 300_000)
    result = subprocess.run(
        [curl, '-s', '-H', 'Transfer-Encoding: chunked', '--data-binary', f'@{upload}', f'{server.url}/echo'],
        capture_output=True,
        check=True,
        timeout=10,
    )
    assert result.stdout == upload.read_bytes()
    result = subprocess.run(
        [curl, '-s', '--http1.0', '-i', f'{server.url}/scope'], capture_output=True, check=True, timeout=10
    )
    assert result.stdout.startswith(b'HTTP/1.0 200 OK')
