"""``http1_settings.pipeline_flush``: the responses to a pipeline leave in one write, the same bytes.

Counted on the memory transport (every ``transport.write`` is one call there), then once against a
real server with a raw socket, with the option on and off.
"""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import pytest

from granian_http.exchange import Exchange
from granian_http.settings import HTTP1Settings
from testkit.h1 import Client, MemoryTransport, Server, respond
from testkit.process import api_server

pytestmark = pytest.mark.anyio

APPS = Path(__file__).parent / 'apps'
_DATE = re.compile(rb'date: [^\r]*\r\n')


def pipeline(count: int, *, last: str = '') -> bytes:
    """``count`` GET requests in one piece, for ``/0`` .. ``/count-1``; ``last`` adds header lines
    to the last one."""
    return b''.join(
        f'GET /{idx} HTTP/1.1\r\nHost: x\r\n{last if idx == count - 1 else ""}\r\n'.encode() for idx in range(count)
    )


def echo_path(exchange: Exchange) -> None:
    """Answer at once, as an app does that never waits (its task runs eagerly)."""
    respond(exchange, exchange.raw_path)


async def turns(count: int = 40) -> None:
    # Each pipelined request is parsed on a loop turn of its own.
    for _ in range(count):
        await asyncio.sleep(0)


async def serve(data: bytes, *, flush: bool) -> MemoryTransport:
    server = Server(echo_path, settings=HTTP1Settings(pipeline_flush=flush))
    server.send(data)
    await turns()
    return server.transport


def bodies(data: bytes) -> list[bytes]:
    """The bodies of the responses in ``data``, checked as valid HTTP/1.1 by an h11 client."""
    out = []
    # An h11 client parses one response per request it sent: one client per response.
    while data:
        client = Client()
        client.request()
        head_end = data.index(b'\r\n\r\n') + 4
        length = int(re.search(rb'content-length: (\d+)', data[:head_end]).group(1))  # type: ignore[union-attr]
        ((response, body),) = client.responses(data[: head_end + length])
        assert response.status_code == 200
        out.append(body)
        data = data[head_end + length :]
    return out


async def test_ten_pipelined_responses_leave_in_one_write_with_the_same_bytes() -> None:
    off = await serve(pipeline(10), flush=False)
    on = await serve(pipeline(10), flush=True)
    assert off.writes == 10
    assert on.writes == 1
    # The same bytes (the date header aside: the two servers may straddle a second).
    assert _DATE.sub(b'', bytes(on.written)) == _DATE.sub(b'', bytes(off.written))
    assert bodies(bytes(on.written)) == [f'/{idx}'.encode() for idx in range(10)]
    assert not on.closing


async def test_a_single_request_is_written_at_once() -> None:
    transport = await serve(pipeline(1), flush=True)
    assert transport.writes == 1
    server = Server(echo_path, settings=HTTP1Settings(pipeline_flush=True))
    server.send(pipeline(1))
    assert server.transport.writes == 1  # within data_received: nothing waits for a later turn


async def test_a_response_the_app_finishes_later_is_not_held() -> None:
    server = Server(settings=HTTP1Settings(pipeline_flush=True))
    server.send(pipeline(3))
    respond(server.exchanges[0], b'first')
    # Not answered within its dispatch: from then on it goes out as it comes.
    assert server.transport.writes == 1
    await turns()
    respond(server.exchanges[1], b'second')
    assert server.transport.writes == 2
    await turns()
    respond(server.exchanges[2], b'third')
    assert server.transport.writes == 3
    assert bodies(server.transport.take()) == [b'first', b'second', b'third']


async def test_a_partial_head_behind_the_pipeline_does_not_hold_the_responses() -> None:
    server = Server(echo_path, settings=HTTP1Settings(pipeline_flush=True))
    data = pipeline(3) + b'GET /3 HTTP/1.1\r\nHo'
    server.send(data)
    await turns()
    # The client may wait for these before it sends the rest of its next request.
    assert server.transport.writes == 1
    assert bodies(server.transport.take()) == [b'/0', b'/1', b'/2']
    server.send(b'st: x\r\n\r\n')
    await turns()
    assert bodies(server.transport.take()) == [b'/3']


async def test_a_pipeline_ending_with_connection_close_is_sent_then_closed() -> None:
    transport = await serve(pipeline(5, last='Connection: close\r\n'), flush=True)
    assert transport.writes == 1
    assert bodies(bytes(transport.written)) == [f'/{idx}'.encode() for idx in range(5)]
    assert transport.closing


async def test_a_bad_request_in_the_pipeline_is_refused_after_the_answers_before_it() -> None:
    transport = await serve(pipeline(2) + b'NOT HTTP\r\n\r\n', flush=True)
    data = bytes(transport.written)
    first, second, refusal = data.split(b'HTTP/1.1 ')[1:]
    assert (first.startswith(b'200 '), second.startswith(b'200 '), refusal.startswith(b'400 ')) == (True,) * 3
    assert transport.closing


async def test_large_responses_are_sent_as_they_pass_64_kib() -> None:
    def big(exchange: Exchange) -> None:
        respond(exchange, exchange.raw_path * 20_000)

    for flush in (False, True):
        server = Server(big, settings=HTTP1Settings(pipeline_flush=flush))
        server.send(pipeline(4))
        await turns()
        # Each response is about 40 KB, one write without the option. With it, never more than
        # 64 KiB is held: two responses collected pass that and leave together, twice.
        assert server.transport.writes == (2 if flush else 4)
        assert bodies(server.transport.take()) == [f'/{idx}'.encode() * 20_000 for idx in range(4)]


async def test_a_websocket_upgrade_behind_a_request_comes_after_its_response() -> None:
    accepted = []

    def handler(exchange: Exchange) -> None:
        if exchange.websocket is not None:
            accepted.append(exchange.accept_websocket())
        else:
            respond(exchange, b'plain')

    server = Server(handler, settings=HTTP1Settings(pipeline_flush=True))
    upgrade = (
        b'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
    )
    server.send(pipeline(1) + upgrade)
    await turns()
    assert accepted
    data = server.transport.take()
    assert data.startswith(b'HTTP/1.1 200 ')
    assert data.index(b'HTTP/1.1 101 ') > data.index(b'plain')


# -- a real server ---------------------------------------------------------------------------------


def read_responses(sock: socket.socket, count: int) -> list[bytes]:
    """Read ``count`` responses (content-length framed) and return them without their date."""
    data = b''
    out: list[bytes] = []
    while len(out) < count:
        head_end = data.find(b'\r\n\r\n')
        match = re.search(rb'content-length: (\d+)', data[:head_end]) if head_end >= 0 else None
        if match and len(data) >= head_end + 4 + int(match.group(1)):
            end = head_end + 4 + int(match.group(1))
            out.append(_DATE.sub(b'', data[:end]))
            data = data[end:]
            continue
        chunk = sock.recv(65536)
        assert chunk, f'the server closed after {len(out)} responses'
        data += chunk
    return out


@pytest.mark.parametrize('path', ['/p', '/big'])
def test_raw_socket_pipeline_gets_the_same_responses_with_and_without_flush(path: str) -> None:
    requests = b''.join(f'GET {path}{idx} HTTP/1.1\r\nHost: x\r\n\r\n'.encode() for idx in range(10))
    seen = []
    for flush in (False, True):
        server = api_server(
            'path_app:app',
            interface='asgi',
            working_dir=str(APPS),
            http='1',
            http1_settings=HTTP1Settings(pipeline_flush=flush),
        ).ready()
        try:
            with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
                sock.sendall(requests)
                seen.append(read_responses(sock, 10))
        finally:
            assert server.stop() == 0
    off, on = seen
    assert on == off
    assert [response.rsplit(b'\r\n\r\n', 1)[1][: len(path) + 1] for response in on] == [
        f'{path}{idx}'.encode()[: len(path) + 1] for idx in range(10)
    ]
