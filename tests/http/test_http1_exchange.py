"""HTTP/1.1 requests and responses through HTTP1Connection, checked with an h11 client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import h11
import pytest

from granian_http.exchange import ClientDisconnected, Exchange, ResponseStateError
from granian_http.settings import HTTP1Settings
from testkit.h1 import Client, Server, header, respond, settle

pytestmark = pytest.mark.anyio


async def test_get_reaches_handler_complete_and_response_is_valid() -> None:
    server = Server()
    client = Client()
    server.send(client.request('GET', '/a%20b/c?x=1&y=%20', headers=[('X-Thing', 'one'), ('x-thing', 'two')]))
    (exchange,) = server.exchanges
    assert exchange.method == 'GET'
    assert exchange.raw_path == b'/a%20b/c'
    assert exchange.query_string == b'x=1&y=%20'
    assert exchange.http_version == '1.1'
    assert exchange.scheme == 'http'
    assert exchange.client == ('127.0.0.1', 50000)
    assert exchange.server == ('127.0.0.1', 8000)
    assert exchange.authority is None
    assert exchange.headers == [(b'host', b'example.com'), (b'x-thing', b'one'), (b'x-thing', b'two')]
    # A bodyless request is complete before the app sees it: no extra wait for the end.
    assert exchange.body_complete
    assert await exchange.read_body() == b''

    respond(exchange, b'hello', headers=[(b'Content-Type', b'text/plain')])
    assert server.transport.writes == 1  # head and body leave together
    ((response, body),) = client.responses(server.transport.take())
    assert response.status_code == 200
    assert body == b'hello'
    assert header(response, b'content-type') == b'text/plain'
    assert header(response, b'content-length') == b'5'
    assert header(response, b'server') == b'granian'
    assert header(response, b'date') is not None
    assert not server.transport.closing


async def test_keep_alive_serves_requests_in_turn() -> None:
    server = Server()
    client = Client()
    for idx in range(3):
        server.send(client.request('GET', f'/{idx}'))
        respond(server.exchanges[idx], str(idx).encode())
        ((_response, body),) = client.responses(server.transport.take())
        assert body == str(idx).encode()
    assert not server.transport.closing


async def test_pipelined_requests_are_answered_in_order() -> None:
    server = Server()
    data = b''.join(f'GET /{idx} HTTP/1.1\r\nHost: x\r\n\r\n'.encode() for idx in range(3))
    server.send(data)
    # One request at a time: the next waits for this response.
    assert len(server.exchanges) == 1
    for idx in range(3):
        assert server.exchanges[idx].raw_path == f'/{idx}'.encode()
        respond(server.exchanges[idx], str(idx).encode())
        await settle()
        client = Client()
        client.request()  # an h11 client cannot pipeline: one client per response
        ((_response, body),) = client.responses(server.transport.take())
        assert body == str(idx).encode()
    assert len(server.exchanges) == 3


async def test_http10_closes_unless_keep_alive_is_asked() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.0\r\n\r\n')
    (exchange,) = server.exchanges
    assert exchange.http_version == '1'
    respond(exchange, b'x')
    data = server.transport.take()
    assert data.startswith(b'HTTP/1.0 200 OK\r\n')
    assert b'connection: close\r\n' in data
    assert server.transport.closing

    server = Server()
    server.send(b'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
    respond(server.exchanges[0], b'x')
    data = server.transport.take()
    assert b'connection: keep-alive\r\n' in data
    assert not server.transport.closing


async def test_http10_stream_is_close_delimited() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.0\r\n\r\n')
    exchange = server.exchanges[0]
    exchange.start(200, [])
    exchange.write(b'abc')
    exchange.end(b'def')
    data = server.transport.take()
    assert b'transfer-encoding' not in data
    assert data.endswith(b'\r\n\r\nabcdef')
    assert server.transport.closing


async def test_chunked_request_body_is_reassembled() -> None:
    server = Server()
    server.send(b'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    exchange = server.exchanges[0]
    assert not exchange.body_complete
    assert await exchange.read_body() == b'hello'
    reader = asyncio.ensure_future(exchange.read_body())
    await settle()
    assert not reader.done()
    server.send(b'6\r\n world\r\n0\r\n\r\n')
    assert await reader == b' world'
    assert exchange.body_complete
    assert await exchange.read_body() == b''


async def test_streamed_response_is_chunked_with_trailers() -> None:
    server = Server()
    client = Client()
    server.send(client.request())
    exchange = server.exchanges[0]
    exchange.start(200, [(b'x-a', b'1')])
    exchange.write(b'one')
    exchange.write(b'')
    exchange.write(b'two')
    exchange.end(b'three', trailers=[(b'X-Checksum', b'abc')])
    data = server.transport.take()
    assert b'transfer-encoding: chunked\r\n' in data
    assert data.endswith(b'0\r\nx-checksum: abc\r\n\r\n')
    ((_response, body),) = client.responses(data)
    assert body == b'onetwothree'


async def test_expect_100_continue_is_sent_when_the_body_is_read() -> None:
    server = Server()
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n')
    exchange = server.exchanges[0]
    assert server.transport.take() == b''
    reader = asyncio.ensure_future(exchange.read_body())
    await settle()
    assert server.transport.take() == b'HTTP/1.1 100 Continue\r\n\r\n'
    server.send(b'abc')
    assert await reader == b'abc'


async def test_expect_100_continue_without_reading_closes_after_the_response() -> None:
    server = Server()
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n')
    respond(server.exchanges[0], b'no thanks', status=413)
    data = server.transport.take()
    assert data.startswith(b'HTTP/1.1 413 ')
    assert b'100 Continue' not in data
    assert server.transport.closing


async def test_head_response_has_no_body_but_keeps_length() -> None:
    server = Server()
    server.send(b'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n')
    respond(server.exchanges[0], b'', headers=[(b'content-length', b'42')])
    data = server.transport.take()
    assert data.endswith(b'\r\n\r\n')
    assert b'content-length: 42\r\n' in data
    assert not server.transport.closing


@pytest.mark.parametrize('status', [204, 304])
async def test_bodyless_statuses(status: int) -> None:
    server = Server()
    client = Client()
    server.send(client.request())
    respond(server.exchanges[0], b'', status=status)
    data = server.transport.take()
    assert b'content-length' not in data
    assert b'transfer-encoding' not in data
    ((response, _body),) = client.responses(data)
    assert response.status_code == status


async def test_app_content_length_is_honoured_and_enforced() -> None:
    server = Server()
    client = Client()
    server.send(client.request())
    exchange = server.exchanges[0]
    exchange.start(200, [(b'content-length', b'6')])
    exchange.write(b'abc')
    exchange.end(b'def')
    ((response, body),) = client.responses(server.transport.take())
    assert body == b'abcdef'
    assert header(response, b'transfer-encoding') is None
    assert not server.transport.closing

    # More bytes than announced: the excess never reaches the wire and the connection closes.
    server.send(client.request())
    exchange = server.exchanges[1]
    exchange.start(200, [(b'content-length', b'2')])
    exchange.end(b'abcdef')
    data = server.transport.take()
    assert data.endswith(b'\r\n\r\nab')
    assert server.transport.closing


async def test_short_body_against_content_length_closes() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    exchange = server.exchanges[0]
    exchange.start(200, [(b'content-length', b'10')])
    exchange.end(b'abc')
    assert server.transport.closing


@pytest.mark.parametrize(
    'headers',
    [
        [(b'x-bad', b'a\r\nx-injected: 1')],
        [(b'x-bad', b'a\nb')],
        [(b'x bad', b'a')],
        [(b'x-bad:', b'a')],
        [(b'x-nul', b'a\x00b')],
        [(b'content-length', b'12a')],
    ],
)
async def test_unsafe_response_headers_are_refused(headers: list[tuple[bytes, bytes]]) -> None:
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    exchange = server.exchanges[0]
    exchange.start(200, headers)
    with pytest.raises(ValueError):
        exchange.end(b'x')
    assert server.transport.take() == b''
    # Nothing was written, so the response can still become an error.
    assert not exchange.response_started
    exchange.start(500, [])
    exchange.end(b'failed')
    assert server.transport.take().startswith(b'HTTP/1.1 500 ')


@pytest.mark.parametrize('status', [100, 101, 103, 199])
async def test_an_informational_status_cannot_end_a_response(status: int) -> None:
    # Found by the rsgi-messages fuzz target: a 1xx head went out as the final response, and the
    # client waited for another one on a connection the server kept open.
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    exchange = server.exchanges[0]
    exchange.start(status, [])
    with pytest.raises(ValueError, match='final response'):
        exchange.end(b'x')
    assert server.transport.take() == b''
    exchange.start(500, [])
    exchange.end()
    assert server.transport.take().startswith(b'HTTP/1.1 500 ')


async def test_response_order_errors() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    exchange = server.exchanges[0]
    with pytest.raises(ResponseStateError):
        exchange.write(b'x')
    with pytest.raises(ResponseStateError):
        exchange.end(b'x')
    exchange.start(200, [])
    exchange.write(b'x')
    with pytest.raises(ResponseStateError):
        exchange.start(200, [])
    exchange.end()
    with pytest.raises(ResponseStateError):
        exchange.end()


async def test_app_connection_close_is_honoured() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    respond(server.exchanges[0], b'bye', headers=[(b'Connection', b'close')])
    data = server.transport.take()
    assert data.count(b'connection: close') == 1
    assert server.transport.closing


async def test_client_connection_close_is_honoured() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    respond(server.exchanges[0])
    assert b'connection: close\r\n' in server.transport.take()
    assert server.transport.closing


async def test_keep_alive_setting_off_closes_every_connection() -> None:
    server = Server(settings=HTTP1Settings(keep_alive=False))
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    respond(server.exchanges[0])
    assert b'connection: close\r\n' in server.transport.take()
    assert server.transport.closing


async def test_disconnect_mid_body_reaches_the_exchange() -> None:
    server = Server()
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc')
    exchange = server.exchanges[0]
    assert await exchange.read_body() == b'abc'
    waiter = asyncio.ensure_future(exchange.wait_disconnect())
    complete = asyncio.ensure_future(exchange.wait_complete())
    server.conn.connection_lost(None)
    await settle()
    assert waiter.done() and complete.done()
    assert exchange.disconnected
    with pytest.raises(ClientDisconnected):
        await exchange.read_body()
    # Writes after the client left are dropped, not errors.
    exchange.start(200, [])
    exchange.end(b'late')


async def test_wait_complete_resolves_when_the_response_ends() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    exchange = server.exchanges[0]
    waiter = asyncio.ensure_future(exchange.wait_complete())
    await settle()
    assert not waiter.done()
    respond(exchange)
    await settle()
    assert waiter.done()
    assert not exchange.disconnected


async def test_unread_body_is_drained_before_the_next_request() -> None:
    server = Server()
    client = Client()
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nabcd')
    respond(server.exchanges[0], b'early')
    # The rest of the body, then the next request, arrive later.
    server.send(b'efgh' + client.request('GET', '/next')[0:0] + b'GET /next HTTP/1.1\r\nHost: x\r\n\r\n')
    await settle()
    assert len(server.exchanges) == 2
    assert server.exchanges[1].raw_path == b'/next'
    assert not server.transport.closing


async def test_absolute_form_target() -> None:
    server = Server()
    server.send(b'GET http://example.com/p/q?z=1 HTTP/1.1\r\nHost: example.com\r\n\r\n')
    exchange = server.exchanges[0]
    assert exchange.raw_path == b'/p/q'
    assert exchange.query_string == b'z=1'


async def test_leading_empty_lines_are_ignored() -> None:
    server = Server()
    server.send(b'\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n')
    assert server.exchanges[0].raw_path == b'/x'


async def test_unix_socket_peer() -> None:
    server = Server(peer='')
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    exchange = server.exchanges[0]
    assert exchange.client is None
    assert exchange.server == ('/tmp/granian.sock', 0)


async def test_handler_failure_becomes_500() -> None:
    def broken(exchange: Exchange) -> None:
        raise RuntimeError('boom')

    server = Server(handler=broken)
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    data = server.transport.take()
    assert data.startswith(b'HTTP/1.1 500 ')
    assert server.transport.closing


async def test_h11_client_agrees_with_every_framing() -> None:
    """Our writer against h11 as the reference parser, across methods, versions and bodies."""
    for body in (b'', b'x', b'y' * 100_000):
        for streamed in (False, True):
            server = Server()
            client = Client()
            server.send(client.request('GET'))
            exchange = server.exchanges[0]
            exchange.start(200, [(b'x-case', b'1')])
            if streamed:
                exchange.write(body[: len(body) // 2])
                exchange.end(body[len(body) // 2 :])
            else:
                exchange.end(body)
            ((response, received),) = client.responses(server.transport.take())
            assert received == body
            assert isinstance(response, h11.Response)


async def test_body_chunks_reach_the_app_as_bytes() -> None:
    server = Server()
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc')
    chunk = await server.exchanges[0].read_body()
    assert type(chunk) is bytes and chunk == b'abc'


async def test_send_file_shorter_than_the_announced_length_closes(tmp_path: Path) -> None:
    path = tmp_path / 'data.bin'
    path.write_bytes(b'z' * 200_000)
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    exchange = server.exchanges[0]
    exchange.start(200, [(b'content-length', b'300000')])
    await exchange.send_file(path)
    data = server.transport.take()
    assert b'content-length: 300000\r\n' in data
    assert server.transport.closing


async def test_disconnect_reaches_a_finished_exchange_on_a_keep_alive_connection() -> None:
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    first = server.exchanges[0]
    respond(first)
    # A cancelled wait (what apps do once they answered) leaves nothing behind...
    cancelled = asyncio.ensure_future(first.wait_disconnect())
    await settle()
    cancelled.cancel()
    await settle()
    assert not server.conn._disconnect_watchers
    # ...and a later one still learns when the connection closes, after other requests.
    waiting = asyncio.ensure_future(first.wait_disconnect())
    server.send(b'GET /next HTTP/1.1\r\nHost: x\r\n\r\n')
    respond(server.exchanges[1])
    await settle()
    assert not waiting.done()
    server.conn.connection_lost(None)
    await settle()
    assert waiting.done() and first.disconnected


async def test_a_cancelled_wait_for_completion_does_not_spoil_the_next() -> None:
    # receive() polled with a timeout cancels its wait; the next one must still wait, not raise.
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    (exchange,) = server.exchanges
    with pytest.raises(asyncio.TimeoutError):  # not the builtin TimeoutError before 3.11
        await asyncio.wait_for(exchange.wait_complete(), 0.01)
    waiting = asyncio.ensure_future(exchange.wait_complete())
    await settle()
    assert not waiting.done()
    respond(exchange)
    await asyncio.wait_for(waiting, 1)


async def test_a_streaming_app_learns_at_once_that_the_client_reset() -> None:
    # asyncio drops writes on a reset connection and reports the loss a loop turn later; an app
    # that streams without waiting must not write into nothing for ever.
    server = Server()
    server.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    (exchange,) = server.exchanges
    exchange.start(200, [])
    exchange.write(b'first')
    server.transport.closing = True  # what asyncio's transport says once the peer reset
    exchange.write(b'second')
    assert exchange.disconnected
