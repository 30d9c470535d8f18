"""The WSGI interface (PEP 3333) over the exchange contract.

Each request runs on a thread of the worker's :class:`~.wsgi_pool.BlockingPool`; the event loop
never waits for the app. The pieces:

* :mod:`.wsgi_environ` builds the environ (upstream's keys plus ``REMOTE_PORT``,
  ``wsgi.input_terminated`` and ``wsgi.file_wrapper``);
* :mod:`.wsgi_input` is ``wsgi.input``, pulling the body from the loop as the app reads it (a body
  that was complete when the request arrived is handed over with the request, no hop needed);
* :mod:`.wsgi_response` carries the response back: a list in one hop, anything else streamed
  through a bounded buffer;
* :mod:`.wsgi_file` is ``wsgi.file_wrapper``, whose files the exchange sends itself.

Failures follow upstream: an exception before the response started gives a 500 with an empty body
and the logged traceback ``Application callable raised an exception``; after it started the
connection is closed without finishing the body. ``close()`` of the app's iterable is always
called, on the app's thread, also when the client went away mid-body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from functools import partial
from time import perf_counter
from typing import Any

from granian_http import Exchange

from .._tasks import TaskSet
from ..log import AccessLogFormatter, logger
from ..metrics import Durations
from . import INTERFACES, Interface, Runtime
from .common import decode_path, request_done
from .wsgi_environ import base_environ, build_environ
from .wsgi_file import FileWrapper, file_source
from .wsgi_input import WSGIInput
from .wsgi_pool import BlockingPool
from .wsgi_response import LoopOutbox, WSGIResponse, as_bytes

__all__ = ['WSGIInterface', 'make_wsgi_handler']

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: How long a stopping worker waits for app threads still running (their clients are gone).
SHUTDOWN_GRACE = 5.0

_CONTENT_LENGTH = b'content-length'


def _body_now(exchange: Exchange) -> bytes | None:
    """The body of a request whose body is complete, read without leaving the loop.

    ``read_body`` does not wait once the body is complete, so driving its coroutine one step
    finishes it; this saves the app thread a round trip to the loop for every small request. If
    it did wait after all, closing it is as harmless as cancelling it, and the thread reads.
    """
    reading = exchange.read_body()
    try:
        reading.send(None)
    except StopIteration as done:
        return _bytes(done.value)
    reading.close()
    return None


def _bytes(chunk: bytes) -> bytes:
    # The HTTP/1.1 exchange hands out h11's bytearrays; PEP 3333 promises the app bytes.
    return chunk if type(chunk) is bytes else bytes(chunk)


class WSGIInterface(Interface):
    """``wsgi``: the app is called on the worker's blocking threads."""

    def __init__(self, app: WSGIApp) -> None:
        super().__init__(app)
        self.pool: BlockingPool | None = None

    async def start(self, runtime: Runtime) -> Callable[[Exchange], None]:
        self.pool = BlockingPool(runtime.blocking_threads, runtime.blocking_threads_idle_timeout)
        return make_wsgi_handler(
            self.app,
            pool=self.pool,
            loop=runtime.loop,
            tasks=runtime.tasks,
            url_path_prefix=runtime.url_path_prefix,
            access_log=runtime.access_log,
            durations=runtime.durations,
        )

    async def stop(self) -> None:
        pool = self.pool
        if pool is None:
            return
        pool.shutdown()
        # Every connection has closed, so a thread still running serves a client that left;
        # give it a moment to reach its close().
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while pool.size and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if pool.size:
            logger.warning(f'{pool.size} WSGI app thread(s) still running at shutdown, abandoning them')


INTERFACES['wsgi'] = WSGIInterface


def make_wsgi_handler(
    app: WSGIApp,
    *,
    pool: BlockingPool,
    loop: asyncio.AbstractEventLoop,
    tasks: TaskSet,
    url_path_prefix: str | None,
    access_log: AccessLogFormatter | None,
    durations: Durations | None = None,
) -> Callable[[Exchange], None]:
    """Build the exchange handler that runs ``app`` on ``pool`` once per request (timed into
    ``durations`` when given: the response ends on the loop, so no lock is needed)."""
    finished = request_done(access_log, durations)
    # Taken once per worker, after fork and env files: upstream's os.environ snapshot.
    script_name = (url_path_prefix or '').rstrip('/')
    base = base_environ(script_name, FileWrapper)
    outbox = LoopOutbox(loop)
    submit = pool.submit
    run_coroutine_threadsafe = asyncio.run_coroutine_threadsafe

    def run(exchange: Exchange, body: bytes | None, started: float) -> None:
        # On an app thread from here on.
        if body is None:

            def fetch() -> bytes:
                return _bytes(run_coroutine_threadsafe(exchange.read_body(), loop).result())

            stream = WSGIInput(fetch)
        else:
            stream = WSGIInput(None, body)
        path = decode_path(exchange.raw_path) if access_log is not None else ''
        response = WSGIResponse(exchange, outbox, tasks, finished, started, path)
        try:
            environ = build_environ(base, script_name, exchange, stream)
            result = app(environ, response.start_response)
        except Exception:
            logger.error('Application callable raised an exception', exc_info=True)
            response.fail()
            return
        try:
            _respond(response, result, loop)
        except Exception:
            logger.error('Application callable raised an exception', exc_info=True)
            response.fail()
        finally:
            close = getattr(result, 'close', None)
            if close is not None:
                try:
                    close()
                except Exception:
                    logger.error('WSGI response iterable close() raised an exception', exc_info=True)

    def handle(exchange: Exchange) -> None:
        body = _body_now(exchange) if exchange.body_complete else None
        submit(partial(run, exchange, body, perf_counter() if finished is not None else 0.0))

    return handle


def _respond(response: WSGIResponse, result: Iterable[bytes], loop: asyncio.AbstractEventLoop) -> None:
    """Send the app's body (on the app's thread)."""
    result_type = type(result)
    if result_type is list or result_type is tuple:
        if not response.status:
            raise AssertionError('The WSGI app returned without calling start_response()')
        body = b''.join(result)
        if response.committed:
            # The app used write() before returning: the rest follows the written part.
            if body:
                response.push(body)
            response.finish()
        else:
            response.send_whole(body)
        return
    if (
        result_type is FileWrapper and not response.committed and response.status and _send_file(response, result, loop)  # type: ignore[arg-type]
    ):
        return
    push = response.push
    for chunk in result:
        if type(chunk) is not bytes:
            chunk = as_bytes(chunk)
        if chunk:
            if not response.status:
                raise AssertionError('The WSGI app yielded a body before calling start_response()')
            if not push(chunk):
                # The client is gone: stop iterating (close() follows).
                break
    if not response.status:
        raise AssertionError('The WSGI app returned without calling start_response()')
    response.finish()


def _send_file(response: WSGIResponse, wrapper: FileWrapper, loop: asyncio.AbstractEventLoop) -> bool:
    """Let the exchange send a wrapped file; False when the file must be iterated instead."""
    source = file_source(wrapper)
    if source is None:
        return False
    path, offset, size = source
    count = max(0, size - offset)
    for name, value in response.headers:
        if name.lower() == _CONTENT_LENGTH:
            try:
                announced = int(value)
            except ValueError:
                return False
            if announced > count:
                # The file cannot fill the announced length: iterate, so the short body is
                # detected and the connection closed.
                return False
            count = announced
            break
    response.committed = True
    sent: bool = asyncio.run_coroutine_threadsafe(response.send_file(path, offset, count), loop).result()
    if not sent:
        response.committed = False
    return sent
