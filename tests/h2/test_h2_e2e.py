"""HTTP/2 end to end: real server processes, real clients (httpx, curl, nghttp, h2load, h2 on a
socket), over TLS (ALPN) and cleartext (prior knowledge and ``Upgrade: h2c``)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import h2.events
import httpx
import pytest
from h2.errors import ErrorCodes

from testkit.certs import Certs
from testkit.h2 import SocketClient
from testkit.process import ServerProcess, api_server, cli_server

APPS = Path(__file__).parent / 'apps'


def _start(target: str, interface: str = 'asgi', **options: object) -> ServerProcess:
    return api_server(target, interface=interface, working_dir=str(APPS), **options).ready()


@pytest.fixture(scope='module')
def plain() -> Iterator[ServerProcess]:
    proc = _start('h2_asgi:app')
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope='module')
def tls(certs: Certs) -> Iterator[ServerProcess]:
    proc = _start('h2_asgi:app', ssl_cert=certs.cert, ssl_key=certs.key)
    yield proc
    assert proc.stop() == 0


def _h2c(proc: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=proc.url, http1=False, http2=True, timeout=20)


def _https(proc: ServerProcess, certs: Certs) -> httpx.Client:
    return httpx.Client(base_url=proc.url, http2=True, verify=ssl.create_default_context(cafile=certs.ca), timeout=20)


def _curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(['curl', '-sS', '--max-time', '20', *args], capture_output=True, text=True, timeout=30)


def test_httpx_h2_over_tls_alpn(tls: ServerProcess, certs: Certs) -> None:
    assert tls.url.startswith('https://')
    with _https(tls, certs) as client:
        response = client.get('/scope?x=1')
    assert response.http_version == 'HTTP/2'
    scope = response.json()
    assert scope['http_version'] == '2'
    assert scope['scheme'] == 'https'
    assert scope['query_string'] == 'x=1'
    assert scope['headers'][0] == ['host', f'127.0.0.1:{tls.port}']  # from :authority, first (upstream)
    assert 'http.response.early_hint' in scope['extensions']
    assert 'http.response.trailers' not in scope['extensions']  # the client did not send te: trailers
    assert scope['extensions']['tls']['tls_version'] == 0x0304


def test_httpx_h2c_prior_knowledge(plain: ServerProcess) -> None:
    with _h2c(plain) as client:
        response = client.get('/scope')
    assert response.http_version == 'HTTP/2'
    assert response.json()['http_version'] == '2'
    assert response.json()['scheme'] == 'http'
    assert 'tls' not in response.json()['extensions']


def test_httpx_http1_still_served_on_the_same_port(plain: ServerProcess) -> None:
    response = httpx.get(plain.url + '/scope', timeout=20)
    assert response.http_version == 'HTTP/1.1'
    assert response.json()['http_version'] == '1.1'


def test_curl_http2_upgrade_with_a_body(plain: ServerProcess) -> None:
    done = _curl('--http2', '-d', 'body over the upgrade', '-w', '\n%{http_version}', plain.url + '/echo')
    body, version = done.stdout.rsplit('\n', 1)
    assert (body, version) == ('body over the upgrade', '2')


def test_curl_http2_prior_knowledge_and_tls(plain: ServerProcess, tls: ServerProcess, certs: Certs) -> None:
    done = _curl('--http2-prior-knowledge', '-w', '\n%{http_version}', plain.url + '/scope')
    assert done.stdout.rsplit('\n', 1)[1] == '2'
    done = _curl('--http2', '--cacert', str(certs.ca), '-w', '\n%{http_version}', tls.url + '/scope')
    assert json.loads(done.stdout.rsplit('\n', 1)[0])['scheme'] == 'https'
    assert done.stdout.rsplit('\n', 1)[1] == '2'


def test_nghttp_concurrent_streams(plain: ServerProcess) -> None:
    urls = [f'{plain.url}/stream?n=4&size=1000&i={idx}' for idx in range(8)]
    done = subprocess.run(['nghttp', '-nv', '--no-dep', *urls], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(':status: 200') == 8
    assert 'recv SETTINGS frame' in done.stdout
    assert 'GOAWAY' not in done.stdout.split('send GOAWAY')[0]  # the server never gave up on us


def test_h2load_small_run(plain: ServerProcess) -> None:
    done = subprocess.run(
        ['h2load', '-n', '400', '-c', '4', '-m', '16', plain.url + '/scope'], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored' in done.stdout


def test_streamed_request_and_response_bodies(plain: ServerProcess, tls: ServerProcess, certs: Certs) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 100_000):
            yield payload[start : start + 100_000]

    for client in (_h2c(plain), _https(tls, certs)):
        with client:
            response = client.post('/echo', content=chunks())
            assert response.http_version == 'HTTP/2'
            assert response.headers['x-sha256'] == hashlib.sha256(payload).hexdigest()
            assert response.content == payload
            streamed = client.get('/stream?n=300&size=20000')
            assert len(streamed.content) == 300 * 20000


def test_trailers_and_early_hints(plain: ServerProcess) -> None:
    conn = SocketClient('127.0.0.1', plain.port)
    try:
        with_te = conn.client.request('GET', '/trailers', headers=[('te', 'trailers')])
        without = conn.client.request('GET', '/trailers')
        hints = conn.client.request('GET', '/hints')
        conn.read_until(lambda c: all(c.responses[s].ended for s in (with_te, without, hints)))
        responses = conn.client.responses
        assert bytes(responses[with_te].body) == b'with trailers'
        assert responses[with_te].trailers == [(b'x-digest', b'abc123')]
        assert bytes(responses[without].body) == b'with trailers'
        assert responses[without].trailers is None
        assert responses[hints].informational == [
            [(b':status', b'103'), (b'link', b'</style.css>; rel=preload; as=style')]
        ]
        assert bytes(responses[hints].body) == b'hinted'
    finally:
        conn.close()


def test_stream_reset_reaches_the_app_as_a_disconnect(plain: ServerProcess) -> None:
    conn = SocketClient('127.0.0.1', plain.port)
    try:
        waiting = conn.client.request('POST', '/wait', end=False)
        conn.flush()
        with _h2c(plain) as client:
            for _ in range(100):
                if 'waiting' in client.get('/events').json():
                    break
            conn.client.conn.reset_stream(waiting, ErrorCodes.CANCEL)
            conn.flush()
            events = []
            for _ in range(100):
                events = client.get('/events').json()
                if 'disconnected' in events:
                    break
        assert events[-2:] == ['waiting', 'disconnected']
        # The connection itself is fine: another stream on it is answered.
        again = conn.client.request('GET', '/scope')
        conn.read_until(lambda c: c.responses[again].ended)
        assert conn.client.responses[again].status == 200
    finally:
        conn.close()


def test_goaway_on_graceful_shutdown_completes_streams_in_flight() -> None:
    proc = _start('h2_asgi:app')
    conn = SocketClient('127.0.0.1', proc.port, finish_after_goaway=True)
    try:
        slow = conn.client.request('GET', '/slow?ms=1500')
        # A PING after the request: its answer means the server has read the request.
        conn.client.conn.ping(b'inflight')
        conn.flush()
        conn.read_until(lambda c: any(isinstance(e, h2.events.PingAckReceived) for e in c.events))
        proc.send_signal(signal.SIGTERM)
        conn.read_until(lambda c: c.goaway is not None)
        assert conn.client.goaway is not None
        assert conn.client.goaway.error_code == ErrorCodes.NO_ERROR
        assert conn.client.goaway.last_stream_id == slow
        conn.read_until(lambda c: c.responses[slow].ended, timeout=20)
        assert bytes(conn.client.responses[slow].body) == b'slow done'
        conn.close()
        code = proc.proc.wait(20)  # the first SIGTERM stops it: no second signal
    finally:
        conn.close()
        if proc.proc.poll() is None:
            proc.stop()
    assert code == 0


@pytest.mark.parametrize('interface', ['rsgi', 'wsgi'])
def test_rsgi_and_wsgi_over_http2(interface: str, certs: Certs) -> None:
    target = f'h2_{interface}:app'
    plain = _start(target, interface=interface)
    secure = _start(target, interface=interface, ssl_cert=certs.cert, ssl_key=certs.key)
    try:
        for proc, client, scheme in ((plain, _h2c(plain), 'http'), (secure, _https(secure, certs), 'https')):
            with client:
                scope = client.get('/scope?q=1')
                assert scope.http_version == 'HTTP/2'
                echoed = client.post('/echo', content=b'z' * 200_000)
                assert echoed.content == b'z' * 200_000
            info = scope.json()
            if interface == 'rsgi':
                assert (info['http_version'], info['scheme']) == ('2', scheme)
                assert info['authority'] == f'127.0.0.1:{proc.port}'
            else:
                assert (info['SERVER_PROTOCOL'], info['wsgi.url_scheme']) == ('HTTP/2', scheme)
                assert info['HTTP_HOST'] == f'127.0.0.1:{proc.port}'
    finally:
        assert plain.stop() == 0
        assert secure.stop() == 0


def test_cli_http_modes() -> None:
    only2 = cli_server('--interface', 'asgi', '--http', '2', '--port', '0', '--working-dir', str(APPS), 'h2_asgi:app')
    only1 = cli_server('--interface', 'asgi', '--http', '1', '--port', '0', '--working-dir', str(APPS), 'h2_asgi:app')
    try:
        only2.ready()
        only1.ready()
        assert (
            _curl('--http2-prior-knowledge', '-w', '%{http_version}', '-o', '/dev/null', only2.url + '/').stdout == '2'
        )
        assert _curl('--http1.1', '-o', '/dev/null', only2.url + '/').returncode != 0  # HTTP/1.1 is not spoken
        assert _curl('--http2', '-w', '%{http_version}', '-o', '/dev/null', only1.url + '/').stdout == '1.1'
        assert _curl('--http2-prior-knowledge', '-o', '/dev/null', only1.url + '/').returncode != 0
    finally:
        assert only2.stop() == 0
        assert only1.stop() == 0
