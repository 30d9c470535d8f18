"""One HTTP/3 request stream as an exchange: the wire-specific part, on the exchange core.

Everything protocol-neutral (body buffer, waiters, response order, ``send_file``) is the exchange
core's (:mod:`granian_http._core`). What is HTTP/3's own, and lives here:

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

import asyncio
from typing import TYPE_CHECKING, Protocol

from aioquic.h3.connection import ErrorCode
from aioquic.h3.exceptions import H3Error

from .._core import ConnectionFacts, ExchangeCore, wake
from .._state import HELD
from ..exchange import Headers
from ..h2 import StreamCarrier, accept_fields, informational_headers, response_head, trailer_headers
from ..ws import WebSocket, WebSocketOffer, negotiate_extensions

if TYPE_CHECKING:
    from ..context import ServeContext
    from ._aioquic import ServerH3, ServerQuic

__all__ = ['H3Link', 'H3Stream']

_NO_BODY_STATUS = frozenset((204, 304))


class H3Link(Protocol):
    """What a stream needs of its HTTP/3 connection, and nothing more."""

    quic: ServerQuic
    h3: ServerH3
    ctx: ServeContext
    #: Unacknowledged bytes above which a stream's ``write_paused`` turns on.
    send_limit: int
    closed: bool

    def want_flush(self) -> None:
        """Frames were queued: send them at the end of this loop turn."""

    def waiting(self, stream: H3Stream) -> None:
        """The stream's app waits in ``drain``: tell it when acknowledgements free the buffer."""

    def stream_done(self, stream: H3Stream) -> None:
        """Our side of the stream is over: forget it."""


class H3Stream(ExchangeCore):
    __slots__ = (
        '_carrier',
        '_drain_waiter',
        '_head_request',
        '_link',
        '_remaining',
        '_request_over',
        '_te_trailers',
        '_unreleased',
        'over',
        'stream_id',
    )

    disconnect_reason = 'client reset the stream before the request body was complete'

    def __init__(
        self,
        link: H3Link,
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
        ExchangeCore.__init__(self, facts, method, raw_path, query_string, headers, '3', authority)
        self._link = link
        self.stream_id = stream_id
        self._te_trailers = te_trailers
        self._head_request = method == 'HEAD'
        #: Body bytes received and not yet released to the flow control windows.
        self._unreleased = 0
        self._request_over = ended
        self.body_complete = ended
        #: Our FIN or reset is queued: the connection may forget the stream.
        self.over = False
        self._remaining = -1  # bytes the app's content-length still allows; -1 when it gave none
        self._drain_waiter: asyncio.Future[None] | None = None
        self._carrier: StreamCarrier | None = None

    # -- the wire ------------------------------------------------------------------------------

    def _send_head(self, body_length: int | None, end_stream: bool) -> bool:
        """Send the held head; ``False`` when no body may follow (HEAD, 204, 304) or it is over."""
        status = self._status
        no_body = self._head_request or status in _NO_BODY_STATUS
        # HTTP/2's cached heads: a server sends few distinct ones, so most cost one lookup (the
        # HPACK block that comes with it is not used here; QPACK encodes the list).
        fields, _, declared = response_head(
            status, self._resp_headers, self._link.ctx.date_value, None if no_body else body_length, None
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

    def _cut(self, data: bytes) -> bytes:
        remaining = self._remaining
        if remaining >= 0:
            if len(data) > remaining:
                data = data[:remaining]  # beyond the app's content-length: malformed (§4.1.2)
            self._remaining = remaining - len(data)
        return data

    def _emit_abort(self) -> None:
        if not self.over:
            self.reset(ErrorCode.H3_INTERNAL_ERROR)

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
        self._release()
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

    def _release(self) -> None:
        size, self._unreleased = self._unreleased, 0
        if size and not self._link.closed:
            self._link.quic.release(self.stream_id, size)
            self._link.want_flush()

    def _body_consumed(self) -> None:
        # The window moves as the app reads: that is each stream's backpressure.
        self._release()

    def _nothing_more_to_hear(self) -> bool:
        return self.over and self._request_over

    def _emit_accept(self, offer: WebSocketOffer, subprotocol: str | None, headers: Headers) -> WebSocket:
        settings = self._link.ctx.ws
        extensions, extensions_header = negotiate_extensions(offer.extensions, settings.max_message_size)
        # RFC 9220 §3, as RFC 8441 §5: a 2xx without FIN accepts; DATA carries the frames after it.
        self._status = 200
        self._resp_headers = accept_fields(subprotocol, extensions_header, headers)
        self._send_head(None, False)
        carrier = self._carrier = StreamCarrier(self)
        session = carrier.session = WebSocket(carrier, self._loop, extensions, settings=settings)
        self._response_complete()
        if self.disconnected:
            session.connection_lost()
            return session
        early, self._body = self._body, []
        size, self._unreleased = self._unreleased, 0
        if early or size:
            carrier.feed(b''.join(early), size)
        if self.body_complete:
            carrier.feed_eof()
        return session

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

    @property
    def trailers_allowed(self) -> bool:
        return self._te_trailers

    @property
    def early_hints_allowed(self) -> bool:
        return self._state <= HELD and not self.over

    def early_hints(self, headers: Headers) -> None:
        if self._state <= HELD and not self.over:
            self._frame(informational_headers(103, headers), False, headers=True)

    # -- the connection's side -----------------------------------------------------------------

    @property
    def request_over(self) -> bool:
        return self._request_over

    def feed(self, data: bytes) -> None:
        """A DATA frame's payload (the frame overhead was released by the connection)."""
        carrier = self._carrier
        if carrier is not None:
            carrier.feed(data, len(data))
            return
        if data:
            self._unreleased += len(data)
            self.feed_body(data)

    def feed_eof(self) -> None:
        """The client's FIN."""
        self._request_over = True
        ExchangeCore.feed_eof(self)
        if self._carrier is not None:
            self._carrier.feed_eof()

    def lost(self) -> None:
        """The client reset the stream (or stopped our side), or the connection is gone."""
        self._client_gone()
        self._request_over = True
        self.over = True
        wake(self._drain_waiter)
        if self._carrier is not None:
            self._carrier.lost()

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
        self._release()
        self.lost()
        link.stream_done(self)

    def fail(self) -> None:
        """The handler raised before answering: a 500 if the head is not out, else a reset."""
        if self._state > HELD or self.over:
            self.reset(ErrorCode.H3_INTERNAL_ERROR)
            return
        self.start(500, ())
        self.end()

    def shutdown(self) -> None:
        """The server is stopping: a stream that could run on forever ends now (a WebSocket)."""
        carrier = self._carrier
        if carrier is not None and carrier.session is not None:
            carrier.session.close(1001, 'Server shutting down')

    # -- the carrier's side (a WebSocket accepted on this stream) ------------------------------

    def carry(self, data: bytes) -> None:
        if not self.over:
            self._frame(data, False)

    def end_carrying(self) -> None:
        if not self.over:
            self._send_last(b'', None)

    def acknowledge(self, size: int) -> None:
        if size and not self._link.closed:
            self._link.quic.release(self.stream_id, size)
            self._link.want_flush()

    def __repr__(self) -> str:
        return f'<H3Stream {self.stream_id} {self.method} {self.raw_path!r}>'
