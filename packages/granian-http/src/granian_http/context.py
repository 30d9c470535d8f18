"""What all connections of one worker share: settings, the request handler, the header fields
added to every response (with the cached ``date``), the set of open connections, the connection
limit and graceful shutdown.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Protocol

from .deadlines import Deadlines, resolution_for
from .exchange import Exchange
from .fields import lower_name
from .settings import HTTP1Settings, HTTP2Settings, WebSocketSettings

if TYPE_CHECKING:
    import ssl

    from .tls import TLSInfo, TLSServer

__all__ = ['ManagedConnection', 'RequestHandler', 'ResponseDefaults', 'ServeContext']

RequestHandler = Callable[[Exchange], None]


class ManagedConnection(Protocol):
    """What the context needs from a connection to pause it and to shut it down."""

    def pause_admission(self) -> None: ...

    def resume_admission(self) -> None: ...

    def shutdown(self) -> None: ...


#: Fields a default header may not name: the framing and the connection are decided per response by
#: the protocol (a fixed ``content-length`` would break every body), and the ``date`` is the clock's.
_NOT_DEFAULTS = frozenset(
    (
        b'content-length',
        b'transfer-encoding',
        b'connection',
        b'keep-alive',
        b'proxy-connection',
        b'upgrade',
        b'te',
        b'trailer',
        b'date',
    )
)
_SERVER = b'server'
_DATE = b'date'
_ALT_SVC = b'alt-svc'
_GRANIAN = b'granian'


class ResponseDefaults:
    """The fields the server adds to a response whose app did not set that name: ``server``,
    ``date`` and the configured default headers, ready in both wire forms.

    One immutable snapshot per second (the date changes): a protocol takes the current one per
    response, and HTTP/2 keys its cache of encoded heads on it, so a head built with last second's
    date is never reused.
    """

    __slots__ = ('extra_names', 'fields', 'head', 'head_lines', 'lines')

    def __init__(self, fields: tuple[tuple[bytes, bytes], ...], extra_names: frozenset[bytes]) -> None:
        #: ``(name, value)`` pairs in the order they are sent (HTTP/2's form).
        self.fields = fields
        #: ``(name, b'name: value\r\n')`` pairs (HTTP/1.1's form, to leave out the app's names).
        self.lines = tuple((name, b'%s: %s\r\n' % (name, value)) for name, value in fields)
        #: Every line at once, for the usual response that sets none of these names itself.
        self.head = b''.join(line for _, line in self.lines)
        self.head_lines = len(self.lines)
        #: The configured names other than ``server`` and ``date``, which protocols check anyway:
        #: empty unless default headers are configured, so that the usual case costs one truth test.
        self.extra_names = extra_names


def _check_defaults(headers: Iterable[tuple[bytes, bytes]]) -> tuple[tuple[bytes, bytes], ...]:
    """Check configured default headers once per worker: lower-case token names, values without
    CR, LF or NUL (stripped of surrounding whitespace), none of the names the protocol owns, and
    one ``server`` at most.

    The server has checked them already, with messages naming its option; this is the protocol
    layer's own guard, as these bytes go into every response head without another look.
    """
    checked = []
    for name, value in headers:
        lname = lower_name(name)
        if lname in _NOT_DEFAULTS:
            raise ValueError(f'{name!r} cannot be a default response header')
        if b'\r' in value or b'\n' in value or b'\0' in value:
            raise ValueError(f'Invalid default header value {value!r}: line breaks and NUL are not allowed')
        checked.append((lname, value.strip(b' \t')))
    if sum(1 for name, _ in checked if name == _SERVER) > 1:
        raise ValueError('A response has one server header: give one default server header at most')
    return tuple(checked)


class ServeContext:
    """Per-worker state shared by every connection the worker accepts."""

    def __init__(
        self,
        handler: RequestHandler,
        *,
        loop: asyncio.AbstractEventLoop,
        executor: Executor | None = None,
        http1: HTTP1Settings | None = None,
        http2: HTTP2Settings | None = None,
        http_mode: str = 'auto',
        websockets: bool = True,
        websocket: WebSocketSettings | None = None,
        ssl_context: ssl.SSLContext | None = None,
        tls: TLSServer | None = None,
        max_connections: int | None = None,
        alt_svc: bytes | None = None,
        server_header: bool = True,
        date_header: bool = True,
        default_headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        self.handler = handler
        self.loop = loop
        self.executor = executor
        self.h1 = http1 or HTTP1Settings()
        self.h2 = http2 or HTTP2Settings()
        #: http1_settings.header_read_timeout in seconds, one float every connection refers to.
        self.head_timeout = self.h1.header_read_timeout / 1000
        self.http_mode = http_mode
        self.websockets = websockets
        #: Every WebSocket session's message limit and keep-alive, over HTTP/1.1 and HTTP/2.
        self.ws = websocket or WebSocketSettings()
        #: The TLS server (context and handshake facts); ``None`` on cleartext listeners.
        self.tls = tls
        self.ssl_context = tls.context if tls is not None else ssl_context
        self.scheme = 'https' if self.ssl_context is not None else 'http'
        self.max_connections = max_connections
        extra = _check_defaults(default_headers)
        # A configured server header replaces ours whether ours is on or not: it is a value the
        # operator chose, where server_header=False only turns off the one we would choose.
        server = tuple(field for field in extra if field[0] == _SERVER)
        if not server and server_header:
            server = ((_SERVER, _GRANIAN),)
        self._first_fields = server
        self._last_fields = tuple(field for field in extra if field[0] != _SERVER)
        self._extra_names = frozenset(name for name, _ in self._last_fields)
        self._date_header = date_header
        self._date: tuple[tuple[bytes, bytes], ...] = ()
        #: The ``alt-svc`` value every HTTP/1.1 and HTTP/2 response carries (HTTP/3 on), else
        #: ``None``; see :meth:`advertise`.
        self.alt_svc = alt_svc
        #: The fields added to every HTTP/1.1 and HTTP/2 response that does not set them itself,
        #: with the current date (and ``alt-svc`` while HTTP/3 is advertised).
        self.response_defaults = ResponseDefaults((), frozenset())
        #: The same for HTTP/3 responses, which do not advertise HTTP/3 to a client already on it
        #: (the same object while HTTP/3 is off).
        self.h3_response_defaults = self.response_defaults
        self.closing = False
        self.connections: set[ManagedConnection] = set()
        #: Plain counters for the metrics exporter, bumped by the connections (nothing else to pay).
        self.connections_handled = 0
        self.connections_err = 0
        self.requests_handled = 0
        self._waiting: deque[ManagedConnection] = deque()
        self._date_timer: asyncio.TimerHandle | None = None
        #: The connections' head-read and keep-alive deadlines, on one timer (see deadlines).
        self.deadlines = Deadlines(loop, resolution_for(self.h1.header_read_timeout / 1000))
        self._all_closed: asyncio.Future[None] | None = None
        self._refresh_date()

    def tls_info(self, transport: asyncio.BaseTransport) -> TLSInfo | None:
        """The handshake facts of a connection, or ``None`` when it is not TLS."""
        ssl_object = transport.get_extra_info('ssl_object')
        if ssl_object is None or self.tls is None:
            return None
        return self.tls.handshake_info(ssl_object)

    def advertise(self, alt_svc: bytes | None) -> None:
        """Start (or stop) advertising HTTP/3 with ``alt-svc``: a worker knows its port only once
        its listeners are open, after the context was made."""
        self.alt_svc = alt_svc
        self._snapshot()

    def _refresh_date(self) -> None:
        # Computed once a second for every response of the worker (RFC 9110 §6.6.1 asks for a
        # date; its resolution is a second): formatting it per response cost ~2 µs, and so would
        # joining the default fields.
        now = time.time()
        if self._date_header:
            # Off when a proxy in front sends its own, or on a host without a reliable clock (the
            # one case where RFC 9110 §6.6.1 says not to send it); nothing to refresh then.
            self._date = ((_DATE, email.utils.formatdate(now, usegmt=True).encode('ascii')),)
            # Fire just after the next second starts, so the header changes when the clock does.
            self._date_timer = self.loop.call_later(1.0 - (now % 1.0) + 0.001, self._refresh_date)
        self._snapshot()

    def _snapshot(self) -> None:
        fields = self._first_fields + self._date
        h3 = ResponseDefaults(fields + self._last_fields, self._extra_names)
        self.h3_response_defaults = h3
        if self.alt_svc is None or _ALT_SVC in self._extra_names:
            # HTTP/3 off, or an alt-svc the operator configured, which replaces ours.
            self.response_defaults = h3
            return
        # Right after the date, where it has always been. It is the server's advertisement, not a
        # default: it is added whatever the app sends (its name is not among the ones checked
        # against the app's, so it costs nothing per header).
        fields += ((_ALT_SVC, self.alt_svc),)
        self.response_defaults = ResponseDefaults(fields + self._last_fields, self._extra_names)

    # -- connection bookkeeping -----------------------------------------------------------------

    def connection_made(self, conn: ManagedConnection) -> None:
        self.connections.add(conn)
        self.connections_handled += 1
        if self.max_connections is not None and len(self.connections) > self.max_connections:
            # Over the limit: the connection waits, unread, until another one closes; the client
            # sees the same wait it would see in the listen backlog.
            conn.pause_admission()
            self._waiting.append(conn)

    def connection_lost(self, conn: ManagedConnection) -> None:
        self.connections.discard(conn)
        try:
            # A waiting connection that gave up frees no admitted place.
            self._waiting.remove(conn)
        except ValueError:
            # An admitted one did: the longest-waiting connection takes it (first come, first
            # served, as the backlog would).
            if self._waiting:
                self._waiting.popleft().resume_admission()
        if not self.connections and self._all_closed is not None and not self._all_closed.done():
            self._all_closed.set_result(None)

    # -- shutdown ----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop serving new requests: idle connections close after a short grace, busy ones after their response."""
        self.closing = True  # read by every new request: no keep-alive, HTTP/2 GOAWAY at once
        for conn in list(self.connections):
            conn.shutdown()

    async def wait_closed(self) -> None:
        """Wait until every connection has closed."""
        if self.connections:
            self._all_closed = self.loop.create_future()
            await self._all_closed

    def close(self) -> None:
        self.deadlines.close()
        if self._date_timer is not None:
            self._date_timer.cancel()
            self._date_timer = None
