"""One HTTP/2 stream as an exchange: the wire-specific part, on the exchange core.

Everything protocol-neutral (body buffer, waiters, response order, ``send_file``) is the exchange
core's (:mod:`granian_http._core`); what HTTP/2 shares with HTTP/3 (the stream's life, WebSocket
accept, dispatch) is :class:`~._multiplexed.MultiplexedStream`'s. What is HTTP/2's own, and lives here:

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

from .._core import ConnectionFacts
from .._state import HELD
from ..exchange import Headers
from ._headers import informational_headers, response_head, trailer_headers
from ._multiplexed import MultiplexedLink, MultiplexedStream

if TYPE_CHECKING:
    from ._lean import LeanH2Connection

__all__ = ['H2Stream', 'StreamLink']

_NO_BODY_STATUS = frozenset((204, 304))
# Called through a module global rather than ``MultiplexedStream.__init__``: once per request, and a
# global is one specialized lookup where a class attribute is not (on 3.11); about 270 instructions.
_stream_init = MultiplexedStream.__init__


class StreamLink(MultiplexedLink, Protocol):
    """What a stream needs of its HTTP/2 connection, and nothing more (``send_limit`` counts the
    stream's queued bytes)."""

    #: The h2 state machine both share (the stream sends its frames through it).
    h2: LeanH2Connection
    #: The transport's buffer is above its high-water mark: nothing more is moved into h2.
    write_paused: bool

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


class H2Stream(MultiplexedStream):
    __slots__ = ('_end_queued', '_pending', '_pending_size', '_trailers')

    _link: StreamLink
    internal_error = ErrorCodes.INTERNAL_ERROR

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
        _stream_init(
            self, link, facts, stream_id, method, raw_path, query_string, headers, '2', authority, te_trailers, ended
        )
        # Response side: body bytes wait here for the windows and the transport.
        self._pending: deque[bytes | memoryview] = deque()
        self._pending_size = 0
        self._end_queued = False  # the app ended the response; END_STREAM waits for the queue
        self._trailers: list[tuple[bytes, bytes]] | None = None

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

    def _queue(self, data: bytes) -> None:
        data = self._cut(data)
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

    def _window_back(self, size: int) -> None:
        # WINDOW_UPDATE for what the app has taken: the client may send that much more.
        self._link.h2.acknowledge_received_data(size, self.stream_id)

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

    def early_hints(self, headers: Headers) -> None:
        if self._state <= HELD and not self.over:
            self._link.h2.send_headers(self.stream_id, informational_headers(103, headers))
            self._link.want_flush()

    # -- the connection's side -----------------------------------------------------------------

    def lost(self) -> None:
        # Nothing more is sent: the queue can go at once.
        self._pending.clear()
        self._pending_size = 0
        MultiplexedStream.lost(self)

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
