"""HTTP/3 end to end: real server processes with ``http3=True``, aioquic's client over real UDP on
127.0.0.1, for ASGI, RSGI and WSGI; Alt-Svc on HTTP/1.1 and HTTP/2 (httpx); graceful shutdown."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.certs import Certs
from testkit.h3 import h3_session
from testkit.process import ServerProcess, api_server

H2_APPS = Path(__file__).parents[1] / 'h2' / 'apps'
H3_APPS = Path(__file__).parent / 'apps'
MIB = 1024 * 1024


def start(certs: Certs, target: str, interface: str, apps: Path = H3_APPS, **options: object) -> ServerProcess:
    return api_server(
        target,
        interface=interface,
        working_dir=str(apps),
        http3=True,
        ssl_cert=certs.cert,
        ssl_key=certs.key,
        **options,
    ).ready()


@pytest.fixture(scope='module')
def asgi(certs: Certs) -> Iterator[ServerProcess]:
    proc = start(certs, 'h2_asgi:app', 'asgi', H2_APPS, log_access=True)
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope='module')
def rsgi(certs: Certs) -> Iterator[ServerProcess]:
    proc = start(certs, 'h3_apps:rsgi', 'rsgi')
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope='module')
def wsgi(certs: Certs) -> Iterator[ServerProcess]:
    proc = start(certs, 'h3_apps:wsgi', 'wsgi')
    yield proc
    assert proc.stop() == 0


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


# -- every interface -------------------------------------------------------------------------------


def _servers(request: pytest.FixtureRequest) -> ServerProcess:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture(params=['asgi', 'rsgi', 'wsgi'])
def server(request: pytest.FixtureRequest) -> ServerProcess:
    return _servers(request)


def test_get_reports_http_3(server: ServerProcess, certs: Certs) -> None:
    async def go() -> dict[str, object]:
        async with h3_session(server.port, ca=str(certs.ca)) as client:
            response = await client.request('/scope')
            assert response.status == 200
            assert response.header(b'server') == b'granian'
            return json.loads(response.body)  # type: ignore[no-any-return]

    info = run(go())
    assert info.get('http_version', info.get('SERVER_PROTOCOL')) in ('3', 'HTTP/3')
    assert info.get('scheme', info.get('wsgi.url_scheme')) == 'https'


def test_post_of_one_mib_comes_back_whole(server: ServerProcess) -> None:
    body = bytes(range(256)) * (4 * 1024)  # 1 MiB

    async def go() -> None:
        async with h3_session(server.port) as client:
            response = await client.request('/echo', 'POST', body, timeout=60)
            assert response.status == 200
            assert response.body == body
            assert response.header(b'x-sha256') == hashlib.sha256(body).hexdigest().encode()

    run(go())


def test_streamed_response(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            response = await client.request('/stream?n=40&size=16384', timeout=60)
            assert response.status == 200
            assert len(response.body) == 40 * 16384
            assert response.body[:16384] == b'A' * 16384 and response.body[-1:] == bytes((65 + 39 % 26,))

    run(go())


def test_many_concurrent_streams(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            bodies = [b'%d' % index * 100 for index in range(60)]
            responses = await asyncio.gather(*(client.request('/echo', 'POST', body) for body in bodies))
            assert [response.body for response in responses] == bodies

    run(go())


def test_a_reset_reaches_the_app_as_a_disconnect(request: pytest.FixtureRequest) -> None:
    for name in ('asgi', 'rsgi'):
        proc: ServerProcess = request.getfixturevalue(name)

        async def go(proc: ServerProcess = proc) -> list[str]:
            async with h3_session(proc.port) as client:
                before = json.loads((await client.request('/events')).body)
                stream_id = client.open(
                    [(b':method', b'GET'), (b':scheme', b'https'), (b':authority', b'x'), (b':path', b'/wait')], True
                )
                for _ in range(200):  # until the app waits (polled through the app itself)
                    events = json.loads((await client.request('/events')).body)
                    if events.count('waiting') > before.count('waiting'):
                        break
                    await asyncio.sleep(0.02)
                client.reset(stream_id)
                for _ in range(200):
                    events = json.loads((await client.request('/events')).body)
                    if events.count('disconnected') > before.count('disconnected'):
                        return events  # type: ignore[no-any-return]
                    await asyncio.sleep(0.02)
                raise AssertionError(f'the app never saw the disconnect: {events}')

        run(go())


def test_stop_sending_ahead_of_the_request_is_a_disconnect_not_an_app_error(asgi: ServerProcess) -> None:
    # Found by the h3 fuzz target: a STOP_SENDING in the same packet as the request's HEADERS
    # reaches the server first, and aioquic resets our sending side before the stream exists for
    # us. The app's response then raised aioquic's RuntimeError out of the exchange.
    error = 'Cannot send data after the stream was reset'
    before = asgi.count(error)

    async def go() -> None:
        async with h3_session(asgi.port) as client:
            for _ in range(5):
                stream_id = client._quic.get_next_available_stream_id()
                head = [(b':method', b'GET'), (b':scheme', b'https'), (b':authority', b'x'), (b':path', b'/scope')]
                client.h3.send_headers(stream_id, head, end_stream=True)
                # Not sent yet: both leave in one packet, where aioquic puts STOP_SENDING first.
                client._quic.stop_stream(stream_id, 0x10C)
                client.transmit()
            # Answered after those five, on the same connection: their apps have run by then.
            assert (await client.request('/scope')).status == 200

    run(go())
    # The app's failure would be logged before the answer to the request that followed it.
    assert asgi.count(error) == before, asgi.output


# -- ASGI features -------------------------------------------------------------------------------


def test_trailers_and_early_hints(asgi: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(asgi.port) as client:
            response = await client.request('/trailers', headers=[(b'te', b'trailers')])
            assert response.body == b'with trailers'
            assert response.trailers == [(b'x-digest', b'abc123')]
            hinted = await client.request('/hints')
            assert hinted.interim and dict(hinted.interim[0])[b':status'] == b'103'
            assert (b'link', b'</style.css>; rel=preload; as=style') in hinted.interim[0]
            assert hinted.body == b'hinted'

    run(go())


def test_asgi_scope_has_host_and_tls(asgi: ServerProcess) -> None:
    async def go() -> dict[str, object]:
        async with h3_session(asgi.port) as client:
            return json.loads((await client.request('/scope', authority=b'example.test')).body)  # type: ignore[no-any-return]

    info = run(go())
    assert info['http_version'] == '3'
    assert ['host', 'example.test'] in info['headers']  # type: ignore[operator]
    assert info['extensions']['tls']['tls_version'] == 0x0304  # type: ignore[index]
    assert 'http.response.early_hint' in info['extensions']  # type: ignore[operator]


def test_access_log_says_http_3(asgi: ServerProcess) -> None:
    count = asgi.count(r'"GET /h3-log-probe HTTP/3" 404')

    async def go() -> None:
        async with h3_session(asgi.port) as client:
            await client.request('/h3-log-probe')

    run(go())
    asgi.wait_for(r'"GET /h3-log-probe HTTP/3" 404', more_than=count)


# -- Alt-Svc ---------------------------------------------------------------------------------------


def test_alt_svc_on_http1_and_http2_when_on(asgi: ServerProcess, certs: Certs) -> None:
    verify = ssl.create_default_context(cafile=str(certs.ca))
    for http2 in (False, True):
        with httpx.Client(base_url=asgi.url, http1=not http2, http2=http2, verify=verify, timeout=20) as client:
            response = client.get('/scope')
            assert response.http_version == ('HTTP/2' if http2 else 'HTTP/1.1')
            assert response.headers['alt-svc'] == f'h3=":{asgi.port}"; ma=86400'
            assert client.get('/nothing-here').headers['alt-svc'] == f'h3=":{asgi.port}"; ma=86400'


def test_no_alt_svc_when_off(certs: Certs) -> None:
    proc = api_server(
        'h2_asgi:app', interface='asgi', working_dir=str(H2_APPS), ssl_cert=certs.cert, ssl_key=certs.key
    ).ready()
    try:
        verify = ssl.create_default_context(cafile=str(certs.ca))
        for http2 in (False, True):
            with httpx.Client(base_url=proc.url, http1=not http2, http2=http2, verify=verify, timeout=20) as client:
                assert 'alt-svc' not in client.get('/scope').headers
    finally:
        assert proc.stop() == 0


# -- graceful shutdown ---------------------------------------------------------------------------


def test_graceful_shutdown_finishes_streams_in_flight(certs: Certs) -> None:
    proc = start(certs, 'h2_asgi:app', 'asgi', H2_APPS)

    async def go() -> None:
        async with h3_session(proc.port) as client:
            assert (await client.request('/scope')).status == 200
            stream_id = client.open(
                [(b':method', b'GET'), (b':scheme', b'https'), (b':authority', b'x'), (b':path', b'/slow?ms=1500')],
                True,
            )
            await client.wait_received(stream_id)
            proc.send_signal(signal.SIGTERM)
            response = await client.response(stream_id)
            assert response.status == 200 and response.body == b'slow done'
            terminated = await client.wait_terminated()
            assert terminated.error_code == 0x100  # H3_NO_ERROR: closed on purpose, after the stream

    try:
        run(go())
        # The SIGTERM above stops the server: it exits 0 by itself (a second signal would kill it).
        assert proc.proc.wait(timeout=30) == 0
    finally:
        proc.kill()


# -- static files, url_path_prefix -----------------------------------------------------------------


def test_static_files_and_the_path_prefix(certs: Certs, tmp_path: Path) -> None:
    (tmp_path / 'small.txt').write_bytes(b'small file')
    large = bytes(range(256)) * 2048  # 512 KiB: sent in chunks, minding flow control
    (tmp_path / 'large.bin').write_bytes(large)
    proc = start(
        certs,
        'h3_apps:wsgi',
        'wsgi',
        static_path_mount=[tmp_path],
        static_path_route=['/static'],
        url_path_prefix='/app',
    )

    async def go() -> None:
        async with h3_session(proc.port) as client:
            small = await client.request('/static/small.txt')
            assert (small.status, small.body) == (200, b'small file')
            big = await client.request('/static/large.bin', timeout=60)
            assert big.status == 200 and big.body == large
            assert big.header(b'content-length') == str(len(large)).encode()
            ranged = await client.request('/static/large.bin', headers=[(b'range', b'bytes=10-19')])
            assert (ranged.status, ranged.body) == (206, large[10:20])
            # The app is mounted under the prefix: WSGI's SCRIPT_NAME and PATH_INFO split it.
            scope = json.loads((await client.request('/app/scope')).body)
            assert (scope['SCRIPT_NAME'], scope['PATH_INFO']) == ('/app', '/scope')
            assert scope['SERVER_PROTOCOL'] == 'HTTP/3'

    try:
        run(go())
    finally:
        assert proc.stop() == 0
