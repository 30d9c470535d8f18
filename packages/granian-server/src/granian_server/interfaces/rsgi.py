"""The RSGI 1.6 interface over the exchange contract.

The app is called as ``app(scope, protocol)`` once per request, through ``__rsgi__`` when the
object has one. ``__rsgi_init__(loop)`` and ``__rsgi_del__(loop)`` run once per worker, before
the loop starts serving and after it stopped (so the loop is not running, and the hooks may
``loop.run_until_complete`` their own set-up). An app that raises, or returns without
responding, gets a 500 with an empty body; the exception is logged as upstream logs it.

A WebSocket handshake reaches the app with a ``'ws'`` scope and the websocket protocol of
:mod:`.rsgi_ws`.

The request path is a handful of attribute sets and one exchange call: no per-request dict, no
closures, and the response of ``response_bytes`` leaves in a single write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from granian_http import Exchange
from granian_rsgi_spec import Scope

from .._tasks import TaskSet
from ..log import AccessLogFormatter, logger
from ..metrics import Durations
from . import INTERFACES, Interface, RequestHandler, Runtime
from .common import RequestLog, request_done
from .rsgi_http import RESPONSE_SENT, RSGIHTTPProtocol, RSGIHTTPScope
from .rsgi_ws import RSGIWebsocketProtocol, RSGIWebsocketScope

__all__ = ['RSGIInterface', 'make_rsgi_handler']

RSGICallable = Callable[[Scope, Any], Awaitable[None]]
Hook = Callable[[asyncio.AbstractEventLoop], Any]


class RSGIInterface(Interface):
    def __init__(self, app: Any) -> None:
        super().__init__(app)
        #: What serves requests: ``__rsgi__`` is preferred, so one object can also be an ASGI app.
        self.entrypoint: RSGICallable = getattr(app, '__rsgi__', app)
        self._init_hook: Hook | None = getattr(app, '__rsgi_init__', None)
        self._del_hook: Hook | None = getattr(app, '__rsgi_del__', None)

    def setup(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._init_hook is not None:
            self._init_hook(loop)

    async def start(self, runtime: Runtime) -> RequestHandler:
        return make_rsgi_handler(
            self.entrypoint, tasks=runtime.tasks, access_log=runtime.access_log, durations=runtime.durations
        )

    def teardown(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._del_hook is not None:
            try:
                self._del_hook(loop)
            except Exception:
                # The worker is stopping either way: report the failure, finish the shutdown.
                logger.error('RSGI __rsgi_del__ raised an exception', exc_info=True)


INTERFACES['rsgi'] = RSGIInterface


async def _settle(exchange: Exchange, protocol: RSGIHTTPProtocol, failed: bool) -> None:
    try:
        await protocol.settle(failed)
    except Exception:
        logger.error('Unable to complete the response', exc_info=True)
        exchange.abort()


def make_rsgi_handler(
    app: RSGICallable,
    *,
    tasks: TaskSet,
    access_log: AccessLogFormatter | None,
    durations: Durations | None = None,
) -> RequestHandler:
    """Build the exchange handler that runs ``app`` once per HTTP request (timed into ``durations``
    when given)."""
    finished = request_done(access_log, durations)

    async def run(exchange: Exchange) -> None:
        started = perf_counter() if finished is not None else 0.0
        scope = RSGIHTTPScope(exchange)
        protocol = RSGIHTTPProtocol(exchange)
        failed = False
        try:
            await app(scope, protocol)
        except Exception:
            failed = True
            logger.error('Application callable raised an exception', exc_info=True)
        if protocol.state != RESPONSE_SENT:
            await _settle(exchange, protocol, failed)
        if finished is not None:
            finished(exchange, started, protocol.status, scope.path, scope.query_string)

    async def run_websocket(exchange: Exchange) -> None:
        scope = RSGIWebsocketScope(exchange)
        protocol = RSGIWebsocketProtocol(
            exchange, scope.path, RequestLog(access_log) if access_log is not None else None
        )
        failed = False
        try:
            await app(scope, protocol)
        except Exception:
            failed = True
            logger.error('Application callable raised an exception', exc_info=True)
        try:
            protocol.finish(failed)
        except Exception:
            logger.error('Unable to complete the WebSocket', exc_info=True)
            exchange.abort()

    spawn = tasks.spawn

    def handle(exchange: Exchange) -> None:
        if exchange.websocket is None:
            spawn(run(exchange))
        else:
            tasks.spawn_session(run_websocket(exchange))

    return handle
