"""One HTTP/3 request stream as an exchange: the wire-specific part, on the exchange core.

Everything protocol-neutral (body buffer, waiters, response order, ``send_file``) is the exchange
core's (:mod:`granian_http._core`), and what a stream's life is on HTTP/2 and HTTP/3 alike (the
request side, ``content-length`` cuts, WebSocket accept, failures) is HTTP/2's
``MultiplexedStream``. What is HTTP/3's own, and lives here:

* **Inbound flow control.** Body bytes are released to the QUIC stream window only as the app
  reads them (:meth:`H3Stream._body_consumed`), so a slow app slows its own stream: at most a
  stream window of unread body is buffered.
* **Outbound.** Frames go straight into aioquic's stream send buffer, which the congestion
  controller and the client's windows drain; the app's ``write_paused`` turns on while more than
  ``max_send_buffer_size`` bytes wait there unacknowledged, and the connection wakes ``drain``
  when acknowledgements bring it back under (:meth:`H3Stream.sent_some`).
* **The end of a stream.** Our side is over once the FIN (or a reset) is queued. If the request
  body was still coming, the client is told to stop with ``STOP_SENDING(H3_NO_ERROR)`` (RFC 9114
  §4.1). A body shorter than the app's ``content-length`` can only be told by a reset
  (``H3_INTERNAL_ERROR``); bytes beyond it are cut.
* **What HTTP/3 adds**: 103 Early Hints, trailers (when the client sent ``te: trailers``), and
  WebSockets on an extended CONNECT stream (RFC 9220), carried exactly as RFC 8441 carries them
  on HTTP/2: the accepted stream's DATA goes to HTTP/2's ``StreamCarrier`` instead of the body.

The stream talks to its connection only through :class:`H3Link`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aioquic.h3.connection import ErrorCode
from aioquic.h3.exceptions import H3Error

from .._core import wake
from .._state import HELD
from ..exchange import Headers
from ..h2 import MultiplexedLink, MultiplexedStream, informational_headers, response_head, trailer_headers

if TYPE_CHECKING:
    from ._aioquic import ServerH3, ServerQuic

__all__ = ['H3Link', 'H3Stream']

_NO_BODY_STATUS = frozenset((204, 304))


class H3Link(MultiplexedLink, Protocol):
    """The HTTP/3 connection as its streams see it: aioquic's QUIC and HTTP/3 state machines, and
    two calls. ``send_limit`` bounds the bytes aioquic holds unacknowledged for one stream."""

    quic: ServerQuic
    h3: ServerH3

    def waiting(self, stream: H3Stream) -> None:
        """The stream's app waits in ``drain``: tell it when acknowledgements free the buffer."""

    def stream_done(self, stream: H3Stream) -> None:
        """Our side of the stream is over: forget it."""


class H3Stream(MultiplexedStream):
    __slots__ = ()

    # Built with MultiplexedStream's __init__ (http_version '3'): HTTP/3 adds no fields.
    _link: H3Link
    internal_error = ErrorCode.H3_INTERNAL_ERROR

    # -- the wire ------------------------------------------------------------------------------

    def _send_head(self, body_length: int | None, end_stream: bool) -> bool:
        """Send the held head; ``False`` when no body may follow (HEAD, 204, 304) or it is over."""
        status = self._status
        no_body = self._head_request or status in _NO_BODY_STATUS
        # HTTP/2's cached heads: a server sends few distinct ones, so most cost one lookup (the
        # HPACK block that comes with it is not used here; QPACK encodes the list). The defaults
        # are HTTP/3's snapshot: HTTP/2's, less the alt-svc that would advertise HTTP/3 again.
        fields, _, declared = response_head(
            status, self._resp_headers, self._link.ctx.h3_response_defaults, None if no_body else body_length
        )
        if declared is not None and not no_body:
            self._remaining = declared
        if self.over:
            return False
        end_stream = end_stream or no_body
        if not self._frame(fields, end_stream, headers=True):
            return False
        return not end_stream

    def _frame(self, data: bytes | list[tuple[bytes, bytes]], end_stream: bool, headers: bool = False) -> bool:
        """Queue a HEADERS (a field list) or DATA frame; ``False`` if the stream closed under us."""
        link = self._link
        try:
            if headers:
                link.h3.send_headers(self.stream_id, data, end_stream)  # type: ignore[arg-type]
            else:
                link.h3.send_data(self.stream_id, data, end_stream)  # type: ignore[arg-type]
        except (H3Error, AssertionError, ValueError, RuntimeError):
            # The client reset the stream, or the connection is closing: nothing can go out.
            # RuntimeError: aioquic reset our side on the client's STOP_SENDING, which can arrive
            # ahead of the request's HEADERS (one packet), before the stream was ours to reset.
            self.lost()
            link.stream_done(self)
            return False
        link.want_flush()
        if end_stream:
            self._stream_over()
        return True

    def _emit_head(self, body_length: int | None) -> None:
        self._send_head(body_length, False)  # a HEAD or 304 head ends the stream there

    def _emit_body(self, data: bytes) -> None:
        data = self._cut(data)
        if data and not self.over:
            self._frame(data, False)

    def _emit_whole(self, data: bytes, trailers: Headers | None) -> None:
        tail = trailer_headers(trailers) if self._te_trailers and trailers else None
        only_head = not data and not tail
        if self._send_head(len(data), only_head):
            self._send_last(data, tail)

    def _emit_end(self, data: bytes, trailers: Headers | None) -> None:
        if not self.over:
            self._send_last(data, trailer_headers(trailers) if self._te_trailers and trailers else None)

    def _send_last(self, data: bytes, trailers: list[tuple[bytes, bytes]] | None) -> None:
        data = self._cut(data)
        if self._remaining > 0:
            # Shorter than the content-length the app announced: only a reset tells the client.
            if data:
                self._frame(data, False)
            self.reset(ErrorCode.H3_INTERNAL_ERROR)
            return
        if trailers:
            if data and not self._frame(data, False):
                return
            self._frame(trailers, True, headers=True)
        elif data:
            self._frame(data, True)
        else:
            # An empty DATA frame costs three bytes more than the bare FIN it carries.
            link = self._link
            try:
                link.quic.send_stream_data(self.stream_id, b'', True)
            except (AssertionError, ValueError, RuntimeError):  # as in _frame
                self.lost()
                link.stream_done(self)
                return
            link.want_flush()
            self._stream_over()

    def _file_head(self, count: int) -> bool:
        if not self._send_head(count, False):
            return False  # no body follows (HEAD, 304), or the stream is gone
        if self._remaining < 0:
            self._remaining = count  # a file that shrinks under us resets the stream
        return True

    def _stream_over(self) -> None:
        """Our FIN is queued: the response is complete."""
        link = self._link
        self.over = True
        if not self._request_over:
            self._request_over = True
            if self._carrier is None or not self._carrier.peer_closed:
                # §4.1: a complete response lets the client stop sending the body.
                self._stop(ErrorCode.H3_NO_ERROR)
        self._body_consumed()  # body the app never read still holds connection window
        self._complete = True
        for waiter in (self._complete_waiter, self._disconnect_waiter, self._drain_waiter):
            wake(waiter)
        link.stream_done(self)

    def _stop(self, code: int) -> None:
        link = self._link
        if not link.closed:
            try:
                link.quic.stop_stream(self.stream_id, code)
            except (AssertionError, ValueError):
                pass  # the receiving side is already over
            link.want_flush()

    def _window_back(self, size: int) -> None:
        self._link.quic.release(self.stream_id, size)

    # -- response flow control -----------------------------------------------------------------

    @property
    def write_paused(self) -> bool:
        link = self._link
        return not self.over and link.quic.unsent(self.stream_id) >= link.send_limit

    async def drain(self) -> None:
        if self.write_paused:
            if self._drain_waiter is None or self._drain_waiter.done():
                self._drain_waiter = self._loop.create_future()
                self._link.waiting(self)
            await self._drain_waiter

    def sent_some(self) -> bool:
        """Acknowledgements came: wake a waiting app if the buffer is under the limit; ``True``
        once nothing waits any more."""
        if self.write_paused:
            return False
        waiter, self._drain_waiter = self._drain_waiter, None
        wake(waiter)
        return True

    # -- optional response features ------------------------------------------------------------

    def early_hints(self, headers: Headers) -> None:
        if self._state <= HELD and not self.over:
            self._frame(informational_headers(103, headers), False, headers=True)

    # -- the connection's side -----------------------------------------------------------------

    def reset(self, code: int) -> None:
        """Reset the stream from our side (both directions); the app sees a disconnect."""
        link = self._link
        if not link.closed:
            if not self.over:
                try:
                    link.quic.reset_stream(self.stream_id, code)
                except (AssertionError, ValueError):
                    pass
            if not self._request_over:
                self._stop(code)
            link.want_flush()
        self._body_consumed()  # body the app never read still holds connection window
        self.lost()
        link.stream_done(self)

    # -- the carrier's side (a WebSocket accepted on this stream) ------------------------------

    def carry(self, data: bytes) -> None:
        if not self.over:
            self._frame(data, False)

    def end_carrying(self) -> None:
        if not self.over:
            self._send_last(b'', None)
