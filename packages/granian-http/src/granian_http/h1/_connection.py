"""HTTP/1.1 as an :class:`asyncio.Protocol`: h11 parses requests, :mod:`._h1_response` writes
responses, and each request becomes an :class:`H1Exchange`.

Theory of operation. A connection alternates between two phases:

* *awaiting a head*: bytes collect in ``_head_buf`` until a blank line ends the request head. The
  head is checked by :mod:`._h1_guard` and only then handed to h11. The header-read timer runs.
* *in a request*: h11 turns the bytes into the request, its body chunks and its end. The body goes
  into the exchange; above the buffer limit we stop reading from the socket until the app catches
  up.

h11's readers parse (:mod:`._h1_parser`), without h11's connection state machine: keep-alive,
100-continue and upgrades are decided here. One parser cycle reads one request: when the response
is done we take the unparsed bytes (a pipelined next request) and pass them through the guard
again, so every byte h11 ever parses as a head has passed our checks first.

The exchange is handed to the server's handler only after the bytes of the current read are
parsed, so a bodyless request reaches the app already complete, and an app that answers
synchronously (eager tasks) cannot swap the parser out from under the parsing loop.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, cast

import h11

from ._addresses import transport_addresses
from ._flow import WriteFlow
from ._h1_guard import HeadError, check_head, check_partial_head, find_head_end
from ._h1_parser import RequestParser
from ._h1_response import (
    FRAMING_CHUNKED,
    FRAMING_CLOSE,
    FRAMING_LENGTH,
    FRAMING_NONE,
    build_head,
    status_line,
)
from ._h2_upgrade import h2c_upgrade_settings
from ._handover import hand_over
from .context import ServeContext
from .exchange import ClientDisconnected, Exchange, Headers, ResponseStateError
from .tls import TLSInfo
from .websocket import MAX_MESSAGE_SIZE, HandshakeError, WebSocket, check_handshake, negotiate_extensions
from .websocket_h1 import WebSocketConnection, accept_head

__all__ = ['H1Exchange', 'HTTP1Connection']

_METHODS = {m.encode(): m for m in ('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE')}
_CONTINUE = b'HTTP/1.1 100 Continue\r\n\r\n'
# Bodies above this size are written after the head instead of being copied into one buffer.
_COALESCE_LIMIT = 64 * 1024
#: How long an idle connection stays open once the worker stops, for a request already on its way.
_SHUTDOWN_GRACE = 1.0
# Small files are read whole and sent in the same write as the head.
_SMALL_FILE = 64 * 1024
_FILE_CHUNK = 128 * 1024


def _split_target(target: bytes) -> tuple[bytes, bytes]:
    """Split a request-target into the raw path and the raw query (RFC 9112 §3.2)."""
    if target[:1] != b'/':
        scheme_end = target.find(b'://')
        if scheme_end > 0:
            # absolute-form: keep only the path and the query
            path_start = target.find(b'/', scheme_end + 3)
            query_start = target.find(b'?', scheme_end + 3)
            if path_start < 0 or (0 <= query_start < path_start):
                target = b'/' + (target[query_start:] if query_start >= 0 else b'')
            else:
                target = target[path_start:]
    path, _, query = target.partition(b'?')
    return path, query


class HTTP1Connection(asyncio.Protocol):
    __slots__ = (
        '_admitted',
        '_client',
        '_closed',
        '_ctx',
        '_disconnect_watchers',
        '_divert',
        '_exchange',
        '_flow',
        '_h2c_settings',
        '_head_buf',
        '_head_limit',
        '_head_started',
        '_held',
        '_in_head',
        '_keep_alive',
        '_loop',
        '_parser',
        '_read_paused',
        '_server',
        '_successor',
        '_timeout',
        '_timer',
        '_tls',
        '_transport',
    )

    def __init__(self, ctx: ServeContext) -> None:
        self._ctx = ctx
        self._loop = ctx.loop
        self._transport: asyncio.Transport | None = None
        self._head_limit = ctx.h1.max_buffer_size
        self._parser = RequestParser(self._head_limit)
        self._head_buf = b''
        self._in_head = True
        self._exchange: H1Exchange | None = None
        self._timeout = ctx.h1.header_read_timeout / 1000
        self._timer: asyncio.TimerHandle | None = None
        self._head_started = 0.0
        self._keep_alive = ctx.h1.keep_alive
        self._read_paused = False
        self._flow = WriteFlow(ctx.loop)
        self._closed = False
        # Finished exchanges whose apps still wait to hear that the connection closed.
        self._disconnect_watchers: set[H1Exchange] = set()
        self._admitted = True
        # True while data must not be parsed here: not admitted yet, or handed to a successor.
        self._divert = False
        self._successor: asyncio.Protocol | None = None
        self._held = bytearray()
        self._client: tuple[str, int] | None = None
        self._server: tuple[str, int] | None = None
        self._tls: TLSInfo | None = None
        #: The ``HTTP2-Settings`` of an ``Upgrade: h2c`` request being read (RFC 7540 §3.2).
        self._h2c_settings: bytes | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only look-alikes.
        self._transport = cast(asyncio.Transport, transport)
        self._client, self._server = transport_addresses(transport)
        if self._ctx.tls is not None:
            self._tls = self._ctx.tls_info(transport)
        self._ctx.connection_made(self)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._successor is not None:
            self._successor.connection_lost(exc)
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._exchange is not None:
            self._exchange._connection_lost()
        for exchange in list(self._disconnect_watchers):
            exchange._connection_lost()
        self._flow.close()
        self._ctx.connections_err += exc is not None
        self._ctx.connection_lost(self)

    def pause_writing(self) -> None:
        if self._successor is not None:
            self._successor.pause_writing()
        else:
            self._flow.pause()

    def resume_writing(self) -> None:
        if self._successor is not None:
            self._successor.resume_writing()
        else:
            self._flow.resume()

    def eof_received(self) -> bool | None:
        return self._successor.eof_received() if self._successor is not None else None

    def forward_to(self, successor: asyncio.Protocol) -> None:
        self._successor = successor
        self._divert = True

    def data_received(self, data: bytes) -> None:
        if self._divert:
            if self._successor is not None:
                self._successor.data_received(data)
            else:
                # Over the connection limit: keep the bytes unparsed until this connection's turn.
                self._held += data
            return
        if self._in_head:
            if self._head_buf:
                data = self._head_buf + data
                self._head_buf = b''
            if data[:1] in (b'\r', b'\n'):
                # RFC 9112 §2.2: ignore empty lines before a request line
                data = data.lstrip(b'\r\n')
                if not data:
                    return
            end = find_head_end(data)
            try:
                if end < 0:
                    check_partial_head(data, self._head_limit)
                    self._head_buf = data
                    return
                check_head(data, end, self._head_limit)
            except HeadError as err:
                self._refuse(err.status, err.reason)
                return
            self._in_head = False
        self._parser.feed(data)
        self._process_events()

    # -- parsing -------------------------------------------------------------------------------

    def _process_events(self) -> None:
        parser = self._parser
        dispatch: H1Exchange | None = None
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:
                self._refuse(exc.error_status_hint, str(exc))
                return
            event_type = type(event)
            if event_type is h11.Data:
                self._exchange._feed(event.data)  # type: ignore[union-attr]
            elif event_type is h11.Request:
                try:
                    dispatch = self._exchange = self._new_exchange(event)  # type: ignore[arg-type]
                except HandshakeError as err:
                    self._write_error_and_close(err.status, err.reason.encode(), err.headers)
                    return
            elif event_type is h11.EndOfMessage:
                exchange = self._exchange
                assert exchange is not None
                exchange._feed_eof()
                if self._h2c_settings is not None:
                    self._switch_to_h2c(exchange)
                    return
                if exchange._finished and exchange._keep_alive and not self._closed:
                    # The response went out before the body was in; now that it is, move on.
                    self._next_cycle()
                break
            else:
                # NEED_DATA. After a request's end that means a pipelined request waits for this
                # response; bound how much of that we buffer.
                if parser.done and parser.buffered > self._head_limit:
                    self._pause_reading()
                break
        if dispatch is not None and self._h2c_settings is None:
            self._ctx.requests_handled += 1
            try:
                self._ctx.handler(dispatch)
            except Exception:
                dispatch._fail(500)

    def _new_exchange(self, request: h11.Request) -> H1Exchange:
        full_items = getattr(request.headers, '_full_items', None)
        headers = [(name, value) for _, name, value in full_items] if full_items is not None else list(request.headers)
        http11 = request.http_version == b'1.1'
        # HTTP/1.1 stays open unless asked to close; HTTP/1.0 only when asked to stay open.
        keep_alive = http11
        upgrade = expect_continue = False
        for name, value in headers:
            if name == b'connection':
                value = value.lower()
                if b'close' in value:
                    keep_alive = False
                elif b'keep-alive' in value:
                    keep_alive = True
            elif name == b'upgrade':
                upgrade = True
            elif name == b'expect':
                # RFC 9110 §10.1.1; an HTTP/1.0 client cannot wait for a 100 (h11's rule too).
                expect_continue = http11 and b'100-continue' in value.lower()
        keep_alive = keep_alive and self._keep_alive and not self._ctx.closing
        method = _METHODS.get(request.method) or request.method.decode('ascii')
        raw_path, query = _split_target(request.target)
        exchange = H1Exchange(
            self,
            method,
            raw_path,
            query,
            headers,
            '1.1' if http11 else '1',
            http11,
            keep_alive,
            expect_continue,
        )
        if upgrade and self._ctx.websockets:
            # Raises HandshakeError for a broken WebSocket handshake; None if not one at all.
            exchange.websocket = check_handshake(method, exchange.http_version, headers)
        if upgrade and exchange.websocket is None and http11:
            self._h2c_settings = h2c_upgrade_settings(self._ctx, headers, exchange._expect_continue, self._head_limit)
        return exchange

    def _switch_to_h2c(self, exchange: H1Exchange) -> None:
        """The ``Upgrade: h2c`` request is complete: HTTP/2 takes the transport and answers it."""
        from .http2 import HTTP2Connection  # HTTP/2 is loaded only when a client asks for it

        settings, self._h2c_settings = self._h2c_settings, None
        pending = self._parser.pending()
        transport = self._transport
        assert transport is not None and settings is not None
        self._detach()
        HTTP2Connection.from_h2c_upgrade(
            self._ctx, transport, settings, exchange, b''.join(exchange._body), pending, previous=self
        )

    def _detach(self) -> None:
        """Hand the transport over to another protocol object, which keeps it open."""
        self._closed = True  # for this object: it must not touch the transport any more
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._exchange = None
        self._ctx.connections.discard(self)
        if self._read_paused:
            self._read_paused = False
            self._transport.resume_reading()  # type: ignore[union-attr]

    def _next_cycle(self) -> None:
        """Start parsing the next request, beginning with whatever the client pipelined."""
        pending = self._parser.restart()
        self._exchange = None
        self._in_head = True
        self._start_head_timer()
        if self._read_paused and self._admitted:
            self._read_paused = False
            self._transport.resume_reading()  # type: ignore[union-attr]
        if pending:
            # Not inline: with eager tasks a long pipeline would otherwise recurse once per request.
            self._loop.call_soon(self._resume_pipeline, pending)

    def _resume_pipeline(self, pending: bytes) -> None:
        if not self._closed and self._in_head:
            self.data_received(pending)

    def _refuse(self, status: int, reason: str) -> None:
        """Answer a request we cannot parse (or will not) and close the connection."""
        exchange = self._exchange
        if exchange is not None:
            exchange._fail(status)
            return
        self._write_error_and_close(status)

    def _write_error_and_close(self, status: int, body: bytes = b'', headers: Headers = ()) -> None:
        if status < 400 or status > 599:
            status = 400
        head = (
            status_line(status, True)
            + b''.join(name + b': ' + value + b'\r\n' for name, value in headers)
            + b'content-length: %d\r\nconnection: close\r\nserver: granian\r\n' % len(body)
            + self._ctx.date_header
            + b'\r\n'
            + body
        )
        self._in_head = False
        self._head_buf = b''
        self._ctx.connections_err += 1
        if not self._closed:
            self._transport.write(head)  # type: ignore[union-attr]
            self._transport.close()  # type: ignore[union-attr]

    # -- timers --------------------------------------------------------------------------------

    def _start_head_timer(self) -> None:
        self._head_started = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_at(self._head_started + self._timeout, self._on_head_timer)

    def _on_head_timer(self) -> None:
        # One timer per connection, re-armed lazily: a request does not cost a timer of its own.
        self._timer = None
        if not self._in_head or self._closed:
            return
        deadline = self._head_started + self._timeout
        if self._loop.time() >= deadline:
            self._transport.close()  # type: ignore[union-attr]
        else:
            self._timer = self._loop.call_at(deadline, self._on_head_timer)

    # -- flow control --------------------------------------------------------------------------

    def _pause_reading(self) -> None:
        if not self._read_paused and not self._closed:
            self._read_paused = True
            self._transport.pause_reading()  # type: ignore[union-attr]

    def _resume_reading(self) -> None:
        if self._read_paused and self._admitted and not self._closed:
            self._read_paused = False
            self._transport.resume_reading()  # type: ignore[union-attr]

    # -- ManagedConnection ---------------------------------------------------------------------

    def pause_admission(self) -> None:
        self._admitted = False
        self._divert = True
        self._pause_reading()
        # Before 3.11, a selector transport starts reading right after connection_made even when
        # paused in it; pause it again once it has (a read that slips through is held above).
        self._loop.call_soon(self._repause)

    def _repause(self) -> None:
        if not self._admitted and not self._closed:
            self._transport.resume_reading()  # type: ignore[union-attr]
            self._transport.pause_reading()  # type: ignore[union-attr]

    def resume_admission(self) -> None:
        self._admitted = True
        self._divert = self._successor is not None
        self._resume_reading()
        held, self._held = bytes(self._held), bytearray()
        if held and not self._closed:
            self.data_received(held)

    def shutdown(self) -> None:
        self._keep_alive = False
        if self._exchange is None and not self._closed:
            # Not at once: a request may be on its way (a connection just accepted, or a keep-alive
            # client sending its next one); it gets served, with ``connection: close``.
            self._loop.call_later(_SHUTDOWN_GRACE, self._close_if_idle)
        elif self._exchange is not None:
            self._exchange._keep_alive = False

    def _close_if_idle(self) -> None:
        if self._exchange is None and not self._head_buf and not self._closed:
            self._transport.close()  # type: ignore[union-attr]

    # -- called by the exchange ----------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if not self._closed:
            self._transport.write(data)  # type: ignore[union-attr]

    def _response_done(self, exchange: H1Exchange) -> None:
        if self._closed:
            return
        if not exchange._keep_alive or self._ctx.closing:
            self._transport.close()  # type: ignore[union-attr]
        elif exchange._body_done:
            self._next_cycle()
        else:
            # The app answered without reading the whole body. Keep reading (and dropping) it
            # so the connection can serve the next request; closing now could reset the socket
            # before the client has read the response.
            exchange._body.clear()
            self._resume_reading()

    def _close(self) -> None:
        if not self._closed:
            self._transport.close()  # type: ignore[union-attr]

    def _upgrade(self, extensions: list[Any]) -> WebSocket:
        """Hand the transport to a WebSocket carrier; this connection serves no more requests."""
        transport = self._transport
        assert transport is not None
        carrier = WebSocketConnection(self._ctx, transport, self._flow)
        session = carrier.session = WebSocket(carrier, self._loop, extensions)
        pending = self._parser.pending()
        self._detach()
        hand_over(transport, self, carrier)
        self._ctx.connections.add(carrier)
        if pending:
            session.feed(pending)
        return session


class H1Exchange(Exchange):
    __slots__ = (
        '_body',
        '_body_done',
        '_body_size',
        '_body_waiter',
        '_complete_waiter',
        '_conn',
        '_discarded',
        '_disconnect_waiter',
        '_disconnected',
        '_expect_continue',
        '_finished',
        '_framing',
        '_head_request',
        '_head_sent',
        '_http11',
        '_keep_alive',
        '_remaining',
        '_resp_headers',
        '_started',
        '_status',
    )

    def __init__(
        self,
        conn: HTTP1Connection,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: list[tuple[bytes, bytes]],
        http_version: str,
        http11: bool,
        keep_alive: bool,
        expect_continue: bool,
    ) -> None:
        self._conn = conn
        self.method = method
        self.raw_path = raw_path
        self.query_string = query_string
        self.headers = headers
        self.http_version = http_version
        self.scheme = conn._ctx.scheme
        self.client = conn._client
        self.server = conn._server
        self.authority = None
        self.tls = conn._tls
        self.websocket = None
        self._http11 = http11
        self._keep_alive = keep_alive
        self._expect_continue = expect_continue
        self._head_request = method == 'HEAD'
        self._body: list[bytes] = []
        self._body_size = 0
        self._body_done = False
        self._body_waiter: asyncio.Future[None] | None = None
        self._discarded = 0
        self._disconnected = False
        self._disconnect_waiter: asyncio.Future[None] | None = None
        self._complete_waiter: asyncio.Future[None] | None = None
        self._started = False
        self._head_sent = False
        self._finished = False
        self._status = 200
        self._resp_headers: Headers = ()
        self._framing = FRAMING_NONE
        self._remaining = 0

    # -- fed by the connection -----------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        if self._finished:
            self._discarded += len(data)
            if self._discarded > self._conn._head_limit:
                self._conn._close()
            return
        self._body.append(data)
        self._body_size += len(data)
        if self._body_size > self._conn._head_limit:
            self._conn._pause_reading()
        waiter = self._body_waiter
        if waiter is not None:
            self._body_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _feed_eof(self) -> None:
        self._body_done = True
        waiter = self._body_waiter
        if waiter is not None:
            self._body_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _connection_lost(self) -> None:
        self._disconnected = True
        for waiter in (self._body_waiter, self._disconnect_waiter, self._complete_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _fail(self, status: int) -> None:
        """The request cannot go on (a malformed body, a handler failure): answer and close."""
        self._keep_alive = False
        self._body_done = True
        self._disconnected = True
        if not self._head_sent and not self._finished:
            self._finished = True
            self._conn._write_error_and_close(status)
        else:
            self._finished = True
            self._conn._close()
        self._connection_lost()

    # -- request body --------------------------------------------------------------------------

    @property
    def body_complete(self) -> bool:
        return self._body_done

    async def read_body(self) -> bytes:
        while True:
            body = self._body
            if body:
                # h11 hands us bytearrays; apps are promised bytes (bytes() of bytes is free).
                data = bytes(body[0]) if len(body) == 1 else b''.join(body)
                body.clear()
                self._body_size = 0
                self._conn._resume_reading()
                return data
            if self._body_done:
                return b''
            if self._disconnected:
                raise ClientDisconnected('client disconnected before the request body was complete')
            if self._expect_continue:
                self._expect_continue = False
                if not self._head_sent:
                    self._conn._write(_CONTINUE)
            waiter = self._body_waiter = self._conn._loop.create_future()
            await waiter

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def disconnected(self) -> bool:
        return self._disconnected

    async def wait_disconnect(self) -> None:
        if self._disconnected:
            return
        waiter = self._disconnect_waiter
        if waiter is None or waiter.done():
            # A new waiter also after a cancelled one (apps cancel this wait once they answered).
            waiter = self._disconnect_waiter = self._conn._loop.create_future()
            # The connection can outlive this exchange (keep-alive): have it tell us too, for as
            # long as someone waits.
            watchers = self._conn._disconnect_watchers
            watchers.add(self)
            waiter.add_done_callback(lambda _: watchers.discard(self))
        await waiter

    async def wait_complete(self) -> None:
        if not self._finished and not self._disconnected:
            if self._complete_waiter is None:
                self._complete_waiter = self._conn._loop.create_future()
            await self._complete_waiter

    # -- response ------------------------------------------------------------------------------

    @property
    def response_started(self) -> bool:
        return self._head_sent

    def start(self, status: int, headers: Headers) -> None:
        if self._head_sent or self._finished:
            raise ResponseStateError('Response already started')
        self._status = status
        self._resp_headers = headers
        self._started = True

    def _send_head(self, body_length: int | None) -> bytes:
        head = build_head(
            self._status,
            self._resp_headers,
            http11=self._http11,
            keep_alive=self._keep_alive,
            head_request=self._head_request,
            body_length=body_length,
            date=self._conn._ctx.date_header,
        )
        self._head_sent = True
        self._framing = head.framing
        self._remaining = head.length
        self._keep_alive = head.keep_alive
        if self._expect_continue:
            # The client never got a 100 and may still send the body: it cannot be reused.
            self._expect_continue = False
            if not self._body_done:
                self._keep_alive = False
        return head.data

    def flush_head(self) -> None:
        if not self._started:
            raise ResponseStateError('Response not started')
        if not self._head_sent:
            self._conn._write(self._send_head(None))

    def _frame(self, data: bytes) -> bytes:
        """Frame a body chunk for the wire according to the head already sent."""
        framing = self._framing
        if framing == FRAMING_CHUNKED:
            return b'%x\r\n%b\r\n' % (len(data), data) if data else b''
        if framing == FRAMING_LENGTH:
            if len(data) > self._remaining:
                # More than the app announced: what exceeds it cannot be sent on this
                # connection, and the connection cannot be reused.
                data = data[: self._remaining]
                self._keep_alive = False
            self._remaining -= len(data)
            return data
        if framing == FRAMING_CLOSE:
            return data
        return b''

    def write(self, data: bytes) -> None:
        if self._finished:
            if self._disconnected:
                return
            raise ResponseStateError('Response already finished')
        if not data:
            if not self._head_sent and self._started:
                self._conn._write(self._send_head(None))
            return
        if not self._head_sent:
            if not self._started:
                raise ResponseStateError('Response not started')
            head = self._send_head(None)
            framed = self._frame(data)
            if len(framed) > _COALESCE_LIMIT:
                self._conn._write(head)
                self._conn._write(framed)
            else:
                self._conn._write(head + framed)
        else:
            self._conn._write(self._frame(data))

    def end(self, data: bytes = b'', trailers: Headers | None = None) -> None:
        if self._finished:
            if self._disconnected:
                return
            raise ResponseStateError('Response already finished')
        if not self._started:
            raise ResponseStateError('Response not started')
        conn = self._conn
        if not self._head_sent:
            head = self._send_head(len(data))
            if self._framing == FRAMING_NONE:
                conn._write(head)
            else:
                framed = self._frame(data)
                if len(framed) > _COALESCE_LIMIT:
                    conn._write(head)
                    conn._write(framed)
                else:
                    conn._write(head + framed)
        else:
            tail = self._frame(data)
            if self._framing == FRAMING_CHUNKED:
                tail += b'0\r\n' + self._trailer_block(trailers) + b'\r\n'
            if tail:
                conn._write(tail)
        if self._framing == FRAMING_LENGTH and self._remaining:
            # The body was shorter than announced: only closing tells the client.
            self._keep_alive = False
        self._finish()

    @staticmethod
    def _trailer_block(trailers: Headers | None) -> bytes:
        if not trailers:
            return b''
        lines = []
        for name, value in trailers:
            if b'\r' in name or b'\n' in name or b'\r' in value or b'\n' in value or b':' in name:
                raise ValueError(f'Invalid trailer {name!r}')
            lines.append(name.lower() + b': ' + value + b'\r\n')
        return b''.join(lines)

    def _finish(self) -> None:
        self._finished = True
        waiter = self._complete_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._conn._response_done(self)

    async def send_file(self, path: str | os.PathLike[str], offset: int = 0, count: int | None = None) -> None:
        if not self._started:
            raise ResponseStateError('Response not started')
        if self._head_sent or self._finished:
            raise ResponseStateError('Response already started')
        loop = self._conn._loop
        executor = self._conn._ctx.executor
        file = await loop.run_in_executor(executor, open, path, 'rb')
        try:
            size = (await loop.run_in_executor(executor, os.fstat, file.fileno())).st_size
            available = max(0, size - offset)
            count = available if count is None else min(count, available)
            if count <= _SMALL_FILE:
                if offset:
                    await loop.run_in_executor(executor, file.seek, offset)
                data = await loop.run_in_executor(executor, file.read, count)
                self.end(data)
                return
            head = self._send_head(count)
            self._conn._write(head)
            if self._framing == FRAMING_NONE:
                self._finish()
                return
            if offset:
                await loop.run_in_executor(executor, file.seek, offset)
            left = count
            while left > 0 and not self._disconnected:
                chunk = await loop.run_in_executor(executor, file.read, min(_FILE_CHUNK, left))
                if not chunk:
                    # The file shrank under us: the announced length can no longer be met.
                    self._keep_alive = False
                    break
                left -= len(chunk)
                self._conn._write(self._frame(chunk))
                if self._conn._flow.paused:
                    await self._conn._flow.drain()
            if self._remaining:
                # The head promised more than the file had (the app's content-length, or a file
                # that shrank): only closing tells the client.
                self._keep_alive = False
            self._finish()
        finally:
            file.close()

    def accept_websocket(self, subprotocol: str | None = None, headers: Headers = ()) -> WebSocket:
        offer = self.websocket
        if offer is None or offer.key is None:
            raise ResponseStateError('Not a WebSocket handshake')
        if self._head_sent or self._finished:
            raise ResponseStateError('Response already started')
        extensions, extensions_header = negotiate_extensions(offer.extensions, MAX_MESSAGE_SIZE)
        head = accept_head(offer.key, subprotocol, extensions_header, headers, self._conn._ctx.date_header)
        self._conn._write(head)
        self._head_sent = True
        self._finished = True
        waiter = self._complete_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return self._conn._upgrade(extensions)

    @property
    def write_paused(self) -> bool:
        return self._conn._flow.paused

    async def drain(self) -> None:
        await self._conn._flow.drain()

    def abort(self) -> None:
        if not self._finished:
            self._finished = True
            self._keep_alive = False
            self._conn._close()
            waiter = self._complete_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
