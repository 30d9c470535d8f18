"""HTTPS end to end: real servers with fresh certificates; httpx, curl and openssl s_client."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from testkit.certs import KEY_PASSWORD, Certs
from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parents[1] / 'h2' / 'apps'


def _start(target: str = 'h2_asgi:app', interface: str = 'asgi', **options: object) -> ServerProcess:
    return api_server(target, interface=interface, working_dir=str(APPS), **options).ready()


@pytest.fixture(scope='module')
def optional_mtls(certs: Certs) -> Iterator[ServerProcess]:
    """Encrypted key; client certificates asked for and checked, but not required."""
    proc = _start(ssl_cert=certs.cert, ssl_key=certs.encrypted_key, ssl_key_password=KEY_PASSWORD, ssl_ca=certs.ca)
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope='module')
def strict_mtls(certs: Certs) -> Iterator[ServerProcess]:
    proc = _start(ssl_cert=certs.cert, ssl_key=certs.key, ssl_ca=certs.ca, ssl_crl=[certs.crl], ssl_client_verify=True)
    yield proc
    assert proc.stop() == 0


def _context(certs: Certs, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certs.ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def _get(proc: ServerProcess, context: ssl.SSLContext, path: str = '/scope', http2: bool = False) -> httpx.Response:
    with httpx.Client(base_url=proc.url, verify=context, http2=http2, timeout=20) as client:
        return client.get(path)


def test_listening_url_and_scheme(optional_mtls: ServerProcess, certs: Certs) -> None:
    assert optional_mtls.url.startswith('https://127.0.0.1:')
    for http2 in (False, True):
        response = _get(optional_mtls, _context(certs), http2=http2)
        assert response.http_version == ('HTTP/2' if http2 else 'HTTP/1.1')
        assert response.json()['scheme'] == 'https'


def test_asgi_tls_extension_without_a_client_certificate(optional_mtls: ServerProcess, certs: Certs) -> None:
    tls = _get(optional_mtls, _context(certs)).json()['extensions']['tls']
    assert tls['server_cert'] == ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(certs.cert.read_text()))
    assert tls['client_cert_chain'] == []
    assert tls['client_cert_name'] is None
    assert tls['client_cert_error'] is None
    assert tls['tls_version'] == 0x0304
    assert tls['cipher_suite'] in (0x1301, 0x1302, 0x1303)


def test_asgi_tls_extension_with_a_client_certificate(optional_mtls: ServerProcess, certs: Certs) -> None:
    for http2 in (False, True):
        scope = _get(optional_mtls, _context(certs, certs.client_cert, certs.client_key), http2=http2).json()
        tls = scope['extensions']['tls']
        assert tls['client_cert_chain'][0] == certs.client_cert.read_text()
        assert tls['client_cert_name'] == certs.client_subject


def test_mtls_good_client_certificate(strict_mtls: ServerProcess, certs: Certs) -> None:
    for http2 in (False, True):
        response = _get(strict_mtls, _context(certs, certs.client_cert, certs.client_key), http2=http2)
        assert response.status_code == 200
        assert response.json()['extensions']['tls']['client_cert_name'] == certs.client_subject


@pytest.mark.parametrize('who', ['missing', 'revoked', 'untrusted'])
def test_mtls_refuses(strict_mtls: ServerProcess, certs: Certs, who: str) -> None:
    pair = {
        'missing': (None, None),
        'revoked': (certs.revoked_cert, certs.revoked_key),
        'untrusted': (certs.stranger_cert, certs.stranger_key),
    }[who]
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        _get(strict_mtls, _context(certs, *pair))
    # curl sees the refusal as well, and the server goes on serving good clients.
    args = ['--cert', str(pair[0]), '--key', str(pair[1])] if pair[0] else []
    done = subprocess.run(
        ['curl', '-sS', '--max-time', '20', '--cacert', str(certs.ca), *args, strict_mtls.url + '/scope'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert _get(strict_mtls, _context(certs, certs.client_cert, certs.client_key)).status_code == 200


def _s_client(proc: ServerProcess, *args: str) -> str:
    done = subprocess.run(
        ['openssl', 's_client', '-connect', f'127.0.0.1:{proc.port}', '-servername', 'localhost', *args],
        input=b'',
        capture_output=True,
        timeout=30,
    )
    return (done.stdout + done.stderr).decode('latin-1')


def test_tls_minimum_version(certs: Certs, optional_mtls: ServerProcess) -> None:
    # Default minimum is TLS 1.3: a TLS 1.2-only client gets no session.
    refused = _s_client(optional_mtls, '-tls1_2')
    assert 'Cipher is (NONE)' in refused
    assert 'New, TLSv1.3, Cipher is TLS_' in _s_client(optional_mtls, '-tls1_3')
    tls12 = _start(ssl_cert=certs.cert, ssl_key=certs.key, ssl_protocol_min='tls1.2')
    try:
        accepted = _s_client(tls12, '-tls1_2', '-alpn', 'h2')
        assert 'New, TLSv1.2, Cipher is ECDHE-' in accepted
        assert 'ALPN protocol: h2' in accepted
    finally:
        assert tls12.stop() == 0


def test_alpn_per_http_mode(certs: Certs) -> None:
    only1 = _start(ssl_cert=certs.cert, ssl_key=certs.key, http='1')
    only2 = _start(ssl_cert=certs.cert, ssl_key=certs.key, http='2')
    try:
        assert 'ALPN protocol: http/1.1' in _s_client(only1, '-alpn', 'h2,http/1.1')
        assert 'ALPN protocol: h2' in _s_client(only2, '-alpn', 'h2,http/1.1')
        assert _get(only2, _context(certs), http2=True).http_version == 'HTTP/2'
        assert _get(only1, _context(certs), http2=True).http_version == 'HTTP/1.1'
    finally:
        assert only1.stop() == 0
        assert only2.stop() == 0


def test_websocket_over_tls_is_wss(optional_mtls: ServerProcess, certs: Certs) -> None:
    async def talk() -> dict[str, object]:
        url = optional_mtls.url.replace('https://', 'wss://') + '/ws'
        async with websockets.connect(url, ssl=_context(certs)) as socket:
            return json.loads(await socket.recv())  # type: ignore[no-any-return]

    info = asyncio.run(talk())
    assert info['scheme'] == 'wss'
    assert info['tls_version'] in (0x0303, 0x0304)  # the ASGI TLS extension reaches WebSockets too


@pytest.mark.parametrize('interface', ['rsgi', 'wsgi'])
def test_https_scheme_in_rsgi_and_wsgi(interface: str, certs: Certs) -> None:
    proc = _start(f'h2_{interface}:app', interface=interface, ssl_cert=certs.cert, ssl_key=certs.key)
    try:
        info = _get(proc, _context(certs)).json()
        scheme = info['scheme'] if interface == 'rsgi' else info['wsgi.url_scheme']
        assert scheme == 'https'
    finally:
        assert proc.stop() == 0


def test_bad_key_password_fails_at_start(certs: Certs) -> None:
    proc = api_server(
        'h2_asgi:app',
        interface='asgi',
        working_dir=str(APPS),
        ssl_cert=certs.cert,
        ssl_key=certs.encrypted_key,
        ssl_key_password='wrong',
    )
    try:
        code = proc.proc.wait(30)
    finally:
        proc.kill()
    assert code != 0
    assert 'ssl_key_password: cannot decrypt the key' in proc.output
    assert json.dumps(proc.output).count('Traceback') <= 1
