"""The response header options over HTTP/3: aioquic's client over real UDP against servers with
``http3=True``, every response the server writes (the app's, whole and streamed, a static file,
its own 500 and the 405 to a plain CONNECT). The same defaults as HTTP/1.1 and HTTP/2, minus the
alt-svc those carry (httpx checks them on the same server)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from h3.test_h3_e2e import start as start_http3
from testkit.certs import Certs
from testkit.h3 import Response, h3_session
from testkit.process import ServerProcess

APPS = Path(__file__).parents[1] / 'headers' / 'apps'
CUSTOM = ['X-Frame-Options: DENY', 'Server: edge']
OVERRIDES = ['server:mine', 'x-frame-options:SAMEORIGIN', 'date:Thu, 01 Jan 1970 00:00:00 GMT']


def start(certs: Certs, **options: Any) -> ServerProcess:
    return start_http3(certs, 'headers_asgi:app', 'asgi', APPS, static_path_mount=[APPS], **options)


@pytest.fixture(scope='module')
def custom_server(certs: Certs) -> Iterator[ServerProcess]:
    server = start(certs, headers=CUSTOM)
    yield server
    assert server.stop() == 0


def fields(response: Response) -> dict[bytes, list[bytes]]:
    out: dict[bytes, list[bytes]] = {}
    for name, value in response.headers:
        out.setdefault(name, []).append(value)
    return out


async def _get(port: int, paths: list[str]) -> list[Response]:
    async with h3_session(port) as client:
        return list(await asyncio.gather(*(client.request(path) for path in paths)))


def h3_get(server: ServerProcess, *paths: str) -> list[dict[bytes, list[bytes]]]:
    responses = asyncio.run(_get(server.port, list(paths)))
    return [{b':status': [b'%d' % response.status], **fields(response)} for response in responses]


def test_every_response_over_http3_carries_the_defaults_once(custom_server: ServerProcess) -> None:
    answers = h3_get(custom_server, '/', '/stream', '/static/headers_asgi.py', '/crash')
    assert [answer[b':status'] for answer in answers] == [[b'200'], [b'200'], [b'200'], [b'500']]
    for answer in answers:
        assert answer[b'server'] == [b'edge']
        assert answer[b'x-frame-options'] == [b'DENY']
        assert len(answer[b'date']) == 1
        assert b'alt-svc' not in answer  # a client on HTTP/3 is not sent there again


def test_over_http3_the_apps_own_fields_win(custom_server: ServerProcess) -> None:
    (answer,) = h3_get(custom_server, '/?' + urlencode([('set', item) for item in OVERRIDES]))
    assert answer[b'server'] == [b'mine']
    assert answer[b'x-frame-options'] == [b'SAMEORIGIN']
    assert answer[b'date'] == [b'Thu, 01 Jan 1970 00:00:00 GMT']


def test_the_405_to_a_plain_connect_has_the_defaults(custom_server: ServerProcess) -> None:
    async def go() -> Response:
        async with h3_session(custom_server.port) as client:
            stream_id = client.open([(b':method', b'CONNECT'), (b':authority', b'localhost:443')], end_stream=True)
            return await client.response(stream_id)

    response = asyncio.run(go())
    assert response.status == 405
    answer = fields(response)
    assert answer[b'server'] == [b'edge'] and answer[b'x-frame-options'] == [b'DENY']
    assert len(answer[b'date']) == 1


def test_http1_and_http2_beside_it_carry_the_defaults_and_alt_svc(custom_server: ServerProcess, certs: Certs) -> None:
    verify = ssl.create_default_context(cafile=str(certs.ca))
    for http2 in (False, True):
        with httpx.Client(http1=not http2, http2=http2, verify=verify, timeout=20) as client:
            response = client.get(custom_server.url + '/?set=date:Thu, 01 Jan 1970 00:00:00 GMT')
        assert response.http_version == ('HTTP/2' if http2 else 'HTTP/1.1')
        headers = response.headers
        assert headers.get_list('server') == ['edge'] and headers.get_list('x-frame-options') == ['DENY']
        assert headers.get_list('date') == ['Thu, 01 Jan 1970 00:00:00 GMT']
        assert headers.get_list('alt-svc') == [f'h3=":{custom_server.port}"; ma=86400']


def test_no_server_and_no_date_over_http3(certs: Certs) -> None:
    server = start(certs, server_header=False, date_header=False)
    try:
        (answer,) = h3_get(server, '/')
        assert answer[b':status'] == [b'200']
        assert b'server' not in answer and b'date' not in answer
    finally:
        assert server.stop() == 0
