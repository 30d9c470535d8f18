"""The PROXY protocol end to end: real servers behind a real HAProxy (``send-proxy``, ``send-proxy-v2``).

Clients connect to HAProxy from 127.0.0.2, so the address the app must see (127.0.0.2 and the
client's own port, from HAProxy's header) differs from the socket's peer (HAProxy, on 127.0.0.1).
Each test looks at what the app saw: ASGI ``client`` over HTTP/1.1, h2c (``proto h2``) and
WebSockets, WSGI ``REMOTE_ADDR``, RSGI ``client``, TLS after the header (``ssl verify none``, with
ALPN ``h2`` too), the access log; and at what must never reach it: connections from untrusted
hosts, malformed headers, missing headers, a version not configured.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from proxy_protocol.headers import v1, v2, v2_inet
from testkit.certs import Certs
from testkit.poll import eventually
from testkit.process import ServerProcess, api_server, cli_server

APPS = Path(__file__).resolve().parent / 'apps'
CLIENT = '127.0.0.2'  # the client's address as HAProxy sees it (Linux routes all of 127/8 to lo)

# No skip when HAProxy is missing: these tests are the feature's proof (.ci/run installs it).
assert shutil.which('haproxy'), 'haproxy is needed (Debian package haproxy)'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port: int = sock.getsockname()[1]
        return port


class HAProxy:
    """``haproxy -db`` in the foreground, one frontend per backend ``server`` line given."""

    def __init__(self, directory: Path, servers: dict[str, str]) -> None:
        self.ports = {name: _free_port() for name in servers}
        config = [
            'defaults',
            '    mode http',
            '    timeout connect 5s',
            '    timeout client 30s',
            '    timeout server 30s',
            '    timeout tunnel 30s',
            '    retries 0',
            # A PROXY header describes one client: never share a server connection between two.
            '    http-reuse never',
        ]
        for name, server in servers.items():
            config += [
                f'frontend f_{name}',
                f'    bind 127.0.0.1:{self.ports[name]}',
                f'    default_backend b_{name}',
                f'backend b_{name}',
                f'    server s1 {server}',
            ]
        path = directory / 'haproxy.cfg'
        path.write_text('\n'.join(config) + '\n')
        self.proc = subprocess.Popen(
            ['haproxy', '-f', str(path), '-db'],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for port in self.ports.values():
            eventually(lambda port=port: self._accepts(port), what=f'haproxy listening on {port}')

    def _accepts(self, port: int) -> bool:
        assert self.proc.poll() is None, self.proc.communicate()[0]
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def get(port: int, path: str) -> tuple[int, dict[str, Any], int]:
    """GET through HAProxy from 127.0.0.2: status, the app's JSON, and the client's own port."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10, source_address=(CLIENT, 0))
    try:
        conn.request('GET', path)
        local_port: int = conn.sock.getsockname()[1]
        response = conn.getresponse()
        body = response.read()
        return response.status, json.loads(body) if response.status == 200 else {}, local_port
    finally:
        conn.close()


def address(pair: list[Any]) -> tuple[str, int]:
    # ASGI scopes here carry the port as upstream Granian does, a string; compare the numbers.
    return pair[0], int(pair[1])


def refused_without_an_answer(port: int, data: bytes) -> bool:
    """Send ``data`` straight to the server: it must close the connection without a byte back."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        sock.sendall(data)
        try:
            return sock.recv(1024) == b''
        except ConnectionResetError:
            return True


def _haproxy(factory: pytest.TempPathFactory, name: str, servers: dict[str, str]) -> Iterator[HAProxy]:
    proxy = HAProxy(factory.mktemp(f'haproxy-{name}'), servers)
    try:
        yield proxy
    finally:
        proxy.stop()


def _serve(**options: Any) -> Iterator[ServerProcess]:
    server = api_server(options.pop('target'), working_dir=APPS, log_access=True, **options).ready()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope='module')
def asgi() -> Iterator[ServerProcess]:
    yield from _serve(target='echo_asgi:app', interface='asgi', proxy_protocol='auto')


@pytest.fixture(scope='module')
def asgi_proxy(asgi: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HAProxy]:
    server = f'127.0.0.1:{asgi.port}'
    routes = {'v1': f'{server} send-proxy', 'v2': f'{server} send-proxy-v2', 'h2c': f'{server} send-proxy-v2 proto h2'}
    yield from _haproxy(tmp_path_factory, 'asgi', routes)


@pytest.mark.parametrize('route', ['v1', 'v2'])
def test_asgi_client_is_the_proxys_client(asgi: ServerProcess, asgi_proxy: HAProxy, route: str) -> None:
    status, seen, local_port = get(asgi_proxy.ports[route], f'/{route}')
    assert status == 200
    assert address(seen['client']) == (CLIENT, local_port)
    # The server address is the one the client connected to: HAProxy's frontend.
    assert address(seen['server']) == ('127.0.0.1', asgi_proxy.ports[route])
    assert seen['http_version'] == '1.1'
    asgi.wait_for(rf'{CLIENT} - "GET /{route} HTTP/1.1" 200')


def test_asgi_over_h2c_behind_proto_h2(asgi: ServerProcess, asgi_proxy: HAProxy) -> None:
    status, seen, local_port = get(asgi_proxy.ports['h2c'], '/h2c')
    assert status == 200
    assert seen['http_version'] == '2'
    assert address(seen['client']) == (CLIENT, local_port)
    asgi.wait_for(rf'{CLIENT} - "GET /h2c HTTP/2(\.0)?" 200')


@pytest.mark.parametrize('route', ['v1', 'v2'])
def test_websocket_client_is_the_proxys_client(asgi: ServerProcess, asgi_proxy: HAProxy, route: str) -> None:
    with ws_connect(f'ws://127.0.0.1:{asgi_proxy.ports[route]}/ws', source_address=(CLIENT, 0)) as ws:
        local_port = ws.socket.getsockname()[1]
        seen = json.loads(ws.recv(timeout=10))
    assert address(seen['client']) == (CLIENT, local_port)
    assert seen['scheme'] == 'ws'


def test_a_missing_header_is_refused_without_reaching_the_app(asgi: ServerProcess) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(f'http://127.0.0.1:{asgi.port}/direct', timeout=10)
    assert refused_without_an_answer(asgi.port, b'GET /direct-raw HTTP/1.1\r\nhost: x\r\n\r\n')
    assert asgi.count('/direct') == 0


@pytest.mark.parametrize(
    'data',
    [
        b'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443 80\r\nGET /malformed HTTP/1.1\r\nhost: x\r\n\r\n',
        b'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\nGET /malformed HTTP/1.1\r\nhost: x\r\n\r\n',
        v2(0x1, 0x11, bytes(11)) + b'GET /malformed HTTP/1.1\r\nhost: x\r\n\r\n',
        v2_inet(tlvs=b'\x01\x00\x09h2') + b'GET /malformed HTTP/1.1\r\nhost: x\r\n\r\n',
    ],
)
def test_a_malformed_header_is_refused_without_reaching_the_app(asgi: ServerProcess, data: bytes) -> None:
    assert refused_without_an_answer(asgi.port, data)
    assert asgi.count('/malformed') == 0


def test_a_truncated_header_then_silence_is_closed_on_eof(asgi: ServerProcess) -> None:
    with socket.create_connection(('127.0.0.1', asgi.port), timeout=10) as sock:
        sock.sendall(b'PROXY TCP4 192.0.2.1 198.51')
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1024) == b''


# -- WSGI (the CLI, the options from GRANIAN_* variables) and RSGI -------------------------------


@pytest.fixture(scope='module')
def wsgi() -> Iterator[ServerProcess]:
    env = {'GRANIAN_PROXY_PROTOCOL': 'v1', 'GRANIAN_PROXY_PROTOCOL_TRUSTED_HOSTS': '10.0.0.0/8 127.0.0.1'}
    args = ['--interface', 'wsgi', '--port', '0', '--loop', 'asyncio', '--access-log', '--working-dir', str(APPS)]
    server = cli_server(*args, 'echo_wsgi:app', env=env).ready()
    yield server
    server.stop()


@pytest.fixture(scope='module')
def rsgi() -> Iterator[ServerProcess]:
    yield from _serve(target='echo_rsgi:app', interface='rsgi', proxy_protocol='v2')


@pytest.fixture(scope='module')
def interfaces_proxy(
    wsgi: ServerProcess, rsgi: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HAProxy]:
    routes = {
        'wsgi': f'127.0.0.1:{wsgi.port} send-proxy',
        'wsgi-v2': f'127.0.0.1:{wsgi.port} send-proxy-v2',  # not what the server reads
        'rsgi': f'127.0.0.1:{rsgi.port} send-proxy-v2',
    }
    yield from _haproxy(tmp_path_factory, 'interfaces', routes)


def test_wsgi_remote_addr_is_the_proxys_client(wsgi: ServerProcess, interfaces_proxy: HAProxy) -> None:
    status, seen, local_port = get(interfaces_proxy.ports['wsgi'], '/wsgi')
    assert status == 200
    assert seen['REMOTE_ADDR'] == CLIENT
    assert seen['REMOTE_PORT'] in (local_port, str(local_port))
    wsgi.wait_for(rf'{CLIENT} - "GET /wsgi HTTP/1.1" 200')


def test_a_version_the_server_does_not_read_never_reaches_the_app(
    wsgi: ServerProcess, interfaces_proxy: HAProxy
) -> None:
    status, _, _ = get(interfaces_proxy.ports['wsgi-v2'], '/wrong-version')
    assert status in (502, 503)
    assert wsgi.count('/wrong-version') == 0


def test_rsgi_client_is_the_proxys_client(rsgi: ServerProcess, interfaces_proxy: HAProxy) -> None:
    status, seen, local_port = get(interfaces_proxy.ports['rsgi'], '/rsgi')
    assert status == 200
    assert seen['client'] == f'{CLIENT}:{local_port}'
    rsgi.wait_for(rf'{CLIENT} - "GET /rsgi HTTP/1.1" 200')


# -- TLS after the header, and untrusted proxies -----------------------------------------------------


@pytest.fixture(scope='module')
def tls(certs: Certs) -> Iterator[ServerProcess]:
    yield from _serve(
        target='echo_asgi:app', interface='asgi', proxy_protocol='auto', ssl_cert=certs.cert, ssl_key=certs.key
    )


@pytest.fixture(scope='module')
def untrusted() -> Iterator[ServerProcess]:
    yield from _serve(
        target='echo_asgi:app', interface='asgi', proxy_protocol='v1', proxy_protocol_trusted_hosts='10.0.0.0/8'
    )


@pytest.fixture(scope='module')
def tls_proxy(
    tls: ServerProcess, untrusted: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HAProxy]:
    routes = {
        'h1': f'127.0.0.1:{tls.port} send-proxy ssl verify none',
        'h2': f'127.0.0.1:{tls.port} send-proxy-v2 ssl verify none alpn h2',
        'untrusted': f'127.0.0.1:{untrusted.port} send-proxy',
    }
    yield from _haproxy(tmp_path_factory, 'tls', routes)


@pytest.mark.parametrize(('route', 'version'), [('h1', '1.1'), ('h2', '2')])
def test_tls_after_the_header(tls: ServerProcess, tls_proxy: HAProxy, route: str, version: str) -> None:
    status, seen, local_port = get(tls_proxy.ports[route], f'/tls-{route}')
    assert status == 200
    assert seen['scheme'] == 'https'
    assert seen['http_version'] == version  # ALPN chose it after start_tls, as on any TLS listener
    assert address(seen['client']) == (CLIENT, local_port)
    logged = r'2(\.0)?' if version == '2' else r'1\.1'
    tls.wait_for(rf'{CLIENT} - "GET /tls-{route} HTTP/{logged}" 200')


def test_tls_without_a_header_is_refused(tls: ServerProcess) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(f'https://127.0.0.1:{tls.port}/tls-direct', verify=False, timeout=10)
    assert tls.count('/tls-direct') == 0


def test_an_untrusted_proxy_never_reaches_the_app(untrusted: ServerProcess, tls_proxy: HAProxy) -> None:
    status, _, _ = get(tls_proxy.ports['untrusted'], '/untrusted')
    assert status in (502, 503)
    assert untrusted.count('/untrusted') == 0


# -- every loop ------------------------------------------------------------------------------------


def _read_response(sock: socket.socket) -> bytes:
    """One response with a content-length (rloop 0.5 does not always deliver a close, so the
    response's own length says when it is complete)."""
    data = b''
    while b'\r\n\r\n' not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b'\r\n\r\n')
    length = int(
        next(line.split(b':')[1] for line in head.split(b'\r\n') if line.lower().startswith(b'content-length'))
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b'\r\n\r\n' + body


@pytest.mark.parametrize('loop', ['asyncio', 'uvloop', 'rloop'])
def test_every_loop_reads_the_header_and_replays_what_follows(loop: str) -> None:
    """The header and the request in one write, as a proxy sends them: rloop cannot switch
    protocols (the reader forwards), uvloop and asyncio can; all three see the header's client."""
    server = api_server('echo_rsgi:app', working_dir=APPS, interface='rsgi', loop=loop, proxy_protocol='auto').ready()
    try:
        for header in (v1(), v2_inet()):
            with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
                sock.sendall(header + b'GET /loop HTTP/1.1\r\nhost: x\r\n\r\n')
                response = _read_response(sock)
            assert response.startswith(b'HTTP/1.1 200 ')
            assert json.loads(response.split(b'\r\n\r\n', 1)[1])['client'] == '192.0.2.1:56324'
        # And a peer that sends nothing valid is closed at once, on every loop.
        assert refused_without_an_answer(server.port, b'GET /loop HTTP/1.1\r\nhost: x\r\n\r\n')
    finally:
        server.stop()
