"""The guide's nginx recipes, run by a real nginx in front of real granian servers.

nginx runs in the foreground (``-g 'daemon off;'``) with a main configuration written here around
the guide's two files, as ``/etc/nginx/nginx.conf`` has them: ``http.conf`` inside ``http {}``,
``stream.conf`` beside it. Clients connect from 127.0.0.2 and send a forged X-Forwarded-For and
X-Forwarded-Proto, so what the app reports must come from nginx and from nowhere else.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect as ws_connect

from deploy.recipes import CLIENT, client_context, free_port, recipe, seen_through, serve, tls_files, wait_listening
from testkit.certs import Certs
from testkit.process import ServerProcess

NGINX = shutil.which('nginx')


def _stream_module() -> str:
    """The ``load_module`` line nginx needs for ``stream {}``, if its stream module is separate."""
    assert NGINX, 'nginx is needed (Debian packages nginx and libnginx-mod-stream)'
    configure = subprocess.run([NGINX, '-V'], capture_output=True, text=True, check=True).stderr
    if '--with-stream=dynamic' not in configure:
        assert re.search(r'--with-stream(\s|$)', configure), 'this nginx has no stream module'
        return ''
    match = re.search(r'--modules-path=(\S+)', configure)
    module = Path(match.group(1) if match else '/usr/lib/nginx/modules') / 'ngx_stream_module.so'
    assert module.exists(), f'{module} is missing (Debian package libnginx-mod-stream)'
    return f'load_module {module};'


def start_nginx(directory: Path, http: str, stream: str, *ports: int) -> ServerProcess:
    """nginx in the foreground with ``http`` and ``stream`` where nginx.conf has them; every path
    it writes to is in ``directory``, so that it runs as any user."""
    # nginx's own defaults (/var/lib/nginx, /var/log/nginx, /run) are root's.
    temp = [f'{name}_temp_path {directory / name};' for name in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi')]
    main = [_stream_module(), f'pid {directory}/nginx.pid;', 'events {}']
    config = '\n'.join([*main, 'http {', 'access_log off;', *temp, http, '}', stream])
    (directory / 'nginx.conf').write_text(config)
    argv = [NGINX or '', '-p', str(directory), '-c', str(directory / 'nginx.conf'), '-e', 'stderr']
    nginx = ServerProcess([*argv, '-g', 'daemon off;'])
    wait_listening(nginx, *ports)
    return nginx


def http_conf(upstream: int, port: int, certs: Certs) -> str:
    """The guide's http.conf for granian on ``upstream``, nginx on ``port`` with the test certificate."""
    return recipe(
        'nginx/http.conf',
        {
            'server 127.0.0.1:8000;': f'server 127.0.0.1:{upstream};',
            'listen 443 ssl;': f'listen 127.0.0.1:{port} ssl;',
            '/etc/ssl/certs/app.example.com.pem': str(certs.cert),
            '/etc/ssl/private/app.example.com.key': str(certs.key),
        },
    )


@pytest.fixture(scope='module')
def servers(certs: Certs) -> Iterator[dict[str, ServerProcess]]:
    """granian as the guide runs it behind nginx's http (plain HTTP) and stream (PROXY v1, TLS)."""
    started: dict[str, ServerProcess] = {}
    try:
        started['http'] = serve('behind-a-proxy', {'8000': str(free_port())})
        started['stream'] = serve('behind-a-proxy-v1', {'8443': str(free_port()), **tls_files(certs)})
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope='module')
def nginx(
    servers: dict[str, ServerProcess], certs: Certs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, int]]:
    """nginx with both recipes, in front of ``servers``; its port for each."""
    ports = {'http': free_port(), 'stream': free_port()}
    http = http_conf(servers['http'].port, ports['http'], certs)
    stream = recipe(
        'nginx/stream.conf',
        {
            'server 127.0.0.1:8443;': f'server 127.0.0.1:{servers["stream"].port};',
            'listen 443;': f'listen 127.0.0.1:{ports["stream"]};',
        },
    )
    proxy = start_nginx(tmp_path_factory.mktemp('nginx'), http, stream, *ports.values())
    yield ports
    assert proxy.stop() == 0, proxy.output


def test_the_app_sees_the_client_and_scheme_nginx_saw(nginx: dict[str, int], certs: Certs) -> None:
    seen, _ = seen_through(f'https://127.0.0.1:{nginx["http"]}/who', ca=certs.ca)
    # The client's own address (its port is nginx's business: the header carries none), the
    # scheme of the client's connection to nginx, and nothing of what the client forged.
    assert seen['client'][0] == CLIENT
    assert seen['scheme'] == 'https'
    assert seen['http_version'] == '1.1'


def test_websockets_pass_through_nginx(nginx: dict[str, int], certs: Certs) -> None:
    url = f'wss://127.0.0.1:{nginx["http"]}/ws'
    with ws_connect(url, ssl=client_context(certs.ca), source_address=(CLIENT, 0)) as ws:
        seen = json.loads(ws.recv(timeout=10))
        ws.send('through nginx')
        assert ws.recv(timeout=10) == 'through nginx'
    assert seen['client'][0] == CLIENT
    assert seen['scheme'] == 'wss'


def test_nginx_stream_sends_the_client_in_a_proxy_header(nginx: dict[str, int], certs: Certs) -> None:
    # TLS from the client to granian, through nginx: granian negotiates HTTP/2 itself.
    seen, local_port = seen_through(f'https://127.0.0.1:{nginx["stream"]}/who', ca=certs.ca, http2=True)
    assert seen['client'] == [CLIENT, str(local_port)]
    assert seen['scheme'] == 'https'
    assert seen['http_version'] == '2'


def test_a_websocket_through_nginx_is_closed_with_1001_when_granian_stops(certs: Certs, tmp_path: Path) -> None:
    """Graceful termination reaches the client through the proxy: granian's close frame,
    "going away", is what the client gets, not a dropped connection."""
    server = serve('behind-a-proxy', {'8000': str(free_port())})
    port = free_port()
    proxy = start_nginx(tmp_path, http_conf(server.port, port, certs), '', port)
    try:
        with ws_connect(f'wss://127.0.0.1:{port}/ws', ssl=client_context(certs.ca)) as ws:
            ws.recv(timeout=10)
            server.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosedOK) as closed:
                ws.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        # Waited for, not stopped: a second SIGTERM that lands once granian has put the default
        # handlers back, at the very end of its shutdown, would end it with -15.
        assert server.proc.wait(30) == 0
    finally:
        server.kill()
        proxy.stop()
