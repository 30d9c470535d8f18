"""HTTP/1.1 (RFC 9112) as an :class:`asyncio.Protocol`: one connection, one request at a time.

Theory of operation. A connection alternates between two phases:

* *awaiting a head*: bytes collect in ``_head_buf`` until a blank line ends the request head. The
  head is checked by :mod:`._guard` and only then given to the parser. The header-read timer runs:
  it bounds both a slow head (slowloris) and an idle keep-alive connection.
* *in a request*: the parser (behind the seam of :mod:`._events`) turns the bytes into the request
  head, its body and its end. The body goes into the exchange; above the buffer limit the
  connection stops reading from the socket until the app catches up, so a slow app slows the
  client instead of filling our memory.

One parser cycle reads one request. When the response is done the unparsed bytes (a pipelined next
request) go through the guard again, so every head any parser reads has passed our checks first.

The exchange is handed to the server's handler only after the bytes of the current read are parsed:
a bodyless request reaches the app already complete (no extra wait for its end), and an app that
answers synchronously (eager tasks) cannot restart the parser under the parsing loop.

With ``pipeline_flush`` (``HTTP1Settings``), the responses to requests a client pipelined leave in
one ``transport.write`` when the pipeline drains, instead of one write each: fewer syscalls and
segments for a pipelining client. Each pipelined request still gets its own loop turn (see
``_next_cycle``), so the responses are collected across those turns; whatever could wait on the
app (a response not finished when its request was dispatched) ends the collecting at once.

The connection leaves the protocol in three ways: a WebSocket accept hands the transport to a
:class:`~._websocket.WebSocketConnection`, an ``Upgrade: h2c`` request hands it to HTTP/2 (through
``granian_http.h2``'s public entry, loaded only then), and a refused request is answered and the
connection closed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from .._core import ConnectionFacts
from ..context import ServeContext
from ..exchange import Headers
from ..transport import WriteFlow, hand_over, transport_addresses
from ..ws import HandshakeError, WebSocket, check_handshake
from ._events import END_OF_MESSAGE, NEED_DATA, ParseError, RequestHead
from ._exchange import H1Exchange
from ._guard import head_end
from ._parsers import parser_factory
from ._response import status_line
from ._upgrade import SWITCHING_PROTOCOLS, h2c_upgrade_settings
from ._websocket import WebSocketConnection

if TYPE_CHECKING:
    from wsproto.extensions import Extension

__all__ = ['HTTP1Connection', 'split_target']

# The methods every server sees, as str without a decode per request.
_METHODS = {m.encode(): m for m in ('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE')}
#: How long an idle connection stays open once the worker stops, for a request already on its way.
_SHUTDOWN_GRACE = 1.0
#: pipeline_flush: collected responses leave early once they reach this size. asyncio's transports
#: pause writing at 64 KiB of buffered data; holding more here would only hide that from the app.
_BATCH_LIMIT = 64 * 1024


def split_target(target: bytes) -> tuple[bytes, bytes]:
    """Split a request-target into the raw path and the raw query (RFC 9112 §3.2)."""
    if target[:1] != b'/':
        scheme_end = target.find(b'://')
        if scheme_end > 0:
            # absolute-form (§3.2.2, what proxies send): servers must accept it and use only the
            # path and the query; the authority is the Host header's business.
            path_start = target.find(b'/', scheme_end + 3)
            query_start = target.find(b'?', scheme_end + 3)
            if path_start < 0 or (0 <= query_start < path_start):
                target = b'/' + (target[query_start:] if query_start >= 0 else b'')
            else:
                target = target[path_start:]
    path, _, query = target.partition(b'?')
    return path, query


class HTTP1Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; its exchanges reach it through :class:`~._exchange.H1Link`."""

    __slots__ = (
        '_admitted',
        '_batch',
        '_batched',
        '_body_after_response',
        '_closed',
        '_discarded',
        '_disconnect_watchers',
        '_divert',
        '_exchange',
        '_facts',
        '_h2c_settings',
        '_head_buf',
        '_head_started',
        '_held',
        '_in_head',
        '_keep_alive',
        '_parser',
        '_pipelined',
        '_read_paused',
        '_successor',
        '_tick',
        '_timeout',
        '_transport',
        'buffer_limit',
        'ctx',
        'flow',
    )

    def __init__(self, ctx: ServeContext) -> None:
        self.ctx = ctx
        self._transport: asyncio.Transport | None = None
        # Replaced once the transport is known (connection_made); the placeholder has no addresses.
        self._facts = ConnectionFacts(ctx.loop, ctx.executor, ctx.scheme, None, None, None)
        #: The largest head we read, and the unread body we buffer before we stop reading.
        self.buffer_limit = ctx.h1.max_buffer_size
        self._parser = parser_factory(ctx.h1.parser)(self.buffer_limit)
        self._head_buf = b''
        self._in_head = True
        self._exchange: H1Exchange | None = None
        self._timeout = ctx.head_timeout  # the worker's float, not one per connection
        #: The tick under which our head deadline is armed in ctx.deadlines (None: not armed).
        self._tick: int | None = None
        self._head_started = 0.0
        self._keep_alive = ctx.h1.keep_alive
        self._read_paused = False
        self.flow = WriteFlow(ctx.loop)
        self._closed = False
        # Finished exchanges whose apps still wait to hear that the connection closed; made on
        # first use: an empty set is 216 bytes on every idle keep-alive connection.
        self._disconnect_watchers: set[H1Exchange] | None = None
        self._admitted = True
        # True while data must not be parsed here: not admitted yet, or handed to a successor.
        self._divert = False
        self._successor: asyncio.Protocol | None = None
        # Bytes read while over the connection limit; rare, so immutable bytes and no buffer.
        self._held = b''
        #: The ``HTTP2-Settings`` of an ``Upgrade: h2c`` request being read (RFC 7540 §3.2).
        self._h2c_settings: bytes | None = None
        #: The response went out (keep-alive) before the request body was in: its end starts the
        #: next cycle.
        self._body_after_response = False
        #: Body bytes read after the response, only to reach the next request.
        self._discarded = 0
        #: The responses collected so far while a pipeline is served (None: writes go straight out).
        self._batch: list[bytes] | None = None
        self._batched = 0
        #: A pipelined request's cycle is scheduled (_next_cycle found bytes behind the response).
        self._pipelined = False

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only look-alikes.
        self._transport = cast(asyncio.Transport, transport)
        ctx = self.ctx
        client, server = transport_addresses(transport)
        tls = ctx.tls_info(transport) if ctx.tls is not None else None
        self._facts = ConnectionFacts(ctx.loop, ctx.executor, ctx.scheme, client, server, tls)
        ctx.connection_made(self)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._successor is not None:
            self._successor.connection_lost(exc)
            return
        self._closed = True
        self._batch = None  # collected responses have nowhere to go
        self._disarm_head_deadline()
        if self._exchange is not None:
            self._exchange.lost()
            self._exchange = None  # the app's task may keep its exchange; the connection does not
        if self._disconnect_watchers:
            for exchange in list(self._disconnect_watchers):
                exchange.lost()
        self.flow.close()
        self.ctx.connections_err += exc is not None
        self.ctx.connection_lost(self)

    def pause_writing(self) -> None:
        if self._successor is not None:
            self._successor.pause_writing()
        else:
            self.flow.pause()

    def resume_writing(self) -> None:
        if self._successor is not None:
            self._successor.resume_writing()
        else:
            self.flow.resume()

    def eof_received(self) -> bool | None:
        # None: the transport closes. A client that shuts its side down is taken to have given up
        # on what is in flight (hyper, which upstream Granian serves with, does the same unless
        # half-close support is switched on); RFC 9112 §9.6 lets either side close at any time.
        return self._successor.eof_received() if self._successor is not None else None

    def forward_to(self, successor: asyncio.Protocol) -> None:
        # A transport that cannot switch protocols (rloop) keeps calling us: pass everything on.
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
        if not self._in_head:
            # The body of the request in progress, or bytes pipelined behind it (left unparsed
            # until the next cycle).
            self._parser.feed(data)
            self._process_events(None)
            return
        if self._head_buf:
            # A head split over reads (slow clients, large heads): re-checked as a whole, so a
            # limit cannot be dodged by sending a head in pieces.
            data = self._head_buf + data
            self._head_buf = b''
        if data[:1] in (b'\r', b'\n'):
            # RFC 9112 §2.2: a server should ignore empty lines before a request line (some
            # clients send a CRLF after a POST body).
            data = data.lstrip(b'\r\n')
            if not data:
                return
        try:
            end = head_end(data, self.buffer_limit)
        except ParseError as err:
            self._refuse(err.status)
            return
        if end < 0:
            self._head_buf = data  # checked so far: the guard refuses a partial head too
            return
        self._in_head = False
        # The parser reads the head where the guard found it ends (no second search), and keeps
        # what follows it in this read: the body's first bytes, possibly pipelined requests.
        try:
            exchange = self._exchange = self._new_exchange(self._parser.read_head(data, end))
        except ParseError as err:
            # A malformed head: the status the parser chose (h11's for the same input), then
            # close. The rest of the stream cannot be trusted to frame anything.
            self._refuse(err.status)
            return
        except HandshakeError as err:
            # A broken WebSocket handshake (RFC 6455 §4.2.1) is answered here, with the reason:
            # the app never sees a request it could not serve as a WebSocket.
            self.answer_error(err.status, err.reason.encode(), err.headers)
            return
        self._process_events(exchange)

    # -- parsing -------------------------------------------------------------------------------

    def _process_events(self, dispatch: H1Exchange | None) -> None:
        """Read what the parser has of the body; then hand ``dispatch`` (a request whose head
        came in this read) to the app, only after this read is parsed (see the module's theory
        of operation): a bodyless request is then complete when the app first sees it."""
        parser = self._parser
        while True:
            try:
                event = parser.next_event()
            except ParseError as err:
                # A malformed body (chunk syntax): the status the parser chose, then close.
                self._refuse(err.status)
                return
            if event is NEED_DATA:
                # After a request's end that means a pipelined request waits for this response;
                # bound how much of it we buffer.
                if parser.done and parser.buffered > self.buffer_limit:
                    self.pause_reading()
                break
            if event is END_OF_MESSAGE:
                exchange = self._exchange
                assert exchange is not None
                exchange.feed_eof()
                if self._h2c_settings is not None:
                    # RFC 7540 §3.2: the switch happens after the whole request (body included),
                    # which HTTP/2 then answers as stream 1.
                    self._switch_to_h2c(exchange)
                    return
                if self._body_after_response and not self._closed:
                    # The response went out before the body was in; now that it is, move on.
                    self._next_cycle()
                break
            if self._body_after_response:
                # The response is out and the body still coming: read it to reach the next
                # request, but only up to the buffer limit, then give up on the connection.
                self._discarded += len(event)  # type: ignore[arg-type]
                if self._discarded > self.buffer_limit:
                    self.close()
            elif self._exchange.feed_body(event) > self.buffer_limit:  # type: ignore[union-attr,arg-type]
                # The app is not keeping up: stop reading until it has taken what is buffered.
                self.pause_reading()
        # An h2c upgrade is dispatched by HTTP/2 instead, once it owns the connection.
        if dispatch is not None and self._h2c_settings is None:
            ctx = self.ctx
            ctx.requests_handled += 1
            # http1_settings.pipeline_flush: collect the responses of a pipeline, one write for
            # all. Off by default: then this is one test of a flag per request.
            collecting = ctx.h1.pipeline_flush and self._start_batch()
            try:
                ctx.handler(dispatch)
            except Exception:
                # The handler (not the app: apps run in tasks) failed: a 500, and the worker goes on.
                dispatch.fail(500)
            if collecting and self._exchange is dispatch:
                # The app did not finish within its first step (it awaits something): the client
                # may be waiting for what is collected, and this response comes when it comes.
                self._flush()

    def _new_exchange(self, head: RequestHead) -> H1Exchange:
        # Unpacked at once rather than read field by field: a tuple unpack is one opcode.
        raw_method, target, http11, headers, wants_keep_alive, expect_continue, upgrade = head
        method = _METHODS.get(raw_method) or raw_method.decode('ascii')
        if target[:1] == b'/':
            raw_path, _, query = target.partition(b'?')  # origin-form, nearly every request
        else:
            raw_path, query = split_target(target)
        # The request's wish, narrowed by the server: keep-alive off, or the worker stopping.
        keep_alive = wants_keep_alive and self._keep_alive and not self.ctx.closing
        exchange = H1Exchange(self, self._facts, method, raw_path, query, headers, http11, keep_alive, expect_continue)
        if upgrade:
            # Only a request with an Upgrade header can be either upgrade; the rest skip both scans.
            if self.ctx.websockets:
                # Raises HandshakeError for a broken WebSocket handshake; None if not one at all.
                exchange.websocket = check_handshake(method, exchange.http_version, headers)
            if exchange.websocket is None and http11:
                # An Upgrade we do not take is ignored and the request served on HTTP/1.1 (RFC 9110
                # §7.8 lets a server ignore it).
                self._h2c_settings = h2c_upgrade_settings(self.ctx, headers, expect_continue, self.buffer_limit)
        return exchange

    def _switch_to_h2c(self, exchange: H1Exchange) -> None:
        """The ``Upgrade: h2c`` request is complete: answer 101, and HTTP/2 takes the transport and
        serves the request as its stream 1 (RFC 7540 §3.2)."""
        from ..h2 import UpgradedRequest, serve_h2c_upgrade  # HTTP/2 loads only when a client asks

        settings, self._h2c_settings = self._h2c_settings, None
        pending = self._parser.pending()
        transport = self._transport
        assert transport is not None and settings is not None
        self.detach()
        # The 101 is HTTP/1.1's last word on this connection; everything after it is HTTP/2's.
        transport.write(SWITCHING_PROTOCOLS)
        request = UpgradedRequest(
            exchange.method, exchange.raw_path, exchange.query_string, exchange.headers, exchange.take_body()
        )
        serve_h2c_upgrade(self.ctx, transport, settings, request, pending, previous=self)

    def detach(self) -> None:
        """Hand the transport over to another protocol object, which keeps it open."""
        if self._batch is not None:
            self._flush()  # the successor writes next (a 101, frames): our responses go first
        self._closed = True  # for this object: it must not touch the transport any more
        self._disarm_head_deadline()
        self._exchange = None
        # The successor registers itself with the context: this object is no longer a connection
        # the worker must wait for or shut down.
        self.ctx.connections.discard(self)
        if self._read_paused:
            # A pause is ours (a body the app was slow to read); the successor starts unpaused.
            self._read_paused = False
            self._transport.resume_reading()  # type: ignore[union-attr]

    def _next_cycle(self) -> None:
        """Start parsing the next request, beginning with whatever the client pipelined."""
        pending = self._parser.restart()
        self._exchange = None
        self._in_head = True
        self._body_after_response = False
        self._discarded = 0
        # _start_head_timer, written out: the deadline is already armed on a busy connection.
        self._head_started = self.ctx.loop.time()
        if self._tick is None:
            self._tick = self.ctx.deadlines.arm(self, self._head_started + self._timeout)
        if self._read_paused and self._admitted:
            # Reading stopped for a pipelining flood or an unread body; this cycle starts afresh.
            self._read_paused = False
            self._transport.resume_reading()  # type: ignore[union-attr]
        if pending:
            # Not inline: with eager tasks a long pipeline would otherwise recurse once per request.
            # The pipelined bytes go through data_received, so through the guard, like any head.
            self._pipelined = True
            self.ctx.loop.call_soon(self._resume_pipeline, pending)

    def _resume_pipeline(self, pending: bytes) -> None:
        self._pipelined = False
        # The connection may have closed, or a new read may have started the head meanwhile.
        if not self._closed and self._in_head:
            self.data_received(pending)
        if self._batch is not None and not self._pipelined:
            # The pipeline drained (or stopped at a partial head the client has yet to finish):
            # everything collected leaves now, in one write.
            self._flush()

    # -- pipeline_flush ------------------------------------------------------------------------

    def _start_batch(self) -> bool:
        """Collect responses from now on if more requests wait behind this one; True if so."""
        if self._batch is None:
            if not self._parser.buffered:
                return False  # nothing pipelined: the response goes straight out, as without
            self._batch = []
        return True

    def _collect(self, batch: list[bytes], data: bytes) -> None:
        batch.append(data)
        self._batched += len(data)
        if self._batched >= _BATCH_LIMIT and not self._closed:
            # Large responses: send what is collected and keep collecting the rest.
            self._transport.write(b''.join(batch))  # type: ignore[union-attr]
            batch.clear()
            self._batched = 0

    def _flush(self) -> None:
        """Write what is collected, in one write, and write straight out again from now on."""
        batch, self._batch = self._batch, None
        self._batched = 0
        if batch and not self._closed:
            self._transport.write(b''.join(batch))  # type: ignore[union-attr]

    def _refuse(self, status: int) -> None:
        """Answer a request we cannot parse (or will not) and close the connection."""
        exchange = self._exchange
        if exchange is not None:
            exchange.fail(status)  # the app may be running: the exchange answers, if it still can
            return
        self.answer_error(status)

    # -- timers --------------------------------------------------------------------------------

    def _start_head_timer(self) -> None:
        self._head_started = self.ctx.loop.time()
        if self._tick is None:
            self._tick = self.ctx.deadlines.arm(self, self._head_started + self._timeout)

    def _disarm_head_deadline(self) -> None:
        if self._tick is not None:
            self.ctx.deadlines.disarm(self, self._tick)
            self._tick = None

    def on_deadline(self) -> None:
        # One deadline per connection, re-armed lazily when it passes: starting a request only
        # notes the time, so a request costs no timer of its own. The worker's Deadlines keeps
        # them all on one loop timer (an asyncio timer each was ~270 bytes per idle connection).
        self._tick = None
        if not self._in_head or self._closed:
            # In a request, the app and the flow control own the pace; the timer is re-armed by
            # the next cycle.
            return
        deadline = self._head_started + self._timeout
        if self.ctx.loop.time() >= deadline:
            # A head that has not arrived in time (slowloris), or an idle keep-alive connection:
            # closed without an answer, as there is no request to answer (RFC 9112 §9.5).
            self.close()
        else:
            self._tick = self.ctx.deadlines.arm(self, deadline)

    # -- H1Link: what the exchange uses --------------------------------------------------------

    def write(self, data: bytes) -> None:
        batch = self._batch
        if batch is not None:
            self._collect(batch, data)
            return
        transport = self._transport
        # A write that fails (the peer reset) makes asyncio close the transport at once but call
        # connection_lost a loop turn later; until then the app's next pieces would each be
        # dropped with a logged 'socket.send() raised exception.'. is_closing() is already true.
        if not self._closed and not transport.is_closing():  # type: ignore[union-attr]
            transport.write(data)  # type: ignore[union-attr]

    def close(self) -> None:
        if not self._closed:
            if self._batch is not None:
                self._flush()  # close() after write(): collected responses are sent first
            self._transport.close()  # type: ignore[union-attr]

    def transport_closing(self) -> bool:
        return self._closed or self._transport.is_closing()  # type: ignore[union-attr]

    def pause_reading(self) -> None:
        if not self._read_paused and not self._closed:
            self._read_paused = True
            self._transport.pause_reading()  # type: ignore[union-attr]

    def resume_reading(self) -> None:
        # A connection held back by the connection limit stays paused until admitted.
        if self._read_paused and self._admitted and not self._closed:
            self._read_paused = False
            self._transport.resume_reading()  # type: ignore[union-attr]

    def answer_error(self, status: int, body: bytes = b'', headers: Headers = ()) -> None:
        # Written by hand, not through build_head: this also answers requests whose head could
        # not be parsed, so nothing of the request (version, keep-alive) may be relied on. It
        # always closes (RFC 9112 §9.6: after an error the framing of what follows is unknown).
        if status < 400 or status > 599:
            status = 400  # a parser's hint outside the error range is still a refusal
        head = (
            status_line(status, True)
            + b''.join(name + b': ' + value + b'\r\n' for name, value in headers)
            + b'content-length: %d\r\nconnection: close\r\n' % len(body)
            + self.ctx.response_defaults.head
            + b'\r\n'
            + body
        )
        self._in_head = False  # nothing more is parsed on this connection
        self._head_buf = b''
        self.ctx.connections_err += 1
        if self._batch is not None:
            self._flush()  # the answers to the requests before this one go first
        if not self._closed:
            self._transport.write(head)  # type: ignore[union-attr]
            self._transport.close()  # type: ignore[union-attr]

    def response_done(self, exchange: H1Exchange) -> None:
        if self._closed:
            return
        if not exchange.keep_alive or self.ctx.closing:
            # close() after write(): asyncio sends what is buffered first, then closes.
            self.close()
        elif exchange.body_complete:
            self._next_cycle()
        else:
            # The app answered without reading the whole body. Keep reading (and dropping) it
            # so the connection can serve the next request; closing now could reset the socket
            # before the client has read the response (RFC 9112 §9.6).
            exchange.drop_body()
            self._body_after_response = True
            self.resume_reading()

    def upgrade(self, extensions: list[Extension]) -> WebSocket:
        transport = self._transport
        assert transport is not None
        # The carrier keeps our write flow: a pause of the transport that began before the 101
        # still holds the session's writes.
        carrier = WebSocketConnection(self.ctx, transport, self.flow)
        session = carrier.session = WebSocket(carrier, self.ctx.loop, extensions, settings=self.ctx.ws)
        # restart, not pending: the parser lets go of its buffer too, which the session would
        # otherwise keep alive (through the exchange) for as long as it lasts.
        pending = self._parser.restart()
        self.detach()
        hand_over(transport, self, carrier)
        # A WebSocket is a connection the worker shuts down too (close 1001 on stop).
        self.ctx.connections.add(carrier)
        if pending:
            # Frames the client sent right behind its handshake (allowed once it has our 101).
            session.feed(pending)
        return session

    def watch_disconnect(self, exchange: H1Exchange, waiter: asyncio.Future[None]) -> None:
        # The connection can outlive the exchange (keep-alive): tell the exchange when it closes,
        # for as long as someone waits.
        watchers = self._disconnect_watchers
        if watchers is None:
            watchers = self._disconnect_watchers = set()
        watchers.add(exchange)
        waiter.add_done_callback(lambda _: watchers.discard(exchange))

    # -- ManagedConnection ---------------------------------------------------------------------

    def pause_admission(self) -> None:
        # Over the connection limit (--backpressure): the connection waits unread, as it would
        # in the listen backlog, until another one closes.
        self._admitted = False
        self._divert = True
        self.pause_reading()
        # Before 3.11, a selector transport starts reading right after connection_made even when
        # paused in it; pause it again once it has (a read that slips through is held above).
        self.ctx.loop.call_soon(self._repause)

    def _repause(self) -> None:
        if not self._admitted and not self._closed:
            self._transport.resume_reading()  # type: ignore[union-attr]
            self._transport.pause_reading()  # type: ignore[union-attr]

    def resume_admission(self) -> None:
        self._admitted = True
        self._divert = self._successor is not None
        self.resume_reading()
        held, self._held = self._held, b''
        if held and not self._closed:
            self.data_received(held)

    def shutdown(self) -> None:
        # Graceful stop: no new requests on this connection after the current one, which gets
        # ``connection: close``; an idle one closes after a grace period.
        self._keep_alive = False
        if self._exchange is None and not self._closed:
            # Not at once: a request may be on its way (a connection just accepted, or a keep-alive
            # client sending its next one); it gets served, with ``connection: close``.
            self.ctx.loop.call_later(_SHUTDOWN_GRACE, self._close_if_idle)
        elif self._exchange is not None:
            self._exchange.keep_alive = False

    def _close_if_idle(self) -> None:
        # A head half-read is a request on its way: it gets served (and its connection closed
        # after) rather than cut off; the header-read timeout still bounds it.
        if self._exchange is None and not self._head_buf and not self._closed:
            self.close()
