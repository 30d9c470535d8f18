"""The three wrappers behind our real server (ASGI, WSGI, RSGI), with httpx playing the proxy.

The servers run the echo apps in tests/proxies/apps/, where the first path segment picks a
differently configured wrapper. Requests come from loopback, so ``/trusted`` believes them and
``/untrusted`` (10.0.0.0/8) does not. One server process per interface (and one on ::1 for ASGI).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

APPS = Path(__file__).resolve().parent / 'apps'


class Server:
    """One granian process serving ``target`` (a module in apps/) on a free port of ``address``."""

    def __init__(self, target: str, interface: str, address: str = '127.0.0.1') -> None:
        code = (
            'from granian import Granian; '
            f'Granian({target!r}, interface={interface!r}, address={address!r}, port=0, '
            f'working_dir={str(APPS)!r}).serve()'
        )
        self.proc = subprocess.Popen(
            [sys.executable, '-c', code],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, 'PYTHONUNBUFFERED': '1'},
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.url = ''
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(30) or not self.url:
            self.stop()
            raise AssertionError('the server did not start:\n' + '\n'.join(self.lines))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip('\n'))
            listening = re.search(r'Listening at: (\S+)', line)
            if listening:
                self.url = listening.group(1)
            if 'Started worker-' in line:
                self._ready.set()
        self._ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only what it spawned
                self.proc.wait(5)

    def get(self, path: str, headers: Any = None) -> dict[str, Any]:
        response = httpx.get(self.url + path, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def _serving(target: str, interface: str, address: str = '127.0.0.1') -> Iterator[Server]:
    running = Server(target, interface, address)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope='module')
def server() -> Iterator[Server]:
    yield from _serving('echo_client:app', 'asgi')


@pytest.fixture(scope='module')
def server_v6() -> Iterator[Server]:
    yield from _serving('echo_client:app', 'asgi', '::1')


@pytest.fixture(scope='module')
def wsgi_server() -> Iterator[Server]:
    yield from _serving('echo_client_wsgi:app', 'wsgi')


@pytest.fixture(scope='module')
def rsgi_server() -> Iterator[Server]:
    yield from _serving('echo_client_rsgi:app', 'rsgi')


# -- ASGI --------------------------------------------------------------------------------------


def test_without_forwarding_headers_the_peer_is_the_client(server: Server) -> None:
    seen = server.get('/trusted')
    host, port = seen['client']
    assert host == '127.0.0.1'
    assert isinstance(port, str) and int(port) > 0  # our server's own scope: port as a string
    assert seen['scheme'] == 'http'


def test_lifespan_scope_reaches_the_app_untouched(server: Server) -> None:
    assert server.get('/trusted')['lifespan_scope_keys'] == ['asgi', 'state', 'type']


def test_trusted_peer_x_forwarded_for_and_proto(server: Server) -> None:
    seen = server.get('/trusted', {'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https'})
    assert seen['client'] == ['203.0.113.7', 0]
    assert seen['scheme'] == 'https'


def test_untrusted_peer_headers_change_nothing(server: Server) -> None:
    headers = {'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example'}
    seen = server.get('/untrusted', headers)
    assert seen['client'][0] == '127.0.0.1'
    assert seen['scheme'] == 'http'
    assert seen['host'] == [server.url.removeprefix('http://')]


def test_proto_without_forwarded_for_is_ignored(server: Server) -> None:
    seen = server.get('/trusted', {'X-Forwarded-Proto': 'https'})
    assert seen['client'][0] == '127.0.0.1'
    assert seen['scheme'] == 'http'


def test_right_most_untrusted_entry_wins_over_a_prepended_one(server: Server) -> None:
    # 1.2.3.4 is what a client forged; 203.0.113.7 is what the trusted proxy (us) appended.
    headers = [('X-Forwarded-For', '1.2.3.4'), ('X-Forwarded-For', '203.0.113.7, 127.0.0.1')]
    assert server.get('/trusted', headers)['client'] == ['203.0.113.7', 0]


def test_trust_all_takes_the_left_most_entry(server: Server) -> None:
    assert server.get('/trust-all', {'X-Forwarded-For': '1.2.3.4, 203.0.113.7'})['client'] == ['1.2.3.4', 0]


def test_x_forwarded_host_and_port(server: Server) -> None:
    headers = {
        'X-Forwarded-For': '203.0.113.7',
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'example.com',
        'X-Forwarded-Port': '8443',
    }
    seen = server.get('/hosts', headers)
    assert seen['host'] == ['example.com:8443']
    assert seen['server'] == ['example.com', '8443']
    assert seen['scheme'] == 'https'


def test_rfc_7239_forwarded(server: Server) -> None:
    headers = [
        ('Forwarded', 'for=1.2.3.4;proto=http;host=evil.example'),
        ('Forwarded', 'for="[2001:db8::7]:4711";proto=https;host=example.com, for=127.0.0.1'),
    ]
    seen = server.get('/rfc7239', headers)
    assert seen['client'] == ['2001:db8::7', 4711]
    assert seen['scheme'] == 'https'
    assert seen['host'] == ['example.com']
    assert seen['server'] == ['example.com', '443']


def test_rfc_7239_from_an_untrusted_peer_changes_nothing(server: Server) -> None:
    seen = server.get('/untrusted', {'Forwarded': 'for=1.2.3.4;proto=https'})
    assert (seen['client'][0], seen['scheme']) == ('127.0.0.1', 'http')


def _websocket_echo(server: Server, path: str, headers: dict[str, str]) -> dict[str, Any]:
    url = 'ws' + server.url.removeprefix('http') + path
    with connect(url, additional_headers=headers, open_timeout=10) as websocket:
        message = websocket.recv(timeout=10)
    result: dict[str, Any] = json.loads(message)
    return result


def test_websocket_scheme_maps_to_wss(server: Server) -> None:
    seen = _websocket_echo(server, '/trusted', {'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https'})
    assert (seen['client'], seen['scheme']) == (['203.0.113.7', 0], 'wss')


def test_websocket_rfc_7239_with_host(server: Server) -> None:
    seen = _websocket_echo(server, '/rfc7239', {'Forwarded': 'for=203.0.113.7;proto=http;host=example.com'})
    assert (seen['client'], seen['scheme'], seen['host']) == (['203.0.113.7', 0], 'ws', ['example.com'])


def test_websocket_from_an_untrusted_peer_changes_nothing(server: Server) -> None:
    seen = _websocket_echo(server, '/untrusted', {'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https'})
    assert (seen['client'][0], seen['scheme']) == ('127.0.0.1', 'ws')


def test_ipv6_peer(server_v6: Server) -> None:
    seen = server_v6.get('/trusted', {'X-Forwarded-For': '2001:db8::7', 'X-Forwarded-Proto': 'https'})
    assert seen['client'] == ['2001:db8::7', 0]
    assert seen['scheme'] == 'https'
    seen = server_v6.get('/untrusted', {'X-Forwarded-For': '2001:db8::7'})
    assert seen['client'][0] == '::1'


# -- WSGI --------------------------------------------------------------------------------------


def test_wsgi_trusted_peer(wsgi_server: Server) -> None:
    seen = wsgi_server.get('/trusted', {'X-Forwarded-For': '1.2.3.4, 203.0.113.7', 'X-Forwarded-Proto': 'https'})
    assert (seen['REMOTE_ADDR'], seen['wsgi.url_scheme']) == ('203.0.113.7', 'https')


def test_wsgi_untrusted_peer_changes_nothing(wsgi_server: Server) -> None:
    seen = wsgi_server.get('/untrusted', {'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https'})
    assert (seen['REMOTE_ADDR'], seen['wsgi.url_scheme']) == ('127.0.0.1', 'http')


def test_wsgi_repeated_x_forwarded_for_lines(wsgi_server: Server) -> None:
    headers = [('X-Forwarded-For', '1.2.3.4'), ('X-Forwarded-For', '203.0.113.7')]
    assert wsgi_server.get('/trusted', headers)['REMOTE_ADDR'] == '203.0.113.7'


def test_wsgi_x_forwarded_host(wsgi_server: Server) -> None:
    headers = {'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'example.com'}
    seen = wsgi_server.get('/hosts', headers)
    assert (seen['HTTP_HOST'], seen['SERVER_NAME'], seen['SERVER_PORT']) == ('example.com', 'example.com', '443')


def test_wsgi_rfc_7239_over_two_header_lines(wsgi_server: Server) -> None:
    # The server joins the lines with ','; the attacker's open quote must not swallow ours.
    headers = [('Forwarded', 'for="1.2.3.4'), ('Forwarded', 'for=203.0.113.7;proto=https;host="example.com:8443"')]
    seen = wsgi_server.get('/rfc7239', headers)
    assert (seen['REMOTE_ADDR'], seen['wsgi.url_scheme']) == ('203.0.113.7', 'https')
    assert (seen['HTTP_HOST'], seen['SERVER_PORT']) == ('example.com:8443', '8443')


# -- RSGI --------------------------------------------------------------------------------------


def test_rsgi_hooks_reach_the_app_through_the_wrapper(rsgi_server: Server) -> None:
    seen = rsgi_server.get('/echo')
    assert seen['initialised'] is True
    assert seen['client'].startswith('127.0.0.1:')
    assert seen['scheme'] == 'http'


def test_rsgi_x_forwarded_for(rsgi_server: Server) -> None:
    seen = rsgi_server.get('/trusted', {'X-Forwarded-For': '1.2.3.4, 203.0.113.7', 'X-Forwarded-Proto': 'https'})
    assert (seen['client'], seen['scheme']) == ('203.0.113.7:0', 'https')


def test_rsgi_untrusted_peer_changes_nothing(rsgi_server: Server) -> None:
    seen = rsgi_server.get('/untrusted', {'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https'})
    assert seen['client'].startswith('127.0.0.1:')
    assert seen['scheme'] == 'http'


def test_rsgi_rfc_7239(rsgi_server: Server) -> None:
    headers = {'Forwarded': 'for="[2001:db8::7]:4711";proto=https;host=example.com'}
    seen = rsgi_server.get('/echo', headers)
    assert (seen['client'], seen['scheme'], seen['server'], seen['host']) == (
        '[2001:db8::7]:4711',
        'https',
        'example.com:443',
        ['example.com'],
    )


def test_rsgi_x_forwarded_host(rsgi_server: Server) -> None:
    headers = {'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Host': 'example.com', 'X-Forwarded-Port': '8080'}
    seen = rsgi_server.get('/hosts', headers)
    assert (seen['server'], seen['host']) == ('example.com:8080', ['example.com:8080'])
