"""What a request stream is on a multiplexed connection, HTTP/2's (RFC 9113) and HTTP/3's (RFC 9114)
alike: written once here, and extended by :class:`~._stream.H2Stream` and by ``granian_http.h3``'s
``H3Stream``.

The two protocols frame differently and keep their windows in different places (h2's state machine,
aioquic's streams), but a stream's life is the same on both: a request head that may already end
the request, a body whose window is handed back as the app reads it (so a slow app slows only its
own stream), a response whose ``content-length`` bounds the body, a FIN or a reset that ends our
side, an extended CONNECT (RFC 8441, RFC 9220) that turns the stream into a WebSocket carrier, and
a failure that costs this stream only. That shared life, and the per-read dispatch of new streams
to the handler, live here; framing, windows, queueing and resets stay with each protocol.

This module sits in ``granian_http.h2`` because the WebSocket carrier it builds on is HTTP/2's
(:mod:`._websocket`), and HTTP/3 may use HTTP/2's public names but not the reverse.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from .._core import ConnectionFacts, ExchangeCore, wake
from .._state import HELD
from ..exchange import Headers
from ..ws import WebSocket, WebSocketOffer, negotiate_extensions
from ._websocket import StreamCarrier, accept_fields

if TYPE_CHECKING:
    from ..context import ServeContext

__all__ = ['MultiplexedLink', 'MultiplexedStream', 'dispatch']

_log = logging.getLogger('_granian')
# A module global, as ``H2Stream`` calls this class's ``__init__``: one lookup less per request.
_core_init = ExchangeCore.__init__


class MultiplexedLink(Protocol):
    """What every multiplexed stream needs of its connection (each protocol's link adds its own)."""

    #: The worker's shared state (the cached ``date``, the WebSocket settings).
    ctx: ServeContext
    #: Unsent bytes above which a stream's ``write_paused`` turns on.
    send_limit: int
    #: The connection is gone.
    closed: bool

    def want_flush(self) -> None:
        """Frames were queued: send them at the end of this loop turn."""


class MultiplexedStream(ExchangeCore):
    """One request stream of a multiplexed connection; subclasses put it on their wire."""

    __slots__ = (
        '_carrier',
        '_drain_waiter',
        '_head_request',
        '_link',
        '_remaining',
        '_request_over',
        '_te_trailers',
        '_unacked',
        'over',
        'stream_id',
    )

    _link: MultiplexedLink
    disconnect_reason = 'client reset the stream before the request body was complete'
    #: The protocol's stream error code for a fault of ours (a response cut short, a handler
    #: that raised after its head was out).
    internal_error: int

    def __init__(
        self,
        link: MultiplexedLink,
        facts: ConnectionFacts,
        stream_id: int,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: list[tuple[bytes, bytes]],
        http_version: str,
        authority: str | None,
        te_trailers: bool,
        ended: bool,
    ) -> None:
        # Not super(): a direct call skips building a super object, once per request.
        _core_init(self, facts, method, raw_path, query_string, headers, http_version, authority)
        self._link = link
        self.stream_id = stream_id
        self._te_trailers = te_trailers
        self._head_request = method == 'HEAD'
        # Request side: the flow-controlled bytes received and not yet handed back to the client.
        self._unacked = 0
        #: No more request DATA will be read (complete, reset, or we told the client to stop).
        self._request_over = ended
        self.body_complete = ended
        #: Our FIN (END_STREAM) or reset is out: the stream is over for us, and the connection
        #: may forget it.
        self.over = False
        self._remaining = -1  # bytes the app's content-length still allows; -1 when it gave none
        self._drain_waiter: asyncio.Future[None] | None = None
        #: Once a WebSocket is accepted on this stream, where its DATA goes instead of the body.
        self._carrier: StreamCarrier | None = None

    # -- what each protocol provides -----------------------------------------------------------

    @abstractmethod
    def _send_head(self, body_length: int | None, end_stream: bool) -> object:
        """Send the held head (``body_length`` bytes follow, or a streamed body when ``None``)."""

    @abstractmethod
    def _window_back(self, size: int) -> None:
        """Hand ``size`` bytes of window back to the client (the connection is open)."""

    @abstractmethod
    def reset(self, code: int) -> None:
        """Reset the stream from our side; the app sees a disconnect."""

    @abstractmethod
    def carry(self, data: bytes) -> None:
        """Send WebSocket bytes as DATA (an accepted WebSocket's carrier writes through here)."""

    @abstractmethod
    def end_carrying(self) -> None:
        """End our side of the stream once what is queued is out (the WebSocket's FIN)."""

    # -- shared wire behaviour -----------------------------------------------------------------

    def _cut(self, data: bytes) -> bytes:
        """``data`` as far as the app's ``content-length`` still allows; beyond it, the response
        would be malformed (RFC 9113 §8.1.1, RFC 9114 §4.1.2), so the rest is dropped."""
        remaining = self._remaining
        if remaining >= 0:
            if len(data) > remaining:
                data = data[:remaining]
            self._remaining = remaining - len(data)
        return data

    def _emit_abort(self) -> None:
        # A response cut short is a reset (RFC 9113 §8.1, RFC 9114 §4.1); ours is the fault.
        if not self.over:
            self.reset(self.internal_error)

    def _body_consumed(self) -> None:
        # Window is handed back as the app reads, not as DATA arrives: that is what gives each
        # stream its own backpressure.
        size, self._unacked = self._unacked, 0
        if size and not self._link.closed:  # acknowledge(), inlined: once per body read
            self._window_back(size)
            self._link.want_flush()

    def _nothing_more_to_hear(self) -> bool:
        return self.over and self._request_over

    def _emit_accept(self, offer: WebSocketOffer, subprotocol: str | None, headers: Headers) -> WebSocket:
        settings = self._link.ctx.ws
        extensions, extensions_header = negotiate_extensions(offer.extensions, settings.max_message_size)
        # RFC 8441 §5 (RFC 9220 §3 says the same): a 2xx without the end of the stream accepts;
        # from then on DATA carries the frames.
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
        # DATA the client sent ahead of our answer (it may: RFC 8441 §5 does not forbid it), then
        # the end of its side if that came too; buffered like a body until now.
        early, self._body = self._body, []
        size, self._unacked = self._unacked, 0
        if early or size:
            carrier.feed(b''.join(early), size)
        if self.body_complete:
            carrier.feed_eof()
        return session

    # -- optional response features ------------------------------------------------------------

    @property
    def trailers_allowed(self) -> bool:
        return self._te_trailers

    @property
    def early_hints_allowed(self) -> bool:
        # A 103 must precede the final head (RFC 8297 §2); any number of them may.
        return self._state <= HELD and not self.over

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
            self._body_consumed()  # padding only: nothing for the app to consume, nothing to wait for

    def feed_eof(self) -> None:
        """The end of the client's side (END_STREAM, a FIN)."""
        self._request_over = True
        ExchangeCore.feed_eof(self)
        if self._carrier is not None:
            self._carrier.feed_eof()

    def lost(self) -> None:
        """The stream was reset, or the connection is lost: the client will not hear from us."""
        self._client_gone()
        # Over both ways: nothing more is read or sent.
        self._request_over = True
        self.over = True
        wake(self._drain_waiter)
        if self._carrier is not None:
            self._carrier.lost()

    def fail(self) -> None:
        """The handler raised before answering: a 500 if the head is not out, else a reset."""
        # Unlike HTTP/1.1, a failure costs only this stream: the connection and its other
        # streams carry on.
        if self._state > HELD or self.over:
            self.reset(self.internal_error)
            return
        self.start(500, ())
        self.end()

    def shutdown(self) -> None:
        """The server is stopping: a stream that could run on forever ends now (a WebSocket)."""
        carrier = self._carrier
        if carrier is not None and carrier.session is not None:
            carrier.session.close(1001, 'Server shutting down')

    # -- the carrier's side (a WebSocket accepted on this stream) ------------------------------

    def acknowledge(self, size: int) -> None:
        """Hand back the window of DATA the app or the session has taken."""
        if size and not self._link.closed:
            self._window_back(size)
            self._link.want_flush()

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.stream_id} {self.method} {self.raw_path!r}>'


def dispatch(ctx: ServeContext, opened: Iterable[MultiplexedStream]) -> None:
    """Start the handler for each stream opened by one read, except those reset in that read."""
    handler = ctx.handler
    for stream in opened:
        if stream.over:
            continue  # reset by the client in the same read: no app is started for it
        ctx.requests_handled += 1
        try:
            handler(stream)
        except Exception:
            _log.error('Request handler failed', exc_info=True)
            stream.fail()
