"""The fields the protocol layer adds to every response (``server``, ``date``, configured default
headers), on both protocols, checked with the reference clients (h11, h2) on memory transports.

The rule on every path that writes a head: each default is added unless the app set that name, so
no response ever carries a field twice because of us.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
from typing import Any

import h11
import pytest

from granian_http import ServeContext
from granian_http.exchange import Exchange
from testkit.h1 import Client as H1Client
from testkit.h1 import Server as H1Server
from testkit.h1 import respond, settle
from testkit.h2 import Pair, Response
from testkit.h2 import Server as H2Server
from testkit.h2ws import open_websocket

pytestmark = pytest.mark.anyio

EXTRA = [(b'X-Frame-Options', b'DENY'), (b'strict-transport-security', b' max-age=63072000 ')]
CUSTOM: dict[str, Any] = {'default_headers': EXTRA}
BARE: dict[str, Any] = {'server_header': False, 'date_header': False}


def all_values(headers: Any, name: bytes) -> list[bytes]:
    return [bytes(value) for key, value in headers if bytes(key).lower() == name]


def h1_response(options: dict[str, Any], app_headers: Any = (), status: int = 200) -> h11.Response:
    server = H1Server(**options)
    client = H1Client()
    server.send(client.request())
    respond(server.exchanges[0], b'body', status, app_headers)
    ((response, _),) = client.responses(server.transport.take())
    return response


async def h2_response(options: dict[str, Any], app_headers: Any = (), streamed: bool = False) -> list[Any]:
    def handle(exchange: Exchange) -> None:
        exchange.start(200, list(app_headers))
        if streamed:
            exchange.write(b'part')
        exchange.end(b'body')

    pair = Pair(H2Server(handler=handle, **options))
    stream = pair.client.request()
    await pair.settle()
    return pair.client.responses[stream].headers


# -- HTTP/1.1 ----------------------------------------------------------------------------------------


async def test_h1_defaults_are_server_and_a_current_date() -> None:
    response = h1_response({})
    assert all_values(response.headers, b'server') == [b'granian']
    (date,) = all_values(response.headers, b'date')
    assert email.utils.parsedate_to_datetime(date.decode()).tzname() == 'UTC'


async def test_h1_configured_defaults_are_added_lower_case_and_trimmed() -> None:
    response = h1_response(CUSTOM)
    assert all_values(response.headers, b'x-frame-options') == [b'DENY']
    assert all_values(response.headers, b'strict-transport-security') == [b'max-age=63072000']
    assert all_values(response.headers, b'server') == [b'granian']
    assert len(all_values(response.headers, b'date')) == 1


async def test_h1_the_apps_own_fields_win_and_are_never_doubled() -> None:
    app = [(b'Server', b'mine'), (b'date', b'Thu, 01 Jan 1970 00:00:00 GMT'), (b'x-frame-options', b'SAMEORIGIN')]
    response = h1_response(CUSTOM, app)
    assert all_values(response.headers, b'server') == [b'mine']
    assert all_values(response.headers, b'date') == [b'Thu, 01 Jan 1970 00:00:00 GMT']
    assert all_values(response.headers, b'x-frame-options') == [b'SAMEORIGIN']
    # The defaults it did not set are still there.
    assert all_values(response.headers, b'strict-transport-security') == [b'max-age=63072000']


async def test_h1_without_server_and_date() -> None:
    response = h1_response(BARE)
    assert all_values(response.headers, b'server') == []
    assert all_values(response.headers, b'date') == []
    # The app may still send its own.
    response = h1_response(BARE, [(b'server', b'mine')])
    assert all_values(response.headers, b'server') == [b'mine']


async def test_a_configured_server_replaces_ours_even_when_ours_is_off() -> None:
    for server_header in (True, False):
        options = {'server_header': server_header, 'default_headers': [(b'server', b'edge')]}
        assert all_values(h1_response(options).headers, b'server') == [b'edge']


async def test_h1_streamed_response_and_errors_carry_the_defaults() -> None:
    server = H1Server(**CUSTOM)
    client = H1Client()
    server.send(client.request())
    exchange = server.exchanges[0]
    exchange.start(200, [(b'x-frame-options', b'SAMEORIGIN')])
    exchange.write(b'part')
    exchange.end()
    ((response, body),) = client.responses(server.transport.take())
    assert body == b'part'
    assert all_values(response.headers, b'transfer-encoding') == [b'chunked']
    assert all_values(response.headers, b'x-frame-options') == [b'SAMEORIGIN']
    assert all_values(response.headers, b'strict-transport-security') == [b'max-age=63072000']
    # An error the server answers itself (here a request line it cannot parse).
    server = H1Server(**CUSTOM)
    server.send(b'NOT HTTP\r\n\r\n')
    head = server.transport.take().split(b'\r\n\r\n')[0].lower().split(b'\r\n')
    assert head[0].startswith(b'http/1.1 400')
    assert head.count(b'server: granian') == 1
    assert head.count(b'x-frame-options: deny') == 1
    assert sum(line.startswith(b'date: ') for line in head) == 1


async def test_h1_websocket_101_carries_the_defaults_unless_the_app_set_them() -> None:
    def accept(exchange: Exchange) -> None:
        exchange.accept_websocket(None, [(b'x-frame-options', b'SAMEORIGIN')])

    server = H1Server(handler=accept, **CUSTOM)
    key = base64.b64encode(b'0123456789abcdef')
    server.send(
        b'GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n'
        b'sec-websocket-version: 13\r\nsec-websocket-key: ' + key + b'\r\n\r\n'
    )
    await settle()
    head = server.transport.take().split(b'\r\n\r\n')[0].split(b'\r\n')
    assert head[0] == b'HTTP/1.1 101 Switching Protocols'
    assert head.count(b'server: granian') == 1
    assert head.count(b'x-frame-options: SAMEORIGIN') == 1
    assert head.count(b'strict-transport-security: max-age=63072000') == 1
    assert not [line for line in head if line.lower() == b'x-frame-options: deny']


# -- HTTP/2 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize('streamed', [False, True], ids=['whole', 'streamed'])
async def test_h2_defaults_overrides_and_bare(streamed: bool) -> None:
    headers = await h2_response({}, streamed=streamed)
    assert all_values(headers, b'server') == [b'granian']
    assert len(all_values(headers, b'date')) == 1
    headers = await h2_response(CUSTOM, [(b'x-frame-options', b'SAMEORIGIN'), (b'server', b'mine')], streamed)
    assert all_values(headers, b'server') == [b'mine']
    assert all_values(headers, b'x-frame-options') == [b'SAMEORIGIN']
    assert all_values(headers, b'strict-transport-security') == [b'max-age=63072000']
    assert len(all_values(headers, b'date')) == 1
    headers = await h2_response(BARE, streamed=streamed)
    assert all_values(headers, b'server') == all_values(headers, b'date') == []


async def test_h2_cached_heads_follow_each_worker_and_each_second() -> None:
    # Two contexts in one process (embedded servers, tests) share the module's cache of encoded
    # heads: identical responses must still get each context's own fields.
    first = await h2_response(CUSTOM)
    second = await h2_response(BARE)
    third = await h2_response(CUSTOM)
    assert all_values(first, b'x-frame-options') == all_values(third, b'x-frame-options') == [b'DENY']
    assert all_values(second, b'x-frame-options') == all_values(second, b'server') == []
    # A new second is a new snapshot: the date a cached head carries is never last second's.
    pair = Pair(H2Server(handler=lambda exchange: respond_now(exchange)))
    ctx = pair.server.ctx
    before = ctx.response_defaults
    ctx.close()
    ctx.response_defaults = type(before)(
        tuple((name, b'Thu, 01 Jan 1970 00:00:00 GMT' if name == b'date' else value) for name, value in before.fields),
        before.extra_names,
    )
    stream = pair.client.request()
    await pair.settle()
    assert all_values(pair.client.responses[stream].headers, b'date') == [b'Thu, 01 Jan 1970 00:00:00 GMT']


def respond_now(exchange: Exchange) -> None:
    respond(exchange, b'same response')


async def test_h2_refused_connect_and_websocket_accept_carry_the_defaults() -> None:
    def accept(exchange: Exchange) -> None:
        exchange.accept_websocket(None, [(b'x-frame-options', b'SAMEORIGIN')])

    pair = Pair(H2Server(handler=accept, **CUSTOM))
    ws = open_websocket(pair.client, '/ws')
    tunnel = pair.client.conn.get_next_available_stream_id()
    pair.client.conn.send_headers(tunnel, [(':method', 'CONNECT'), (':authority', 'example.com:443')])
    pair.client.responses[tunnel] = Response(tunnel)
    await pair.settle()
    accepted = pair.client.responses[ws.stream_id]
    assert accepted.status == 200
    assert all_values(accepted.headers, b'x-frame-options') == [b'SAMEORIGIN']
    assert all_values(accepted.headers, b'server') == [b'granian']
    refused = pair.client.responses[tunnel]
    assert refused.status == 405
    assert all_values(refused.headers, b'x-frame-options') == [b'DENY']
    assert all_values(refused.headers, b'server') == [b'granian']
    assert len(all_values(refused.headers, b'date')) == 1


async def test_h2_early_hints_carry_only_the_apps_fields() -> None:
    def hints(exchange: Exchange) -> None:
        exchange.early_hints([(b'link', b'</a.css>; rel=preload')])
        respond(exchange)

    pair = Pair(H2Server(handler=hints, **CUSTOM))
    stream = pair.client.request()
    await pair.settle()
    (informational,) = pair.client.responses[stream].informational
    assert [name for name, _ in informational] == [b':status', b'link']
    assert all_values(pair.client.responses[stream].headers, b'x-frame-options') == [b'DENY']


# -- the context's own guard -------------------------------------------------------------------------


@pytest.mark.parametrize(
    'headers',
    [
        [(b'bad name', b'x')],
        [(b'x-a', b'one\r\nx-b: two')],
        [(b'x-a', b'nul\x00')],
        [(b'content-length', b'0')],
        [(b'Transfer-Encoding', b'chunked')],
        [(b'connection', b'close')],
        [(b'date', b'Thu, 01 Jan 1970 00:00:00 GMT')],
        [(b'server', b'a'), (b'server', b'b')],
    ],
)
async def test_the_context_refuses_defaults_it_cannot_send(headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(ValueError):
        ServeContext(lambda exchange: None, loop=asyncio.get_running_loop(), default_headers=headers)


async def test_without_a_date_there_is_no_timer() -> None:
    ctx = ServeContext(lambda exchange: None, loop=asyncio.get_running_loop(), date_header=False)
    assert ctx._date_timer is None
    ctx = ServeContext(lambda exchange: None, loop=asyncio.get_running_loop())
    assert ctx._date_timer is not None
    ctx.close()
