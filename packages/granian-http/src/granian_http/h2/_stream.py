"""One HTTP/2 stream as an exchange: the wire-specific part, on the exchange core.

Everything protocol-neutral (body buffer, waiters, response order, ``send_file``) is the exchange
core's (:mod:`granian_http._core`). What is HTTP/2's own, and lives here:

* **Inbound flow control.** DATA is acknowledged (WINDOW_UPDATE) only as the app reads it, so a
  slow app slows its own stream and no other; at most a stream window of unread body is buffered.
* **Outbound queueing.** Body bytes queue per stream and move into h2 as far as the stream and
  connection windows and the transport allow (:meth:`H2Stream.pump`); the connection resumes
  blocked streams when windows open. The app's ``write_paused`` turns on above
  ``max_send_buffer_size`` queued bytes.
* **The end of a stream.** The stream is over for us once END_STREAM (or a reset, either way) is
  out; the response is then complete and the connection forgets the stream. If the request body
  was still coming, the client is told to stop with ``RST_STREAM(NO_ERROR)`` (RFC 9113 §8.1).
  A body shorter than the app's ``content-length`` can only be told by a reset (§8.1.1).
* **What HTTP/2 adds**: 103 Early Hints before the head, trailers after the body (when the client
  sent ``te: trailers``), and WebSockets on an extended CONNECT stream (RFC 8441), where an
  accepted stream's DATA is handed to a :class:`~._websocket.StreamCarrier` instead of the body.

The stream talks to its connection only through :class:`StreamLink`; the connection calls the
public methods in the last section of the class.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Protocol

import h2.exceptions
from h2.errors import ErrorCodes

from .._core import ConnectionFacts, ExchangeCore, wake
from .._state import HELD
from ..exchange import Headers
from ..ws import WebSocket, WebSocketOffer, negotiate_extensions
from ._headers import informational_headers, response_head, trailer_headers
from ._websocket import StreamCarrier, accept_fields

if TYPE_CHECKING:
    from ..context import ServeContext
    from ._lean import LeanH2Connection

__all__ = ['H2Stream', 'StreamLink']

_NO_BODY_STATUS = frozenset((204, 304))


class StreamLink(Protocol):
    """What a stream needs of its HTTP/2 connection, and nothing more."""

    #: The h2 state machine both share (the stream sends its frames through it).
    h2: LeanH2Connection
    #: Queued bytes above which a stream's ``write_paused`` turns on.
    send_limit: int
    #: The transport's buffer is above its high-water mark: nothing more is moved into h2.
    write_paused: bool
    #: The connection is gone.
    closed: bool
    #: The worker's shared state (the cached ``date`` is read from it per response).
    ctx: ServeContext

    def want_flush(self) -> None:
        """Something was queued in h2: write it out at the end of this loop turn."""

    def queued(self, size: int) -> None:
        """``size`` body bytes went into h2 (a long body is flushed in batches)."""

    def blocked(self, stream: H2Stream) -> None:
        """The stream holds queued bytes that the windows or the transport hold back."""

    def unblocked(self, stream_id: int) -> None:
        """The stream's queue is empty again."""

    def stall_begins(self, stream_id: int) -> None:
        """The stream's window is shut: start the clock on a client that never opens it."""

    def stream_done(self, stream: H2Stream) -> None:
        """Our side of the stream is closed: forget it."""


class H2Stream(ExchangeCore):
    __slots__ = (
        '_carrier',
        '_drain_waiter',
        '_end_queued',
        '_head_request',
        '_link',
        '_pending',
        '_pending_size',
        '_remaining',
        '_request_over',
        '_te_trailers',
        '_trailers',
        '_unacked',
        'over',
        'stream_id',
    )

    disconnect_reason = 'client reset the stream before the request body was complete'

    def __init__(
        self,
        link: StreamLink,
        facts: ConnectionFacts,
        stream_id: int,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: list[tuple[bytes, bytes]],
        authority: str | None,
        te_trailers: bool,
        ended: bool,
    ) -> None:
        # Not super(): a direct call skips building a super object, once per request.
        ExchangeCore.__init__(self, facts, method, raw_path, query_string, headers, '2', authority)
        self._link = link
        self.stream_id = stream_id
        self._te_trailers = te_trailers
        self._head_request = method == 'HEAD'
        # Request side: the flow-controlled bytes received and not yet handed back to the client.
        self._unacked = 0
        #: No more request DATA will be read (complete, reset, or we told the client to stop).
        self._request_over = ended
        self.body_complete = ended
        # Response side.
        #: END_STREAM or RST_STREAM is out: the stream is over for us, and the connection may
        #: forget it.
        self.over = False
        self._remaining = -1  # bytes the app's content-length still allows; -1 when it gave none
        self._pending: deque[bytes | memoryview] = deque()
        self._pending_size = 0
        self._end_queued = False  # the app ended the response; END_STREAM waits for the queue
        self._trailers: list[tuple[bytes, bytes]] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        #: Once a WebSocket is accepted on this stream, where its DATA goes instead of the body.
        self._carrier: StreamCarrier | None = None

    # -- the wire ------------------------------------------------------------------------------

    def _send_head(self, body_length: int | None, end_stream: bool) -> None:
        link = self._link
        status = self._status
        # A HEAD answer, 204 and 304 carry no DATA (RFC 9110 §9.3.2, §15.3.5, §15.4.5): the
        # HEADERS frame ends the stream, whatever body the app still offers.
        no_body = self._head_request or status in _NO_BODY_STATUS
        header_list, block, declared = response_head(
            status, self._resp_headers, link.ctx.response_defaults, None if no_body else body_length
        )
        if declared is not None:
            # The app's content-length: DATA beyond it is cut, DATA short of it resets (§8.1.1).
            self._remaining = declared
        if self.over:
            return  # reset under the app: nothing goes out, the app sees a disconnect
        end_stream = end_stream or no_body
        try:
            link.h2.send_response_head(self.stream_id, header_list, block, end_stream)
        except h2.exceptions.ProtocolError:
            self.reset(ErrorCodes.STREAM_CLOSED)  # closed under us (a reset not yet reported)
            return
        # Not flushed now: everything a loop turn produces leaves in one write.
        link.want_flush()
        if end_stream:
            self._stream_over()

    def _emit_head(self, body_length: int | None) -> None:
        self._send_head(body_length, False)

    def _emit_body(self, data: bytes) -> None:
        if not self.over:  # a reset stream drops the app's writes; the app sees the disconnect
            self._queue(data)
            self.pump()

    def _emit_whole(self, data: bytes, trailers: Headers | None) -> None:
        if self._te_trailers and trailers:
            # None when every field was dropped: an empty trailer block is not worth a frame.
            self._trailers = trailer_headers(trailers) or None
        link = self._link
        status = self._status
        if self._trailers is None and not self.over and not self._head_request and status not in _NO_BODY_STATUS:
            # The common small response: head and body leave together when the shortcut takes
            # them (see LeanH2Connection.send_response), else the long way below.
            size = len(data)
            header_list, block, declared = response_head(status, self._resp_headers, link.ctx.response_defaults, size)
            # A body that breaks the app's content-length goes the long way, which cuts or resets it.
            if (
                (declared is None or declared == size)
                and not link.write_paused
                and link.h2.send_response(self.stream_id, header_list, block, data)
            ):
                self._stream_over()
                return
        # Empty and without trailers: END_STREAM rides on the HEADERS frame, no empty DATA frame.
        only_head = not data and self._trailers is None
        self._send_head(len(data), only_head)
        if not only_head and not self.over:
            self._send_last(data)

    def _emit_end(self, data: bytes, trailers: Headers | None) -> None:
        if self._te_trailers and trailers:
            self._trailers = trailer_headers(trailers) or None
        if not self.over:
            self._send_last(data)

    def _emit_abort(self) -> None:
        # §8.1: a response cut short is a reset; INTERNAL_ERROR, since the fault is ours.
        if not self.over:
            self.reset(ErrorCodes.INTERNAL_ERROR)

    def _file_head(self, count: int) -> bool:
        self._send_head(count, False)
        if self.over:
            return False
        if self._remaining < 0:
            self._remaining = count  # the length we announced: a file that shrank resets the stream
        return True

    def _send_last(self, data: bytes) -> None:
        """The last body bytes: in one DATA frame with END_STREAM when everything allows it (the
        common small response), else queued behind the rest with the end marked."""
        link = self._link
        h2conn = link.h2
        if (
            not self._pending
            and self._trailers is None
            and (self._remaining < 0 or self._remaining == len(data))
            and not link.write_paused
            and len(data) <= h2conn.max_outbound_frame_size
            and len(data) <= h2conn.local_flow_control_window(self.stream_id)
        ):
            try:
                h2conn.send_data(self.stream_id, data, end_stream=True)
            except h2.exceptions.ProtocolError:
                # The client reset the stream in this same read; h2 knows, we are told later.
                self.reset(ErrorCodes.STREAM_CLOSED)
                return
            self._stream_over()
            return
        # Behind queued bytes, or held by a window: the end goes out with the last queued DATA.
        self._queue(data)
        self._end_queued = True
        self.pump()

    def _queue(self, data: bytes | memoryview) -> None:
        remaining = self._remaining
        if remaining >= 0:
            if len(data) > remaining:
                # More than the app announced: the rest would make the response malformed (§8.1.1).
                data = data[:remaining]
            self._remaining = remaining - len(data)
        if data:
            self._pending.append(data)
            self._pending_size += len(data)

    def _close_response(self) -> None:
        """Everything queued is in h2: end the stream (with trailers), or reset a short body."""
        h2conn = self._link.h2
        if self._remaining > 0:
            # Shorter than the content-length the app announced: only a reset tells the client.
            self.reset(ErrorCodes.INTERNAL_ERROR)
            return
        if self._trailers is not None:
            # Trailers are a HEADERS frame that ends the stream (§8.1).
            h2conn.send_headers(self.stream_id, self._trailers, end_stream=True)
        else:
            # The last DATA went out before the end was known: END_STREAM on an empty frame.
            h2conn.end_stream(self.stream_id)
        self._stream_over()

    def _stream_over(self) -> None:
        """END_STREAM is out: the response is complete."""
        link = self._link
        self.over = True
        if self._pending:
            # Only a reset path gets here with bytes queued: they can no longer be sent.
            self._pending.clear()
            self._pending_size = 0
        if not self._request_over:
            self._request_over = True
            self._stop_request()
        if self._unacked:
            # Body the app never read still holds connection window: give it back, or other
            # streams would slowly starve.
            link.h2.acknowledge_received_data(self._unacked, self.stream_id)
            self._unacked = 0
        self._complete = True
        # The waiters, woken without a call each (this runs once per request): the response is
        # complete, and over both ways nothing more can be heard from the client on this stream.
        for waiter in (self._complete_waiter, self._disconnect_waiter, self._drain_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        link.want_flush()
        link.stream_done(self)

    def _stop_request(self) -> None:
        """Our side is complete while the client's is not: tell it to stop, or to go away."""
        carrier = self._carrier
        if carrier is None:
            # RFC 9113 §8.1: a complete response lets the client stop sending the body.
            self._reset_quietly(ErrorCodes.NO_ERROR)
        elif not carrier.peer_closed:
            # A WebSocket whose client never answered our close: it will not end its side either.
            self._reset_quietly(ErrorCodes.CANCEL)
        # After a complete close handshake the client ends its side itself (its FIN).

    def _reset_quietly(self, code: int) -> None:
        try:
            self._link.h2.reset_stream(self.stream_id, code)
        except h2.exceptions.ProtocolError:
            pass  # already closed on h2's side: nothing to tell

    def _ack(self) -> None:
        # WINDOW_UPDATE for what the app has taken: the client may send that much more. Acking
        # on read rather than on receipt is what gives each stream its own backpressure.
        size, self._unacked = self._unacked, 0
        if size and not self._link.closed:
            self._link.h2.acknowledge_received_data(size, self.stream_id)
            self._link.want_flush()

    def _body_consumed(self) -> None:
        self._ack()

    def _nothing_more_to_hear(self) -> bool:
        return self.over and self._request_over

    def _emit_accept(self, offer: WebSocketOffer, subprotocol: str | None, headers: Headers) -> WebSocket:
        settings = self._link.ctx.ws
        extensions, extensions_header = negotiate_extensions(offer.extensions, settings.max_message_size)
        # RFC 8441 §5: a 2xx without END_STREAM accepts; from then on DATA carries the frames.
        self._status = 200
        self._resp_headers = accept_fields(subprotocol, extensions_header, headers)
        self._send_head(None, False)
        carrier = self._carrier = StreamCarrier(self)
        session = carrier.session = WebSocket(carrier, self._loop, extensions, settings=settings)
        self._response_complete()  # the handshake's answer is complete: wait_complete returns
        if self.disconnected:
            # Reset while the app decided: the session starts ended (1006), as on HTTP/1.1.
            session.connection_lost()
            return session
        # DATA the client sent ahead of our answer (it may, RFC 8441 §5 does not forbid it), then
        # its END_STREAM if that came too; buffered like a body until now.
        early, self._body = self._body, []
        size, self._unacked = self._unacked, 0
        if early or size:
            carrier.feed(b''.join(early), size)
        if self.body_complete:
            carrier.feed_eof()
        return session

    # -- response flow control -----------------------------------------------------------------

    @property
    def write_paused(self) -> bool:
        # Per stream, not per connection: one client stalling one stream's window must not
        # pause the other streams' apps (max_send_buffer_size bounds each queue).
        return self._pending_size >= self._link.send_limit and not self.over

    async def drain(self) -> None:
        if self.write_paused:
            if self._drain_waiter is None or self._drain_waiter.done():
                self._drain_waiter = self._loop.create_future()
            # Shielded: one of several senders being cancelled must not cancel the others' wait.
            await asyncio.shield(self._drain_waiter)

    # -- optional response features ------------------------------------------------------------

    @property
    def trailers_allowed(self) -> bool:
        return self._te_trailers

    @property
    def early_hints_allowed(self) -> bool:
        # A 103 must precede the final head (RFC 8297 §2); any number of them may.
        return self._state <= HELD and not self.over

    def early_hints(self, headers: Headers) -> None:
        if self._state <= HELD and not self.over:
            self._link.h2.send_headers(self.stream_id, informational_headers(103, headers))
            self._link.want_flush()

    # -- the connection's side -----------------------------------------------------------------

    @property
    def request_over(self) -> bool:
        """No more request DATA is read on this stream."""
        return self._request_over

    def feed(self, data: bytes, flow_size: int) -> None:
        """A DATA frame: ``data`` without padding, ``flow_size`` what it cost the window."""
        carrier = self._carrier
        if carrier is not None:
            # An accepted WebSocket: the DATA is frames for the session, with its own flow rules.
            carrier.feed(data, flow_size)
            return
        self._unacked += flow_size
        if data:
            self.feed_body(data)
        elif flow_size:
            self._ack()  # padding only: nothing for the app to consume, nothing to wait for

    def feed_eof(self) -> None:
        """The client's END_STREAM."""
        self._request_over = True
        ExchangeCore.feed_eof(self)
        if self._carrier is not None:
            self._carrier.feed_eof()

    def lost(self) -> None:
        """The stream was reset, or the connection is lost: the client will not hear from us."""
        self._client_gone()
        # Over both ways: nothing more is read or sent, and the queue can go at once.
        self._request_over = True
        self.over = True
        self._pending.clear()
        self._pending_size = 0
        wake(self._drain_waiter)
        if self._carrier is not None:
            self._carrier.lost()

    def reset(self, code: int) -> None:
        """Reset the stream from our side; the app sees a disconnect."""
        link = self._link
        if not self.over and not link.closed:
            self._reset_quietly(code)
            link.want_flush()
        if self._unacked and not link.closed:
            # Free the connection window that unread body bytes held.
            link.h2.acknowledge_received_data(self._unacked, self.stream_id)
            self._unacked = 0
        self.lost()
        link.stream_done(self)

    def fail(self) -> None:
        """The handler raised before answering: a 500 if the head is not out, else a reset."""
        # Unlike HTTP/1.1, a failure costs only this stream: the connection and its other
        # streams carry on.
        if self._state > HELD or self.over:
            self.reset(ErrorCodes.INTERNAL_ERROR)
            return
        self.start(500, ())
        self.end()

    def pump(self) -> None:
        """Move queued body bytes into h2 as far as flow control and the transport allow."""
        link = self._link
        h2conn = link.h2
        stream_id = self.stream_id
        pending = self._pending
        try:
            # A paused transport stops every stream: what h2 would frame now would only pile up
            # in our buffer (the connection resumes the queues when the transport drains).
            while pending and not link.write_paused:
                window = h2conn.local_flow_control_window(stream_id)
                if window <= 0:
                    # The client holds the window shut; the stall clock bounds how long (a
                    # client could otherwise pin this response and its buffers forever).
                    link.stall_begins(stream_id)
                    break
                chunk = pending[0]
                # One frame at a time: what the window allows, at most the peer's frame size.
                size = min(len(chunk), window, h2conn.max_outbound_frame_size)
                if size == len(chunk):
                    pending.popleft()
                else:
                    # memoryviews, so a large body is split into frames without copying it.
                    pending[0] = memoryview(chunk)[size:]
                    chunk = memoryview(chunk)[:size]
                self._pending_size -= size
                # END_STREAM on the last DATA frame itself, when nothing else must follow it.
                last = not pending and self._end_queued and self._trailers is None and self._remaining <= 0
                h2conn.send_data(stream_id, chunk, end_stream=last)
                link.queued(size)
                if last:
                    self._stream_over()
                    return
        except h2.exceptions.ProtocolError:
            # The stream closed under us (a reset the connection has not reported yet).
            self.reset(ErrorCodes.STREAM_CLOSED)
            return
        if pending:
            link.blocked(self)
        else:
            link.unblocked(stream_id)
            if self._end_queued and not self.over:
                self._close_response()
                return
        if self._pending_size < link.send_limit:
            # Below the limit again: an app waiting in drain() may write more.
            waiter = self._drain_waiter
            if waiter is not None:
                self._drain_waiter = None
                if not waiter.done():
                    waiter.set_result(None)
        link.want_flush()

    def shutdown(self) -> None:
        """The server is stopping: a stream that could run on forever ends now (a WebSocket)."""
        carrier = self._carrier
        if carrier is not None and carrier.session is not None:
            carrier.session.close(1001, 'Server shutting down')

    # -- the carrier's side (a WebSocket accepted on this stream) ------------------------------

    def carry(self, data: bytes) -> None:
        """Send WebSocket bytes as DATA, with the same queueing and windows as a body."""
        # Nothing after our END_STREAM: a session writing after its close is dropped, as a write
        # on a closed socket would be.
        if not self.over and not self._end_queued:
            self._queue(data)
            self.pump()

    def end_carrying(self) -> None:
        """End our side of the stream once what is queued is out (RFC 8441 §5: our FIN)."""
        if not self.over and not self._end_queued:
            self._end_queued = True
            self.pump()

    def acknowledge(self, size: int) -> None:
        """Hand back the window of DATA the session has taken."""
        if size and not self._link.closed:
            self._link.h2.acknowledge_received_data(size, self.stream_id)
            self._link.want_flush()

    def __repr__(self) -> str:
        return f'<H2Stream {self.stream_id} {self.method} {self.raw_path!r}>'
