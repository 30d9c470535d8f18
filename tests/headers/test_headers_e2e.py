"""The response header options end to end: real servers (the API, the command, its variables) and
real clients (httpx and curl over HTTP/1.1 and h2c, websockets, a raw socket for a bad request).

Every response the server writes is checked: the app's (whole and streamed), a static file, the
server's 500 and 400, and the WebSocket 101. A field is never there twice, the app's own value
wins over a default, and the defaults are where the options say.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from websockets.sync.client import connect

from testkit.process import ServerProcess, api_server, cli_server

APPS = Path(__file__).parent / 'apps'
STATIC = '/static/headers_asgi.py'
CUSTOM = ['X-Frame-Options: DENY', 'Server: edge', "content-security-policy: default-src 'self'; img-src *"]
#: What the app sets itself when asked (?set=...): its values must be the only ones.
OVERRIDES = ['server:mine', 'x-frame-options:SAMEORIGIN', 'date:Thu, 01 Jan 1970 00:00:00 GMT']

Fields = dict[str, list[str]]


def start(**options: Any) -> ServerProcess:
    return api_server(
        'headers_asgi:app', interface='asginl', working_dir=str(APPS), static_path_mount=[APPS], **options
    ).ready()


@pytest.fixture(scope='module')
def default_server() -> Iterator[ServerProcess]:
    server = start()
    yield server
    assert server.stop() == 0


@pytest.fixture(scope='module')
def custom_server() -> Iterator[ServerProcess]:
    server = start(headers=CUSTOM)
    yield server
    assert server.stop() == 0


@pytest.fixture(scope='module')
def bare_server() -> Iterator[ServerProcess]:
    server = start(server_header=False, date_header=False)
    yield server
    assert server.stop() == 0


def fields(headers: httpx.Headers) -> Fields:
    out: Fields = {}
    for name, value in headers.multi_items():
        out.setdefault(name.lower(), []).append(value)
    return out


def httpx_get(server: ServerProcess, path: str, http2: bool) -> tuple[int, Fields]:
    with httpx.Client(http1=not http2, http2=http2, timeout=10) as client:
        response = client.get(server.url + path)
    assert response.http_version == ('HTTP/2' if http2 else 'HTTP/1.1')
    return response.status_code, fields(response.headers)


def curl_get(server: ServerProcess, path: str, http2: bool) -> tuple[int, Fields]:
    """curl's own view of the head (``-D -``), one line per field as it arrived."""
    args = ['curl', '-s', '-o', '/dev/null', '-D', '-', '--max-time', '10']
    args.append('--http2-prior-knowledge' if http2 else '--http1.1')
    result = subprocess.run([*args, server.url + path], capture_output=True, text=True, timeout=20, check=True)
    status_line, *lines = result.stdout.strip().splitlines()
    out: Fields = {}
    for line in lines:
        name, _, value = line.partition(':')
        out.setdefault(name.lower(), []).append(value.strip())
    return int(status_line.split()[1]), out


def raw_bad_request(server: ServerProcess) -> Fields:
    with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
        sock.sendall(b'NOT HTTP AT ALL\r\n\r\n')
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    status_line, *lines = data.split(b'\r\n\r\n')[0].decode('latin-1').split('\r\n')
    assert status_line.startswith('HTTP/1.1 400')
    out: Fields = {}
    for line in lines:
        name, _, value = line.partition(':')
        out.setdefault(name.lower(), []).append(value.strip())
    return out


def websocket_fields(server: ServerProcess, query: str = '') -> Fields:
    with connect(f'ws://127.0.0.1:{server.port}/ws{query}', open_timeout=10) as ws:
        assert ws.response is not None
        return {name.lower(): ws.response.headers.get_all(name) for name in ws.response.headers}


CLIENTS = {
    'httpx-h1': lambda server, path: httpx_get(server, path, False),
    'httpx-h2c': lambda server, path: httpx_get(server, path, True),
    'curl-h1': lambda server, path: curl_get(server, path, False),
    'curl-h2c': lambda server, path: curl_get(server, path, True),
}
#: path -> expected status: the app's whole and streamed responses, a static file, the server's 500.
PATHS = {'/': 200, '/stream': 200, STATIC: 200, '/crash': 500}


def one_date(found: Fields) -> None:
    assert len(found.get('date', [])) == 1, found
    assert found['date'][0].endswith(' GMT')


@pytest.mark.parametrize('client', CLIENTS)
@pytest.mark.parametrize('path', PATHS)
def test_by_default_server_granian_and_one_date(default_server: ServerProcess, client: str, path: str) -> None:
    status, found = CLIENTS[client](default_server, path)
    assert status == PATHS[path]
    assert found['server'] == ['granian']
    one_date(found)
    assert 'x-frame-options' not in found


@pytest.mark.parametrize('client', CLIENTS)
@pytest.mark.parametrize('path', PATHS)
def test_configured_headers_on_every_response(custom_server: ServerProcess, client: str, path: str) -> None:
    status, found = CLIENTS[client](custom_server, path)
    assert status == PATHS[path]
    assert found['server'] == ['edge']
    assert found['x-frame-options'] == ['DENY']
    assert found['content-security-policy'] == ["default-src 'self'; img-src *"]
    one_date(found)


@pytest.mark.parametrize('client', CLIENTS)
@pytest.mark.parametrize('path', ['/', '/stream'])
def test_the_apps_own_fields_win(custom_server: ServerProcess, client: str, path: str) -> None:
    _, found = CLIENTS[client](custom_server, path + '?' + urlencode([('set', item) for item in OVERRIDES]))
    assert found['server'] == ['mine']
    assert found['x-frame-options'] == ['SAMEORIGIN']
    assert found['date'] == ['Thu, 01 Jan 1970 00:00:00 GMT']
    assert found['content-security-policy'] == ["default-src 'self'; img-src *"]  # not set by the app: ours


@pytest.mark.parametrize('client', CLIENTS)
@pytest.mark.parametrize('path', PATHS)
def test_no_server_and_no_date(bare_server: ServerProcess, client: str, path: str) -> None:
    status, found = CLIENTS[client](bare_server, path)
    assert status == PATHS[path]
    assert 'server' not in found
    assert 'date' not in found


def test_the_apps_server_and_date_still_go_out_without_ours(bare_server: ServerProcess) -> None:
    query = '?' + urlencode([('set', 'server:mine'), ('set', 'date:Thu, 01 Jan 1970 00:00:00 GMT')])
    for http2 in (False, True):
        _, found = httpx_get(bare_server, query, http2)
        assert found['server'] == ['mine']
        assert found['date'] == ['Thu, 01 Jan 1970 00:00:00 GMT']


def test_server_errors_and_websocket_handshakes(
    default_server: ServerProcess, custom_server: ServerProcess, bare_server: ServerProcess
) -> None:
    found = raw_bad_request(custom_server)
    assert (found['server'], found['x-frame-options']) == (['edge'], ['DENY'])
    one_date(found)
    found = raw_bad_request(bare_server)
    assert 'server' not in found and 'date' not in found
    found = websocket_fields(default_server)
    assert found['server'] == ['granian']
    one_date(found)
    found = websocket_fields(custom_server, '?' + urlencode([('set', 'x-frame-options:SAMEORIGIN')]))
    assert (found['server'], found['x-frame-options']) == (['edge'], ['SAMEORIGIN'])
    found = websocket_fields(bare_server)
    assert 'server' not in found and 'date' not in found


@pytest.mark.parametrize('interface', ['rsgi', 'wsgi'])
def test_every_interface(interface: str) -> None:
    server = api_server(
        f'headers_{interface}:app', interface=interface, working_dir=str(APPS), headers=['x-frame-options:DENY']
    ).ready()
    try:
        for http2 in (False, True):
            _, found = httpx_get(server, '/', http2)
            assert (found['server'], found['x-frame-options']) == (['granian'], ['DENY'])
            one_date(found)
            _, found = httpx_get(server, '/?' + urlencode([('set', item) for item in OVERRIDES]), http2)
            assert (found['server'], found['x-frame-options']) == (['mine'], ['SAMEORIGIN'])
            assert found['date'] == ['Thu, 01 Jan 1970 00:00:00 GMT']
    finally:
        assert server.stop() == 0


def start_command(*args: str, env: dict[str, str]) -> ServerProcess:
    return cli_server(
        *('--interface', 'asginl', '--port', '0', '--loop', 'asyncio', '--working-dir', str(APPS)),
        *args,
        'headers_asgi:app',
        env=env,
    ).ready()


def test_the_command_and_its_variables() -> None:
    variables = {'GRANIAN_HEADER': 'x-one: 1\nx-two: two words'}
    server = start_command(
        '--no-date-header', '--header', 'x-frame-options: DENY', env={**variables, 'GRANIAN_SERVER_HEADER': 'false'}
    )
    try:
        for http2 in (False, True):
            _, found = curl_get(server, '/', http2)
            # The command line replaces the variable, as for every option.
            assert found['x-frame-options'] == ['DENY']
            assert 'x-one' not in found
            assert 'server' not in found and 'date' not in found
    finally:
        assert server.stop() == 0
    server = start_command(env={**variables, 'GRANIAN_DATE_HEADER': 'false'})
    try:
        for http2 in (False, True):
            _, found = curl_get(server, '/', http2)
            assert (found['x-one'], found['x-two']) == (['1'], ['two words'])
            assert found['server'] == ['granian']
            assert 'date' not in found
    finally:
        assert server.stop() == 0
