"""Fuzz target ``rsgi-messages``: the RSGI protocol object's calls, of every right and wrong shape,
made by an app on a real HTTP/1.1 exchange.

Input: a config byte (a POST with a body or a GET; the access log on or off), then a script of
up to eight calls: each one of ``response_empty``/``str``/``bytes``/``file``/``file_range``/
``stream``, ``send_bytes``/``send_str`` on the last stream transport, reading the body (whole or
iterated, again and again), raising, or returning; its arguments from pools of right and wrong
kinds (status as int in and out of range, str, float, bool, None; headers as str pairs, byte
pairs, bad tuples, line breaks, non-latin-1, a str, a dict, None; bodies and file paths of every
type), passed positionally or by keyword, some left out. After a call raises, the app either
catches the exception and goes on or lets it out, as the input says. The app runs under the
interface's own handler (:func:`granian_server.interfaces.rsgi.make_rsgi_handler`), so what
happens after it returns or raises is what a server does.

Properties:

* a call raises only a clear exception (:class:`TypeError`, :class:`ValueError`,
  :class:`OverflowError`, or the spec's ``ProtocolError``/``ProtocolClosed``);
* the handler and everything it started finish without an exception (nothing escapes to the loop);
* the client gets one well-formed HTTP/1.1 response (read back with h11), or the start of one on a
  connection the server closed (a streamed body cut short). Its status is the first response the
  app chose without an error, or 500 (the app failed after choosing; 404 for a file that cannot
  be opened); when the app chose none, it is 500;
* a stream transport kept past the handler's return raises ``ProtocolClosed``;
* a connection left open serves the next request; after the client hangs up, it is released.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from granian_http import Exchange, HTTP1Connection, ServeContext
from granian_rsgi_spec import ProtocolClosed, ProtocolError
from granian_server._tasks import TaskSet
from granian_server.interfaces.rsgi import make_rsgi_handler
from granian_server.interfaces.rsgi_http import RSGIHTTPProtocol, RSGIStreamTransport
from granian_server.log import DEFAULT_ACCESSLOG_FMT, AccessLogFormatter
from testkit.h1 import MemoryTransport

from .h1check import check_response, serve_next
from .harness import PropertyFailure, Reader, Target, expect, hang_up, quiet_logs, run_async, settle

__all__ = ['TARGET']

#: What an app may be told when it calls something wrongly (upstream raises the same kinds).
_CLEAR = (TypeError, ValueError, OverflowError, ProtocolError, ProtocolClosed)
#: Seconds the handler may take: it only waits on the executor (file reads), never on the client.
_HANDLER_TIMEOUT = 5.0

_STATUSES: tuple[Any, ...] = (200, 201, 204, 304, 404, 500, 100, 101, 103, 99, 600, 999, 1000, 0, -1)
_STATUSES += (2**70, True, '200', 200.0, None)
_HEADERS: tuple[Any, ...] = (
    [],
    [('content-type', 'text/plain')],
    [('content-length', '3')],
    [('content-length', '999')],
    [('content-length', 'x')],
    [('transfer-encoding', 'chunked')],
    [('connection', 'close')],
    [('server', 'mine'), ('date', 'today')],
    [('content-type', 'text/event-stream')],
    [('x', 'a\r\nb')],
    [('bad name', 'v')],
    [('', 'empty name')],
    [('x', 'é')],
    [('x', '☃')],
    [(b'bytes', b'pair')],
    [('only-one',)],
    [('a', 'b', 'c')],
    [['list', 'pair']],
    (('tuple', 'of tuples'),),
    [('x', 5)],
    [(5, 'x')],
    None,
    'not a list',
    5,
    {'dict': 'headers'},
)
_BODIES: tuple[Any, ...] = (b'', b'abc', b'x' * 70_000, bytearray(b'ba'), memoryview(b'mv'), 'str', '☃', None, 5)
_BODIES += ('y' * 70_000,)  # a str too large to leave in one write with the head
_FILES: tuple[Any, ...] = (__file__, '/nonexistent/file', '', None, 7, str(Path(__file__).parent), Path(__file__))
_FILES += (os.fsencode(__file__),)
_RANGES: tuple[tuple[Any, Any], ...] = ((0, 10), (5, 5), (10, 0), (-1, 3), (0, 10**9), (10**9, 10**9 + 1))
_RANGES += (('0', 1), (None, None), (0, 70_000))

#: name -> the parameters it takes, in order (a script passes a prefix of them).
_RESPONSES = {
    'response_empty': ('status', 'headers'),
    'response_str': ('status', 'headers', 'body'),
    'response_bytes': ('status', 'headers', 'body'),
    'response_file': ('status', 'headers', 'file'),
    'response_file_range': ('status', 'headers', 'file', 'start', 'end'),
    'response_stream': ('status', 'headers'),
}
_OPS = (*_RESPONSES, 'send_bytes', 'send_str', 'read', 'iterate', 'raise', 'return')


class _AppFailure(Exception):
    """What the scripted app raises on its own (not a call's error)."""


@dataclass
class _Call:
    op: str
    #: Arguments by parameter name (for a response call) or ``data`` (for a send).
    args: dict[str, Any]
    keywords: bool
    #: When the call raises: the app catches the exception and goes on (else it lets it out).
    catch: bool


@dataclass
class _Outcome:
    """What the app saw."""

    #: Whether a response call returned without an error, and the status the first one gave.
    chose: bool = False
    chosen: Any = None
    chose_file: bool = False
    transports: list[RSGIStreamTransport] = field(default_factory=list)
    #: Calls that raised something other than a clear exception (the handler swallows what the
    #: app raises, so the property is checked after it).
    unclear: list[str] = field(default_factory=list)


def _read_call(reader: Reader) -> _Call:
    op = reader.choice(_OPS)
    args: dict[str, Any] = {}
    if op in _RESPONSES:
        params = _RESPONSES[op]
        # Usually all of them; sometimes fewer (defaults, or a missing required argument).
        given = len(params) - reader.below(len(params) + 1) if reader.flag() else len(params)
        start, end = reader.choice(_RANGES)
        pools = {'status': _STATUSES, 'headers': _HEADERS, 'body': _BODIES, 'file': _FILES}
        for name in params[:given]:
            if name in pools:
                args[name] = reader.choice(pools[name])
            else:
                args[name] = start if name == 'start' else end
    elif op in ('send_bytes', 'send_str'):
        args['data'] = reader.choice(_BODIES)
    return _Call(op, args, reader.flag(), reader.flag())


class _ScriptedApp:
    def __init__(self, script: list[_Call], outcome: _Outcome) -> None:
        self.script = script
        self.outcome = outcome

    async def __call__(self, scope: Any, protocol: RSGIHTTPProtocol) -> None:
        for call in self.script:
            if call.op == 'return':
                return
            if call.op == 'raise':
                raise _AppFailure('the app failed')
            try:
                await self._one(call, protocol)
            except _CLEAR:
                if not call.catch:
                    raise
            except Exception as exc:
                self.outcome.unclear.append(f'{call.op}({call.args!r}) raised {exc!r}, not a clear exception')
                raise

    async def _one(self, call: _Call, protocol: RSGIHTTPProtocol) -> None:
        op, args, outcome = call.op, call.args, self.outcome
        if op in _RESPONSES:
            method = getattr(protocol, op)
            first = protocol.state == 0
            result = method(**args) if call.keywords else method(*args.values())
            if op == 'response_stream':
                outcome.transports.append(result)
            if first and not outcome.chose:
                outcome.chose, outcome.chosen = True, args.get('status', 200)
                outcome.chose_file = op.startswith('response_file')
        elif op in ('send_bytes', 'send_str'):
            if outcome.transports:
                await getattr(outcome.transports[-1], op)(args['data'])
        elif op == 'read':
            await protocol()
        else:
            async for _ in protocol:
                pass


class _WatchedTasks(TaskSet):
    """The server's task set, with every task's outcome kept: an exception a task raises must fail
    the property here, not vanish in the loop's "exception never retrieved" at garbage collection."""

    __slots__ = ('finished',)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.finished: list[asyncio.Future[None]] = []

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        future = asyncio.get_running_loop().create_future()
        self.finished.append(future)
        super().spawn(self._watch(coro, future))

    spawn_session = spawn

    @staticmethod
    async def _watch(coro: Coroutine[Any, Any, Any], future: asyncio.Future[None]) -> None:
        try:
            await coro
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)


_REQUESTS = (
    b'GET / HTTP/1.1\r\nhost: x\r\n\r\n',
    b'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello',
)


async def exercise(data: bytes) -> None:
    reader = Reader(data)
    config = reader.uint()
    script = [_read_call(reader) for _ in range(reader.below(8) + 1)]
    outcome = _Outcome()
    loop = asyncio.get_running_loop()
    tasks = _WatchedTasks(loop)
    access_log = AccessLogFormatter(DEFAULT_ACCESSLOG_FMT) if config & 2 else None
    rsgi = make_rsgi_handler(_ScriptedApp(script, outcome), tasks=tasks, access_log=access_log)
    exchanges: list[Exchange] = []

    def handle(exchange: Exchange) -> None:
        # The first request goes to the app; the second is answered by serve_next.
        exchanges.append(exchange)
        if len(exchanges) == 1:
            rsgi(exchange)

    ctx = ServeContext(handle, loop=loop)
    conn = HTTP1Connection(ctx)
    transport = MemoryTransport(conn)
    try:
        conn.connection_made(transport)
        conn.data_received(_REQUESTS[config & 1])
        (finished,) = tasks.finished
        try:
            await asyncio.wait_for(asyncio.shield(finished), _HANDLER_TIMEOUT)
        except asyncio.TimeoutError:
            raise PropertyFailure(f'the handler still runs after {_HANDLER_TIMEOUT} s') from None
        finished.result()  # re-raises what escaped the handler
        expect(not outcome.unclear, '; '.join(outcome.unclear))
        await settle()
        for late in outcome.transports:
            try:
                await late.send_bytes(b'late')
            except ProtocolClosed:
                pass
            else:
                raise PropertyFailure('a stream transport took bytes after the handler returned')
        head = check_response(transport.take(), transport.closing)
        _check_status(head.status_code if head is not None else None, outcome)
        if not transport.closing:
            await serve_next(conn, transport, lambda: exchanges)
        hang_up(transport)
        await settle()
        expect(not ctx.connections, 'connection left after connection_lost')
    finally:
        ctx.close()


def _check_status(status: int | None, outcome: _Outcome) -> None:
    if not outcome.chose:
        expect(status == 500, f'the app chose no response, and the client got {status}, not 500')
        return
    if status is None:
        return  # the head was sent and the body cut short (a failure after a streamed start)
    allowed = {500, 404} if outcome.chose_file else {500}
    expect(status == outcome.chosen or status in allowed, f'the app chose {outcome.chosen!r}, the client got {status}')


def check(data: bytes) -> None:
    with quiet_logs():
        run_async(exercise(data))


def seeds() -> list[bytes]:
    # Each seed: config, the number of calls, then per call [op, partial?, range, args..., keywords, catch].
    # response_bytes(200, [...], b'abc'); a stream with two sends; a bad status then a 500; a file;
    # a read of the body then response_str; a double response; a late stream.
    def op(name: str) -> int:
        return _OPS.index(name)

    return [
        bytes((0, 0, op('response_bytes'), 0, 0, 0, 1, 1, 0, 0)),
        bytes((0, 2, op('response_stream'), 0, 0, 0, 8, 0, 0, op('send_bytes'), 1, 0, 0, op('send_str'), 5, 1, 0)),
        bytes((0, 0, op('response_empty'), 0, 0, 15, 0, 0, 0)),
        bytes((2, 0, op('response_file'), 0, 0, 0, 0, 0, 0, 0)),
        bytes((1, 1, op('read'), 0, 0, op('response_str'), 0, 0, 0, 0, 5, 0, 0)),
        bytes((0, 1, op('response_bytes'), 0, 0, 3, 0, 1, 0, 0, op('response_stream'), 0, 0, 0, 0, 0, 1)),
        bytes((0, 0, op('response_file_range'), 0, 8, 0, 1, 0, 0, 0)),
    ]


TARGET = Target(name='rsgi-messages', check=check, seeds=seeds)
