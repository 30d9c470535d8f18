"""What all connections of one worker share: settings, the request handler, the cached ``date``
header, the set of open connections, the connection limit and graceful shutdown.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Protocol

from .deadlines import Deadlines, resolution_for
from .exchange import Exchange
from .settings import HTTP1Settings, HTTP2Settings, WebSocketSettings

if TYPE_CHECKING:
    import ssl

    from .tls import TLSInfo, TLSServer

__all__ = ['ManagedConnection', 'RequestHandler', 'ServeContext']

RequestHandler = Callable[[Exchange], None]


class ManagedConnection(Protocol):
    """What the context needs from a connection to pause it and to shut it down."""

    def pause_admission(self) -> None: ...

    def resume_admission(self) -> None: ...

    def shutdown(self) -> None: ...


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
        #: The ``alt-svc`` value every HTTP/1.1 and HTTP/2 response carries (HTTP/3 on), else
        #: ``None``. HTTP/1.1 gets it as a line after the date line (no cost per response).
        self.alt_svc = alt_svc
        self._alt_svc_line = b'alt-svc: %s\r\n' % alt_svc if alt_svc is not None else b''
        #: The ``date`` response header line, refreshed once a second.
        self.date_header = b''
        #: The same date, the value alone (HTTP/2 sends it as a field, not a line).
        self.date_value = b''
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
        self._alt_svc_line = b'alt-svc: %s\r\n' % alt_svc if alt_svc is not None else b''
        self.date_header = b'date: %s\r\n%s' % (self.date_value, self._alt_svc_line)

    def _refresh_date(self) -> None:
        # Computed once a second for every response of the worker (RFC 9110 §6.6.1 asks for a
        # date; its resolution is a second): formatting it per response cost ~2 µs.
        now = time.time()
        self.date_value = email.utils.formatdate(now, usegmt=True).encode('ascii')
        self.date_header = b'date: %s\r\n%s' % (self.date_value, self._alt_svc_line)
        # Fire just after the next second starts, so the header changes when the clock does.
        self._date_timer = self.loop.call_later(1.0 - (now % 1.0) + 0.001, self._refresh_date)

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
