"""The guide's HAProxy recipes, run by a real HAProxy in front of real granian servers.

Each recipe is a whole ``haproxy.cfg``, run as written in the foreground (``-db``) but for its
ports and certificate. Clients connect from 127.0.0.2 and send a forged X-Forwarded-For and
X-Forwarded-Proto, so what the app reports must come from HAProxy and from nowhere else.
tests/proxy_protocol/test_proxy_haproxy.py covers the PROXY protocol behind HAProxy further.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect as ws_connect

from deploy.recipes import CLIENT, client_context, free_port, recipe, seen_through, serve, tls_files, wait_listening
from testkit.certs import Certs
from testkit.process import ServerProcess

HAPROXY = shutil.which('haproxy')


def start_haproxy(name: str, directory: Path, port: int, replacements: dict[str, str]) -> ServerProcess:
    """HAProxy in the foreground with the guide's ``haproxy/NAME``, listening on ``port``."""
    assert HAPROXY, 'haproxy is needed (Debian package haproxy)'
    config = directory / 'haproxy.cfg'
    config.write_text(recipe(f'haproxy/{name}', replacements))
    proxy = ServerProcess([HAPROXY, '-f', str(config), '-db'])
    wait_listening(proxy, port)
    return proxy


@pytest.fixture(scope='module')
def http_mode(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, ServerProcess]]:
    """HAProxy's HTTP recipe in front of granian: HAProxy's port, and granian."""
    server = serve('behind-a-proxy', {'8000': str(free_port())})
    directory = tmp_path_factory.mktemp('haproxy-http')
    # HAProxy takes the certificate and its key in one file.
    pem = directory / 'app.pem'
    pem.write_bytes(certs.cert.read_bytes() + certs.key.read_bytes())
    port = free_port()
    bind = {'bind :443 ssl crt /etc/haproxy/certs/app.example.com.pem': f'bind 127.0.0.1:{port} ssl crt {pem}'}
    proxy = start_haproxy('http.cfg', directory, port, {**bind, '127.0.0.1:8000 ': f'127.0.0.1:{server.port} '})
    try:
        yield port, server
    finally:
        proxy.stop()
        server.stop()


def test_haproxy_http_passes_the_client_and_scheme(http_mode: tuple[int, ServerProcess], certs: Certs) -> None:
    port, _ = http_mode
    seen, _ = seen_through(f'https://127.0.0.1:{port}/who', ca=certs.ca)
    assert seen['client'][0] == CLIENT
    assert seen['scheme'] == 'https'


def test_websockets_pass_through_haproxy(http_mode: tuple[int, ServerProcess], certs: Certs) -> None:
    port, _ = http_mode
    with ws_connect(f'wss://127.0.0.1:{port}/ws', ssl=client_context(certs.ca), source_address=(CLIENT, 0)) as ws:
        seen = json.loads(ws.recv(timeout=10))
        ws.send('through haproxy')
        assert ws.recv(timeout=10) == 'through haproxy'
    assert seen['client'][0] == CLIENT
    assert seen['scheme'] == 'wss'


def test_haproxy_checks_healthz(http_mode: tuple[int, ServerProcess]) -> None:
    _, server = http_mode
    # HAProxy checks every 2 s from its own address; granian's access log shows each one.
    server.wait_for(r'127\.0\.0\.1 - "GET /healthz HTTP/1\.[01]" 200')


def test_haproxy_tcp_sends_the_client_in_a_proxy_header(certs: Certs, tmp_path: Path) -> None:
    server = serve('behind-a-proxy-v2', {'8443': str(free_port()), **tls_files(certs)})
    port = free_port()
    replacements = {'bind :443': f'bind 127.0.0.1:{port}', '127.0.0.1:8443 ': f'127.0.0.1:{server.port} '}
    proxy = start_haproxy('tcp-proxy-protocol.cfg', tmp_path, port, replacements)
    try:
        # TLS from the client to granian, through HAProxy: granian negotiates HTTP/2 itself.
        seen, local_port = seen_through(f'https://127.0.0.1:{port}/who', ca=certs.ca, http2=True)
    finally:
        proxy.stop()
        server.stop()
    assert seen['client'] == [CLIENT, str(local_port)]
    assert seen['scheme'] == 'https'
    assert seen['http_version'] == '2'
