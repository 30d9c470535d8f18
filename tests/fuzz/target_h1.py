"""Fuzz target ``h1``: bytes into an HTTP/1.1 connection on a memory transport.

Input: ``[config][n][n cut points, 2 bytes each][payload]``. The payload is what a client sends,
delivered in the reads the cut points make (so a head split anywhere, a body split mid-chunk). The
config byte picks the server: a small buffer limit (so limits are reached by short inputs),
keep-alive off, WebSocket handshakes accepted (an echo session runs after the 101), whether
``Upgrade: h2c`` may switch the connection to HTTP/2, pipeline flushing, and the request parser
behind the seam (h11 or httptools: both must give every input the same kind of answer).

The handler answers every request: it reads the whole body, then ends with 200. Properties:

* no exception escapes ``data_received`` or reaches the loop (a scheduled pipeline step);
* what the transport received is zero or more complete HTTP/1.1 responses (an h11 client parses
  them), in order: a 200 for each request the handler answered, at most one refusal (4xx/5xx,
  ``connection: close``) and only last, after which the server had closed the transport; after an
  accepted upgrade, WebSocket frames or HTTP/2 frames that check out;
* after the client hangs up: every handler has finished, the connection holds no exchange and the
  worker's ``ctx.connections`` is empty;
* differential: a head the h11 parser's fast reader (``_fast_head``) takes from the payload reads
  as h11's own reader reads it (fields, body framing, where the head ends).
"""

from __future__ import annotations

import asyncio

import h11
from h11._connection import _body_framing
from h11._readers import maybe_read_from_IDLE_client
from h11._receivebuffer import ReceiveBuffer
from wsproto.connection import Connection as WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import CloseConnection

from granian_http import HTTP1Connection, HTTP1Settings, ServeContext
from granian_http.h1._events import ParseError
from granian_http.h1._guard import head_end
from granian_http.h1._h11 import _fast_head
from testkit.h1 import MemoryTransport

from .apps import App, Seen
from .h2check import check_server_frames
from .harness import (
    PropertyFailure,
    Reader,
    Target,
    cut,
    encode,
    expect,
    read_plan,
    run_async,
    serve_and_hang_up,
)
from .seeds import literals
from .wscheck import check_close_code

__all__ = ['TARGET']

_SMALL_BUFFER = 512


def _dummy_request(seen: Seen | None) -> h11.Request:
    # The h11 client needs the request to frame the response: HEAD has no body, and CONNECT is
    # not tunnelled by this server (a 2xx to it would otherwise switch h11 to a tunnel).
    method = seen.method if seen is not None and seen.method != 'CONNECT' else 'GET'
    headers = [('host', 'x')]
    if seen is None or seen.websocket:
        headers += [('connection', 'upgrade'), ('upgrade', 'websocket, h2c')]
    return h11.Request(method=method.encode('latin-1', 'replace'), target='/', headers=headers)


def _next_response(client: h11.Connection, written: bytes) -> h11.Response | h11.InformationalResponse | None:
    """The next final response (or 101) with its body read; None when none has begun."""
    final: h11.Response | h11.InformationalResponse | None = None
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError as exc:
            raise PropertyFailure(f'not a valid HTTP/1.1 response: {exc}; wrote {written[:300]!r}') from exc
        if event is h11.NEED_DATA:
            # Only a 100 Continue so far: the request body is still awaited and nothing more is
            # owed yet. Anything else is a response cut short.
            expect(final is None and not client.trailing_data[0], f'incomplete response: {written[-300:]!r}')
            return None
        if isinstance(event, h11.InformationalResponse):
            if event.status_code == 101:
                return event
            expect(event.status_code == 100, f'unexpected informational {event.status_code}')
        elif isinstance(event, h11.Response):
            final = event
        elif isinstance(event, h11.EndOfMessage):
            return final


def _check_http1(written: bytes, seen: list[Seen], server_closed: bool) -> tuple[bytes, bytes] | None:
    """Check the responses; return (upgrade protocol, bytes after the 101) after a switch."""
    client = h11.Connection(h11.CLIENT)
    client.receive_data(written)
    exchanges = [one for one in seen if not one.http2]
    answered = 0
    refused = False
    switched = b''
    # One more than the requests: a refusal or an h2c 101 has no request of its own; and one
    # more to see the switch.
    for index in range(len(exchanges) + 2):
        if client.their_state is h11.SWITCHED_PROTOCOL:
            return switched, bytes(client.trailing_data[0])
        if not client.trailing_data[0]:
            break
        expect(not refused, 'bytes after a refusal')
        one = exchanges[index] if index < len(exchanges) else None
        client.send(_dummy_request(one))
        client.send(h11.EndOfMessage())
        final = _next_response(client, written)
        if final is None:
            break
        status = final.status_code
        if status == 101:
            upgrade = dict(final.headers).get(b'upgrade', b'').lower()
            expect(upgrade in (b'websocket', b'h2c'), f'101 to {upgrade!r}')
            expect(upgrade == b'h2c' or (one is not None and one.websocket), 'a 101 for a WebSocket not accepted')
            switched = upgrade
            continue
        if status == 200:
            expect(one is not None and one.answered, 'a 200 nobody answered')
            answered += 1
        else:
            expect(400 <= status <= 599, f'refused with {status}')
            expect((b'connection', b'close') in final.headers, f'{status} without connection: close')
            expect(server_closed, f'{status} but the transport stayed open')
            refused = True
        if client.their_state is h11.MUST_CLOSE:
            if final.http_version == b'1.0' and (b'connection', b'keep-alive') in final.headers:
                # An HTTP/1.0 keep-alive answer, which h11 (speaking 1.1) takes for the end of
                # the connection: read on with a fresh client, as a 1.0 client would.
                rest = bytes(client.trailing_data[0])
                client = h11.Connection(h11.CLIENT)
                client.receive_data(rest)
                continue
            expect(not client.trailing_data[0], 'bytes after a response that ends the connection')
            break
        client.start_next_cycle()
    else:
        expect(not client.trailing_data[0], f'more responses than requests: {written[-300:]!r}')
    expect(answered == sum(one.answered and not one.websocket for one in exchanges), 'an answer missing')
    return None


def _check_websocket(data: bytes) -> None:
    client = WSConnection(ConnectionType.CLIENT)
    client.receive_data(data)
    for event in client.events():
        if isinstance(event, CloseConnection):
            check_close_code(event.code)


async def exercise(data: bytes) -> None:
    reader = Reader(data)
    config, points = read_plan(reader)
    payload = reader.rest()
    settings = HTTP1Settings(
        max_buffer_size=_SMALL_BUFFER if config & 1 else HTTP1Settings.max_buffer_size,
        keep_alive=not config & 2,
        pipeline_flush=bool(config & 16),
        parser='httptools' if config & 32 else 'h11',
    )
    app = App(accept_websockets=bool(config & 4))
    loop = asyncio.get_running_loop()
    ctx = ServeContext(app.handle, loop=loop, http1=settings, http_mode='1' if config & 8 else 'auto')
    conn = HTTP1Connection(ctx)
    transport = MemoryTransport(conn)
    try:
        conn.connection_made(transport)
        server_closed, written = await serve_and_hang_up(transport, cut(payload, points), app.tasks)
        after = _check_http1(written, app.seen, server_closed)
        if after is not None:
            protocol, rest = after
            if protocol == b'websocket':
                _check_websocket(rest)
            else:
                check_server_frames(rest)
        expect(not ctx.connections, f'connections left after connection_lost: {ctx.connections!r}')
        expect(conn._exchange is None, 'the connection still holds its exchange after connection_lost')
    finally:
        ctx.close()


def _check_fast_head(payload: bytes) -> None:
    """Differential: a head the h11 parser's fast reader takes reads exactly as h11's reader
    reads it (fields, framing, where it ends); one it passes over is h11's to decide anyway."""
    try:
        end = head_end(payload, 65536)
    except ParseError:
        return  # the guard refuses it: no parser reads it
    fast = _fast_head(payload, end) if end > 0 else None
    if fast is None:
        return
    head, length = fast
    buffer = ReceiveBuffer()
    buffer += payload
    try:
        request = maybe_read_from_IDLE_client(buffer)
        framing = _body_framing(request.method, request) if request is not None else None
    except h11.ProtocolError as exc:
        raise PropertyFailure(f'the fast head reader took a head h11 refuses ({exc}): {payload[:300]!r}') from exc
    expect(request is not None, f'the fast head reader took a head h11 finds incomplete: {payload[:300]!r}')
    assert request is not None
    expect(framing == ('content-length', (length,)), f'framing {framing!r}, fast reader said length {length}')
    fields = (request.method, request.target, request.http_version == b'1.1')
    expect((head.method, head.target, head.http11) == fields, f'{head!r} where h11 read {fields!r}')
    h11_headers = [(name, value) for _, name, value in request.headers._full_items]
    expect(head.headers == h11_headers, f'fields {head.headers!r} where h11 read {h11_headers!r}')
    expect(bytes(buffer) == payload[end:], 'the fast head reader ended the head elsewhere than h11')


def check(data: bytes) -> None:
    run_async(exercise(data))
    reader = Reader(data)
    read_plan(reader)
    _check_fast_head(reader.rest())


def _is_request(data: bytes) -> bool:
    head = data.split(b'\r\n', 1)[0]
    return b' HTTP/' in head and head[:1].isalpha() and head.split(b' ', 1)[0].isupper()


def seeds() -> list[bytes]:
    requests = list(literals(['http/*.py', 'e2e/test_bad_input.py', 'websocket/test_handshake.py'], _is_request))
    requests += [
        b'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
        b'PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc',
        b'GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.0\r\n\r\n',
        b'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
        b'\x81\x85\x01\x02\x03\x04iglhn\x88\x82\x01\x02\x03\x04\x02\xea',
        b'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n'
        b'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n'
        b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00',
    ]
    out = []
    for index, request in enumerate(requests):
        out.append(encode(request, config=index % 16))
        out.append(encode(request, config=4, points=(7, 20, 40)))
    return out


TARGET = Target(
    name='h1',
    check=check,
    seeds=seeds,
)
