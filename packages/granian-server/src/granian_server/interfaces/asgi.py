"""The ASGI 3 interface over the exchange contract (HTTP here; lifespan in :mod:`.lifespan`).

Behaviour follows upstream Granian where the ASGI spec leaves room: ports in ``client`` and
``server`` are strings, HTTP/1.0 is ``'1'``, ``state`` is a shallow copy per request, the response
head waits for the first body message (an event stream starts at once), an app that fails or
answers nothing gets a 500, and the flow errors carry upstream's exact texts.

Beyond upstream: the ``tls`` extension on TLS connections, and on HTTP/2 ``http.response.early_hint``
and (when the client sent ``te: trailers``) ``http.response.trailers``. And spec 2.4 (see
:mod:`.asgi_spec`): once the client is gone, sending any ``http.response.*`` message raises
:class:`~granian_http.ClientDisconnected`, also when the client leaves while ``send`` waits for the
transport to drain; ``receive`` reports ``http.disconnect``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from time import perf_counter
from typing import Any

from granian_http import ClientDisconnected, Exchange

from .._tasks import TaskSet
from ..errors import FatalError
from ..log import AccessLogFormatter, logger
from ..metrics import Durations
from . import INTERFACES, Interface, Runtime
from .asgi_spec import ASGI_EXTENSIONS, ASGI_VERSION, ASGIApp, Message, http_extensions, log_app_exception, with_host
from .asgi_ws import run_websocket
from .common import RequestLog, decode_path, request_done, scope_server
from .lifespan import Lifespan

__all__ = ['ASGIInterface', 'HTTPCycle', 'make_asgi_handler']

_UNSUPPORTED = 'Unsupported ASGI message'
_NOT_STARTED = 'ASGI flow error: Response not started'
_ALREADY_STARTED = 'ASGI flow error: Response already started'
_ALREADY_FINISHED = 'ASGI flow error: Response already finished'
_GONE = 'ASGI transport error: the client disconnected'

# The messages a client that is gone makes pointless (spec 2.4). A tuple, compared with ==, so a
# bogus unhashable type still gets the "Unsupported ASGI message" answer.
_RESPONSE_MESSAGES = (
    'http.response.body',
    'http.response.start',
    'http.response.pathsend',
    'http.response.trailers',
    'http.response.early_hint',
)

_ERROR_HEADERS = ((b'content-type', b'text/plain; charset=utf-8'),)
_DISCONNECT: dict[str, Any] = {'type': 'http.disconnect'}

# The states of one response, in order. _HOLD: the last body waits for the app's trailers.
_IDLE, _STARTED, _STREAMING, _HOLD, _DONE = 0, 1, 2, 3, 4


def _is_event_stream(headers: Any) -> bool:
    for name, value in headers:
        if len(name) == 12 and name.lower() == b'content-type':
            return bytes(value[:17]).lower() == b'text/event-stream'
    return False


class HTTPCycle:
    """One HTTP request as the app sees it: the ``receive`` and ``send`` callables."""

    __slots__ = ('_body_done', '_held', '_state', '_trailers', '_trailers_done', 'exchange', 'status')

    # Set only once the app asks for trailers (``trailers: True`` where they can be sent).
    _held: bytes
    _trailers_done: bool

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self._state = _IDLE
        self._body_done = False
        #: Trailers collected from ``http.response.trailers`` (the extension), when they can be sent.
        self._trailers: list[tuple[bytes, bytes]] | None = None
        #: The status the app chose, for the access log; 500 until it chooses one.
        self.status = 500

    async def receive(self) -> Message:
        exchange = self.exchange
        if not self._body_done:
            try:
                body = await exchange.read_body()
            except ClientDisconnected:
                self._body_done = True
                return _DISCONNECT.copy()
            more = not exchange.body_complete
            if not more:
                self._body_done = True
            return {'type': 'http.request', 'body': body, 'more_body': more}
        # The body is over: the next event is the end of the exchange, whichever way it comes.
        await exchange.wait_complete()
        return _DISCONNECT.copy()

    async def send(self, message: Message) -> None:
        try:
            kind = message['type']
        except (KeyError, TypeError):
            raise RuntimeError(_UNSUPPORTED) from None
        exchange = self.exchange
        if exchange.disconnected and kind in _RESPONSE_MESSAGES:
            raise ClientDisconnected(_GONE)
        if kind == 'http.response.body':
            state = self._state
            if state == _IDLE:
                raise RuntimeError(_NOT_STARTED)
            if state >= _HOLD:
                raise RuntimeError(_ALREADY_FINISHED)
            body = message.get('body', b'')
            if message.get('more_body', False):
                exchange.write(body)
                self._state = _STREAMING
                if exchange.write_paused:
                    await exchange.drain()
                    if exchange.disconnected:
                        # The wait ended because the client left: the chunk never reached it.
                        raise ClientDisconnected(_GONE)
            elif self._trailers is not None and not self._trailers_done:
                self._held = body
                self._state = _HOLD
            else:
                exchange.end(body, self._trailers)
                self._state = _DONE
        elif kind == 'http.response.start':
            if self._state != _IDLE:
                raise RuntimeError(_ALREADY_STARTED)
            try:
                status = message['status']
                headers = message['headers']
            except KeyError:
                raise RuntimeError(_UNSUPPORTED) from None
            exchange.start(status, headers)
            self.status = status
            self._state = _STARTED
            if message.get('trailers') and exchange.trailers_allowed:
                self._trailers = []
                self._trailers_done = False
            if _is_event_stream(headers):
                self._state = _STREAMING
                exchange.flush_head()
        elif kind == 'http.response.pathsend':
            if self._state == _IDLE:
                raise RuntimeError(_NOT_STARTED)
            if self._state != _STARTED:
                raise RuntimeError(_ALREADY_FINISHED if self._state == _DONE else _ALREADY_STARTED)
            try:
                path = message['path']
            except KeyError:
                raise RuntimeError(_UNSUPPORTED) from None
            try:
                await exchange.send_file(path)
            except OSError:
                if exchange.response_started:
                    raise
                self.status = 404
                exchange.start(404, _ERROR_HEADERS)
                exchange.end(b'Not found')
            self._state = _DONE
            if exchange.disconnected:
                raise ClientDisconnected(_GONE)  # the file stopped short: the client left
        elif kind == 'http.response.trailers':
            await self._send_trailers(message)
        elif kind == 'http.response.early_hint':
            # Sent where the protocol and the head allow it (HTTP/2); ignored elsewhere, as the
            # extension lets a server do.
            if self._state < _HOLD:
                exchange.early_hints([(b'link', bytes(link)) for link in message.get('links', ())])
        else:
            raise RuntimeError(_UNSUPPORTED)

    async def _send_trailers(self, message: Message) -> None:
        trailers = self._trailers
        if self._state == _IDLE:
            raise RuntimeError(_NOT_STARTED)
        if trailers is None or self._trailers_done:
            return  # not asked for with ``trailers: True``, or the client cannot take them
        trailers.extend((bytes(name), bytes(value)) for name, value in message.get('headers', ()))
        if not message.get('more_trailers', False):
            self._trailers_done = True
            if self._state == _HOLD:
                self.exchange.end(self._held, trailers)
                self._state = _DONE

    def finish(self, failed: bool) -> None:
        """Settle the response after the app returned (or raised)."""
        state = self._state
        if state == _DONE:
            return
        exchange = self.exchange
        self._state = _DONE
        if state == _HOLD:
            # The app returned without its last trailers: send the ones it gave.
            exchange.end(self._held, self._trailers or None)
            return
        if exchange.response_started:
            # The body had begun: a failure cuts it short, a plain return just ends it.
            if failed:
                exchange.abort()
            else:
                exchange.end()
            return
        self.status = 500
        exchange.start(500, _ERROR_HEADERS)
        exchange.end(b'Internal server error')


class ASGIInterface(Interface):
    """``asgi`` (with lifespan) and ``asginl`` (without)."""

    def __init__(self, app: ASGIApp, lifespan: bool) -> None:
        super().__init__(app)
        self.state: dict[str, Any] = {}
        self._lifespan: Lifespan | None = Lifespan(app, self.state) if lifespan else None

    async def start(self, runtime: Runtime) -> Callable[[Exchange], None]:
        if self._lifespan is not None and not await self._lifespan.startup():
            raise FatalError('ASGI lifespan startup')
        return make_asgi_handler(
            self.app,
            tasks=runtime.tasks,
            root_path=runtime.url_path_prefix or '',
            state=self.state,
            access_log=runtime.access_log,
            durations=runtime.durations,
        )

    async def stop(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.shutdown()


INTERFACES['asgi'] = partial(ASGIInterface, lifespan=True)
INTERFACES['asginl'] = partial(ASGIInterface, lifespan=False)


def make_asgi_handler(
    app: ASGIApp,
    *,
    tasks: TaskSet,
    root_path: str,
    state: dict[str, Any],
    access_log: AccessLogFormatter | None,
    durations: Durations | None = None,
) -> Callable[[Exchange], None]:
    """Build the exchange handler that runs ``app`` once per HTTP request (timed into ``durations``
    when given)."""
    finished = request_done(access_log, durations)

    async def run(exchange: Exchange) -> None:
        started = perf_counter() if finished is not None else 0.0
        cycle = HTTPCycle(exchange)
        client = exchange.client
        server = exchange.server
        raw_path = exchange.raw_path
        path = decode_path(raw_path)
        headers = exchange.headers
        extensions = ASGI_EXTENSIONS
        # HTTP/2 and HTTP/3 (whose exchanges have an authority) can carry trailers and early hints.
        if exchange.tls is not None or exchange.authority is not None:
            extensions = http_extensions(exchange)
            if exchange.authority is not None:
                headers = with_host(headers, exchange.authority)
        scope = {
            'type': 'http',
            'asgi': ASGI_VERSION,
            'extensions': extensions,
            'http_version': exchange.http_version,
            'server': scope_server(server),
            'client': (client[0], str(client[1])) if client else None,
            'scheme': exchange.scheme,
            'method': exchange.method,
            'root_path': root_path,
            'path': path,
            'raw_path': raw_path,
            'query_string': exchange.query_string,
            'headers': headers,
            'state': state.copy(),
        }
        failed = False
        try:
            await app(scope, cycle.receive, cycle.send)
        except Exception as exc:
            failed = True
            log_app_exception(exc, exchange.disconnected)
        try:
            cycle.finish(failed)
        except Exception:
            logger.error('Unable to complete the response', exc_info=True)
            exchange.abort()
        if finished is not None:
            finished(exchange, started, cycle.status, path, exchange.query_string)

    spawn = tasks.spawn

    def handle(exchange: Exchange) -> None:
        if exchange.websocket is None:
            spawn(run(exchange))
        else:
            tasks.spawn_session(
                run_websocket(
                    app,
                    exchange,
                    root_path=root_path,
                    state=state,
                    request_log=RequestLog(access_log) if access_log is not None else None,
                )
            )

    return handle
