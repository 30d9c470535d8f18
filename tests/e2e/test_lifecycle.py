"""The server process from start to exit: lifespan outcomes, graceful shutdown, failures, binds."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from testkit.poll import eventually
from testkit.process import api_server

APPS = Path(__file__).parent / 'apps'


def test_sigterm_during_a_slow_request_still_completes_it(tmp_path: Path) -> None:
    marker = tmp_path / 'marker'
    server = api_server(
        'asgi_inspector:app', interface='asgi', working_dir=str(APPS), env={'LIFESPAN_MARKER': str(marker)}
    ).ready()
    results: list[httpx.Response] = []
    serving = tmp_path / 'serving'
    thread = threading.Thread(
        target=lambda: results.append(
            httpx.get(f'{server.url}/slow', params={'delay': 1.5, 'marker': str(serving)}, timeout=10)
        ),
        daemon=True,
    )
    thread.start()
    eventually(serving.exists, what='the request to be served')
    assert server.stop(signal.SIGTERM) == 0
    thread.join(5)
    assert results and results[0].status_code == 200
    assert results[0].text == 'slow done'
    assert results[0].headers['connection'] == 'close'
    # Lifespan shutdown runs after the last request, and sees the state cleared first.
    assert marker.read_text() == 'shutdown state=[]\n'
    assert 'Shutting down granian' in server.output
    assert 'Granian shutdown completed, see ya!' in server.output


def test_new_connections_are_refused_after_shutdown_starts(tmp_path: Path) -> None:
    server = api_server('asgi_inspector:app', interface='asgi', working_dir=str(APPS)).ready()
    serving = tmp_path / 'serving'
    with socket.create_connection(('127.0.0.1', server.port), timeout=10) as slow:
        slow.sendall(f'GET /slow?delay=1.5&marker={quote(str(serving))} HTTP/1.1\r\nHost: x\r\n\r\n'.encode())
        eventually(serving.exists, what='the request to be served')
        server.send_signal(signal.SIGTERM)
        server.wait_for('Stopping worker-1')
        with pytest.raises(httpx.TransportError):
            httpx.get(f'{server.url}/pid', timeout=2)
        data = b''
        while chunk := slow.recv(65536):
            data += chunk
    assert data.startswith(b'HTTP/1.1 200 OK') and data.endswith(b'slow done')
    assert server.proc.wait(20) == 0
    server.stop()


def test_sigint_stops_gracefully() -> None:
    server = api_server('asgi_inspector:app', interface='asgi', working_dir=str(APPS)).ready()
    assert httpx.get(f'{server.url}/pid').status_code == 200
    assert server.stop(signal.SIGINT) == 0


def test_lifespan_startup_failure_exits_1() -> None:
    server = api_server('asgi_lifespan_failed:app', interface='asgi', working_dir=str(APPS))
    code = server.proc.wait(20)
    server.kill()
    assert code == 1
    assert 'ASGI lifespan startup failed' in server.output
    assert 'database unreachable' in server.output
    assert 'Unexpected exit from worker-1' in server.output


def test_app_without_lifespan_support_is_served_with_a_warning() -> None:
    server = api_server('asgi_no_lifespan:app', interface='asgi', working_dir=str(APPS)).ready()
    try:
        assert httpx.get(f'{server.url}/').text == 'lifespan,http'
        assert 'ASGI Lifespan errored, continuing without Lifespan support' in server.output
    finally:
        assert server.stop() == 0


def test_asginl_never_calls_lifespan() -> None:
    server = api_server('asgi_no_lifespan:app', interface='asginl', working_dir=str(APPS)).ready()
    try:
        assert httpx.get(f'{server.url}/').text == 'http'
        assert 'Lifespan' not in server.output
    finally:
        assert server.stop() == 0


def test_worker_dying_unexpectedly_exits_1() -> None:
    server = api_server('asgi_inspector:app', interface='asgi', working_dir=str(APPS)).ready()
    (worker_pid,) = server.worker_pids()
    os.kill(worker_pid, signal.SIGKILL)
    assert server.proc.wait(20) == 1
    server.stop()
    assert 'Unexpected exit from worker-1' in server.output


@pytest.mark.parametrize(
    ('target', 'message'),
    [
        ('no_such_module:app', "Could not import 'no_such_module'."),
        ('asgi_inspector:missing', "has no attribute 'missing'"),
    ],
)
def test_bad_target_exits_1(target: str, message: str) -> None:
    server = api_server(target, interface='asgi', working_dir=str(APPS))
    assert server.proc.wait(20) == 1
    server.stop()
    assert message in server.output
    assert 'Unexpected exit from worker-1' in server.output


def test_import_error_inside_the_target_is_reported(tmp_path: Path) -> None:
    (tmp_path / 'broken_app.py').write_text('import not_installed_anywhere\n')
    server = api_server('broken_app:app', interface='asgi', working_dir=str(tmp_path))
    assert server.proc.wait(20) == 1
    server.stop()
    assert "While importing 'broken_app', an ImportError was raised" in server.output


def test_target_as_a_file_path_and_factory(tmp_path: Path) -> None:
    package = tmp_path / 'pkg'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'factory_app.py').write_text(
        'def create():\n'
        '    async def app(scope, receive, send):\n'
        "        await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
        "        await send({'type': 'http.response.body', 'body': __name__.encode()})\n"
        '    return app\n'
    )
    server = api_server(f'{package / "factory_app.py"}:create', interface='asginl', factory=True, cwd=tmp_path).ready()
    try:
        # The file path becomes a dotted module name because pkg/ is a package.
        assert httpx.get(server.url).text == 'pkg.factory_app'
    finally:
        assert server.stop() == 0


def test_several_workers_share_the_listener() -> None:
    server = api_server('asgi_inspector:app', interface='asgi', working_dir=str(APPS), workers=2).ready()
    try:
        server.wait_for('Started worker-2')
        assert len(server.worker_pids()) == 2
        pids = set()
        for _ in range(40):
            with httpx.Client(base_url=server.url) as client:
                pids.add(int(client.get('/pid').text))
            if len(pids) == 2:
                break
        assert pids <= set(server.worker_pids())
    finally:
        assert server.stop() == 0


def test_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / 'granian.sock'
    server = api_server('asgi_inspector:app', interface='asgi', working_dir=str(APPS), uds=path, uds_permissions=0o600)
    server.ready()
    try:
        assert server.url == f'unix:{path}'
        assert path.stat().st_mode & 0o777 == 0o600
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url='http://granian') as client:
            scope = client.get('/scope').json()
        assert scope['server'] == [str(path), '0']
        assert scope['client'] is None
    finally:
        assert server.stop() == 0
    assert not path.exists()


def test_ipv6() -> None:
    try:
        socket.create_server(('::1', 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.fail('IPv6 loopback is not available on this machine')
    server = api_server('asgi_inspector:app', interface='asgi', working_dir=str(APPS), address='::1').ready()
    try:
        assert server.url.startswith('http://[::1]:')
        scope = httpx.get(f'{server.url}/scope').json()
        assert scope['server'] == ['::1', str(server.port)]
        assert scope['client'][0] == '::1'
    finally:
        assert server.stop() == 0


def test_access_log_with_every_atom() -> None:
    fmt = (
        '%(addr)s|%(time)s|%(dt_ms).3f|%(status)d|%(path)s|%(query_string)s|%(method)s|%(scheme)s|%(protocol)s|'
        '%(header{User-Agent})s|%(header{X-Missing})s'
    )
    server = api_server(
        'asgi_inspector:app', interface='asgi', working_dir=str(APPS), log_access=True, log_access_format=fmt
    ).ready()
    try:
        httpx.get(f'{server.url}/scope?x=1', headers={'User-Agent': 'atom-test'})
        line = server.wait_for(r'atom-test').string
    finally:
        assert server.stop() == 0
    addr, when, dt_ms, status, path, query, method, scheme, protocol, agent, missing = line.split('|')
    assert addr == '127.0.0.1'
    assert time.strptime(when, '%Y-%m-%d %H:%M:%S %z')
    assert float(dt_ms) >= 0
    assert (status, path, method, scheme, protocol) == ('200', '/scope', 'GET', 'http', 'HTTP/1.1')
    assert query == "b'x=1'"  # ASGI passes the scope's bytes, as upstream does
    assert (agent, missing) == ('atom-test', '-')


def test_default_access_log_format() -> None:
    server = api_server('asgi_inspector:app', interface='asgi', working_dir=str(APPS), log_access=True).ready()
    try:
        httpx.get(f'{server.url}/pid')
        line = server.wait_for(r'"GET /pid HTTP/1.1" 200').string
    finally:
        assert server.stop() == 0
    assert line.startswith('[') and '] 127.0.0.1 - "GET /pid HTTP/1.1" 200 ' in line


def test_url_path_prefix_is_the_root_path() -> None:
    server = api_server('asgi_inspector:app', interface='asgi', working_dir=str(APPS), url_path_prefix='/api').ready()
    try:
        scope = httpx.get(f'{server.url}/scope').json()
        assert scope['root_path'] == '/api'
    finally:
        assert server.stop() == 0
