"""Fuzz target ``asgi-messages``: the ASGI ``send`` validation, fed message dicts built from fuzzer data.

Input: a list of message choices: the ``type`` (every one the interface knows, an unknown one, or
none), and for each field a value from a pool of right and wrong kinds (status as int, str, float,
out of range; headers as byte pairs, str pairs, bad tuples, line breaks; bodies as bytes, str,
None, memoryview; ``more_body``, ``trailers``, a path that exists or not). The messages go one by
one to :class:`granian_server.interfaces.asgi.HTTPCycle` on a real HTTP/1.1 exchange (a connection
on a memory transport), as an app would send them, and the cycle is finished as the interface
does when the app returns or raises.

Properties:

* ``send`` raises only what is documented: :class:`RuntimeError` with upstream's texts, or
  :class:`TypeError`/:class:`ValueError` for a value of the wrong kind; then the app "raises" it;
* the connection is never left broken: the client gets one complete HTTP/1.1 response, or the
  connection is closed (a cut-short body); if it stays open, a second request is answered.
"""

from __future__ import annotations

import asyncio
from typing import Any

from granian_http import Exchange, HTTP1Connection, ServeContext
from granian_server.interfaces.asgi import HTTPCycle
from testkit.h1 import MemoryTransport

from .h1check import check_response, serve_next
from .harness import Reader, Target, expect, hang_up, run_async, settle

__all__ = ['TARGET']

_UPSTREAM_ERRORS = {
    'Unsupported ASGI message',
    'ASGI flow error: Response not started',
    'ASGI flow error: Response already started',
    'ASGI flow error: Response already finished',
}
_TYPES = (
    'http.response.start',
    'http.response.body',
    'http.response.body',
    'http.response.trailers',
    'http.response.pathsend',
    'http.response.early_hint',
    'http.response.bogus',
    None,
)
_STATUSES = (200, 204, 304, 404, 500, 99, 600, '200', 200.0, None, True, -1)
_HEADERS = (
    [],
    [(b'content-type', b'text/plain')],
    [(b'content-length', b'3')],
    [(b'content-length', b'999')],
    [(b'transfer-encoding', b'chunked')],
    [(b'x', b'a\r\nb')],
    [(b'bad name', b'v')],
    [('str', 'header')],
    [(b'only-one',)],
    [(b'content-type', b'text/event-stream')],
    None,
    'not a list',
    [(b'connection', b'close')],
)
_BODIES = (b'', b'abc', b'x' * 70_000, bytearray(b'ba'), memoryview(b'mv'), 'str', None, 5)
_PATHS = (__file__, '/nonexistent/file', '', None, 7)
_FLAGS = (True, False, None, 'yes', 0)


def _message(reader: Reader) -> Any:
    kind = reader.choice(_TYPES)
    message: dict[str, Any] = {} if kind is None else {'type': kind}
    present = reader.uint()
    if present & 1:
        message['status'] = reader.choice(_STATUSES)
    if present & 2:
        message['headers'] = reader.choice(_HEADERS)
    if present & 4:
        message['body'] = reader.choice(_BODIES)
    if present & 8:
        message['more_body'] = reader.choice(_FLAGS)
    if present & 16:
        message['trailers'] = reader.choice(_FLAGS)
    if present & 32:
        message['path'] = reader.choice(_PATHS)
    if present & 64:
        message['more_trailers'] = reader.choice(_FLAGS)
    if present & 128:
        return reader.choice((None, 'http.response.start', 42, [message]))  # not a dict at all
    return message


async def exercise(data: bytes) -> None:
    reader = Reader(data)
    exchanges: list[Exchange] = []
    loop = asyncio.get_running_loop()
    ctx = ServeContext(exchanges.append, loop=loop)
    conn = HTTP1Connection(ctx)
    transport = MemoryTransport(conn)
    try:
        conn.connection_made(transport)
        conn.data_received(b'GET / HTTP/1.1\r\nhost: x\r\nte: trailers\r\n\r\n')
        (exchange,) = exchanges
        cycle = HTTPCycle(exchange)
        failed = False
        for _ in range(reader.below(6) + 1):
            try:
                await cycle.send(_message(reader))
            except RuntimeError as exc:
                expect(str(exc) in _UPSTREAM_ERRORS, f'RuntimeError not upstream: {exc}')
                failed = True
            except (TypeError, ValueError):
                failed = True
            if failed:
                break  # the app raised: it sends nothing more
        try:
            cycle.finish(failed)
        except Exception:
            exchange.abort()  # what the interface does when finishing fails
        await settle()
        check_response(transport.take(), transport.closing)
        if not transport.closing:
            # The connection must serve the next request as if nothing happened.
            await serve_next(conn, transport, lambda: exchanges)
        hang_up(transport)
        expect(not ctx.connections, 'connection left after connection_lost')
    finally:
        ctx.close()


def check(data: bytes) -> None:
    run_async(exercise(data))


def seeds() -> list[bytes]:
    # start 200 + body; start + streamed body + end; body first (flow error); trailers; pathsend.
    return [
        bytes((1, 0, 0x07, 0, 1, 1, 4, 1)),
        bytes((2, 0, 0x03, 0, 0, 1, 0x0C, 1, 0, 1, 0x04, 1)),
        bytes((0, 1, 0x04, 1)),
        bytes((2, 0, 0x13, 0, 0, 0, 1, 0x04, 1, 3, 0x42, 1, 1)),
        bytes((1, 0, 0x03, 0, 0, 4, 0x20, 0)),
    ]


TARGET = Target(name='asgi-messages', check=check, seeds=seeds)
