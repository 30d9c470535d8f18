"""RSGI WebSockets over the exchange contract (upstream §6).

* The scope is the HTTP one with ``proto == 'ws'`` (``scheme`` stays ``http``/``https``).
* ``await protocol.accept()`` completes the handshake and returns the transport.
* ``transport.receive()`` gives messages of kind ``string``, ``bytes``, then one ``close`` when
  the client closes; pings and pongs never show. A broken connection (a keep-alive ping left
  unanswered included) raises :class:`ProtocolClosed`, and so does reading again after the
  close; a second concurrent ``receive`` raises :class:`ProtocolError`.
* ``send_bytes``/``send_str`` raise :class:`ProtocolError` after ``protocol.close()`` and
  :class:`ProtocolClosed` once the connection is gone.
* ``protocol.close(status)``: before accepting, it refuses the handshake with that HTTP status
  (403 when none is given, where upstream would send an invalid 0); after, it closes the socket
  with 1000. A handler that returns without closing is closed for it (1011 if it raised).
"""

from __future__ import annotations

from granian_http import Exchange, WebSocket, WebSocketClosed
from granian_rsgi_spec import (
    ProtocolClosed,
    ProtocolError,
    WebsocketMessage,
    WebsocketMessageType,
    WebsocketProtocol,
    WebsocketTransport,
)

from .common import RequestLog
from .rsgi_http import RSGIHTTPScope

__all__ = ['RSGIWebsocketProtocol', 'RSGIWebsocketScope', 'RSGIWebsocketTransport']

_CLOSE = WebsocketMessage(WebsocketMessageType.close)


class RSGIWebsocketScope(RSGIHTTPScope):
    __slots__ = ()

    proto = 'ws'


class RSGIWebsocketTransport(WebsocketTransport):
    __slots__ = ('_close_seen', '_closed', '_receiving', '_session')

    def __init__(self, session: WebSocket) -> None:
        self._session = session
        self._receiving = False
        #: Closed by the app through ``protocol.close()``.
        self._closed = False
        self._close_seen = False

    async def receive(self) -> WebsocketMessage:
        if self._receiving:
            raise ProtocolError()
        if self._close_seen:
            raise ProtocolClosed()
        self._receiving = True
        try:
            message = await self._session.receive()
        finally:
            self._receiving = False
        if isinstance(message, str):
            return WebsocketMessage(WebsocketMessageType.string, message)
        if isinstance(message, bytes):
            return WebsocketMessage(WebsocketMessageType.bytes, message)
        self._close_seen = True
        if message.code == 1006:
            raise ProtocolClosed()
        return _CLOSE

    async def send_bytes(self, data: bytes) -> None:
        if self._closed:
            raise ProtocolError()
        try:
            await self._session.send(data)
        except WebSocketClosed:
            raise ProtocolClosed() from None

    # The session frames str as text and bytes as binary: one method serves both names, and a
    # message costs one coroutine less than through a shared helper.
    send_str = send_bytes  # type: ignore[assignment]


class RSGIWebsocketProtocol(WebsocketProtocol):
    __slots__ = ('_closed', '_exchange', '_log', '_path', '_transport', 'status')

    def __init__(self, exchange: Exchange, path: str, request_log: RequestLog | None) -> None:
        self._exchange = exchange
        self._path = path
        self._log = request_log
        self._transport: RSGIWebsocketTransport | None = None
        self._closed = False
        #: For the access log: 101 once accepted, else the status the handshake was answered with.
        self.status = 403

    async def accept(self) -> RSGIWebsocketTransport:
        if self._transport is not None:
            return self._transport
        if self._closed or self._exchange.disconnected:
            raise ProtocolClosed()
        self._transport = RSGIWebsocketTransport(self._exchange.accept_websocket())
        self.status = 101
        self._log_once()
        return self._transport

    def close(self, status: int | None = None) -> None:
        self._end(status, failed=False)

    def _end(self, status: int | None, failed: bool) -> None:
        if self._closed:
            return
        self._closed = True
        transport = self._transport
        if transport is not None:
            transport._closed = True
            transport._session.close(1011 if failed else 1000)
            return
        self.status = status or (500 if failed else 403)
        exchange = self._exchange
        if not exchange.response_started and not exchange.disconnected:
            exchange.start(self.status, ())
            exchange.end()
        self._log_once()

    def finish(self, failed: bool) -> None:
        """Close what the handler left open."""
        self._end(None, failed)

    def _log_once(self) -> None:
        if self._log is not None:
            self._log.done(
                self._exchange, self.status, self._path, self._exchange.query_string.decode('utf-8', 'replace')
            )
            self._log = None
