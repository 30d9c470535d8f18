"""One QUIC connection carrying HTTP/3 (RFC 9114): aioquic's state machines, fed by our endpoint,
and each request stream an :class:`~._stream.H3Stream` exchange, so every interface serves
HTTP/3 unchanged.

Theory of operation:

* The endpoint (:mod:`._endpoint`) hands us the datagrams addressed to our connection IDs
  (:meth:`HTTP3Connection.receive`). aioquic decrypts them into QUIC events, HTTP/3 turns stream
  data into HEADERS and DATA events, and new requests reach the handler after the whole batch,
  as on HTTP/2. Nothing is sent from here: the endpoint calls :meth:`HTTP3Connection.transmit`
  once at the end of the loop turn for every connection that has something to say, so the
  acknowledgements and answers to a burst of datagrams leave together.
* One timer per connection (aioquic's loss detection, ACK delay, idle timeout), re-armed lazily:
  a later deadline leaves the armed timer alone, and the timer re-arms itself when it fires early.
* Flow control both ways: inbound, request stream windows move as the apps read
  (:meth:`~._aioquic.ServerQuic.release`); HTTP/3 frame overhead is released at once. Outbound,
  each stream's unacknowledged bytes decide its ``write_paused``; streams whose apps wait in
  ``drain`` are looked at after every batch of acknowledgements.
* Limits: the concurrent stream limit is QUIC's (a client that opens more gets
  ``STREAM_LIMIT_ERROR``); a request header section above ``max_headers_size`` is answered 431,
  and a HEADERS frame that grows past it before it is complete resets the stream with
  ``H3_EXCESSIVE_LOAD``; QPACK offers no dynamic table (no QPACK bombs). Malformed frames and
  invalid pseudo-headers are aioquic's to find (``H3_FRAME_UNEXPECTED``, ``H3_MESSAGE_ERROR``, ...)
  except the checks it leaves out (``:method``, ``:scheme`` and ``:path`` present, RFC 9114
  §4.3.1), which reset the stream with ``H3_MESSAGE_ERROR`` here.
* Graceful shutdown: GOAWAY with the first stream ID we will not process; streams below it finish,
  streams the client opens at or above it are rejected (``H3_REQUEST_REJECTED``, safe to retry),
  and the connection closes with ``H3_NO_ERROR`` once the last stream is done and everything we
  sent is acknowledged. A connection that has made no request yet gets a short grace to make its
  first (:data:`FIRST_REQUEST_GRACE`).
* A stream the client resets (RESET_STREAM or STOP_SENDING) reaches its app as a disconnect.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aioquic.h3.connection import ErrorCode
from aioquic.h3.events import DataReceived, HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic.events import (
    ConnectionIdIssued,
    ConnectionIdRetired,
    ConnectionTerminated,
    HandshakeCompleted,
    StopSendingReceived,
    StreamDataReceived,
    StreamReset,
)

from .._core import ConnectionFacts
from ..context import ServeContext
from ..h2 import dispatch, refusal_response, response_head, websocket_offer
from ..settings import HTTP3Settings
from ..tls import TLSInfo
from ..ws import HandshakeError
from ._aioquic import ServerH3, ServerQuic
from ._stream import H3Stream

__all__ = ['EndpointLink', 'HTTP3Connection']

_log = logging.getLogger('_granian')

# RFC 9114 §4.2.2: a field's size is its name and value plus 32 bytes.
_FIELD_OVERHEAD = 32
#: Seconds a connection that has made no request yet gets, at shutdown, to make its first one: a
#: client whose handshake was under way sends its request right after, and rejecting it would
#: fail a request that was never late (TCP has no such race: an accepted connection waits in the
#: shared backlog for another worker).
FIRST_REQUEST_GRACE = 1.0


class EndpointLink(Protocol):
    """What a connection needs of the endpoint that owns its socket."""

    def send(self, data: bytes, addr: tuple[str, int]) -> None: ...

    def schedule(self, conn: HTTP3Connection) -> None:
        """Call ``conn.transmit`` at the end of this loop turn."""

    def cid_issued(self, cid: bytes, conn: HTTP3Connection) -> None: ...

    def cid_retired(self, cid: bytes) -> None: ...

    def connection_closed(self, conn: HTTP3Connection) -> None: ...

    @property
    def server_cert(self) -> str:
        """Our certificate, PEM (for the exchanges' TLS facts)."""


class HTTP3Connection:
    """A QUIC connection and the HTTP/3 streams on it (the ``H3Link`` of its streams)."""

    def __init__(
        self,
        endpoint: EndpointLink,
        ctx: ServeContext,
        settings: HTTP3Settings,
        quic: ServerQuic,
        client: tuple[str, int],
        server: tuple[str, int] | None,
    ) -> None:
        self._endpoint = endpoint
        self.ctx = ctx
        self._loop = ctx.loop
        self._settings = settings
        self.quic = quic
        self.h3 = ServerH3(quic, ctx.websockets)
        self.send_limit = max(1, settings.max_send_buffer_size)
        self.closed = False
        self._facts = ConnectionFacts(ctx.loop, ctx.executor, 'https', client, server, None)
        self._streams: dict[int, H3Stream] = {}
        #: Streams whose apps wait in drain().
        self._waiting: dict[int, H3Stream] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._goaway_sent = False
        #: After GOAWAY, every stream is done: close once the client has all we sent.
        self._draining = False
        #: Shutdown was asked for before the first request: GOAWAY waits for it (or the grace).
        self._shutdown_timer: asyncio.TimerHandle | None = None
        #: The highest request stream ID we accepted, -4 before the first.
        self._last_stream_id = -4
        ctx.connection_made(self)
        if ctx.closing:
            self.shutdown()  # accepted while the worker stops: GOAWAY before any request

    # -- datagrams in, datagrams out -----------------------------------------------------------

    def receive(self, data: bytes, addr: tuple[str, int], now: float) -> None:
        if self.closed:
            return
        self.quic.receive_datagram(data, addr, now)
        self._process()
        self._endpoint.schedule(self)

    def transmit(self) -> None:
        """Send everything aioquic has for the client, and re-arm the timer."""
        if self.closed:
            return
        now = self._loop.time()
        endpoint = self._endpoint
        for data, addr in self.quic.datagrams_to_send(now):
            endpoint.send(data, addr)
        if self._waiting:
            # Acknowledgements may have made room in a send buffer an app waits on.
            for stream_id, stream in list(self._waiting.items()):
                if stream.sent_some():
                    del self._waiting[stream_id]
        if self._draining and self.quic.all_acknowledged():
            self._close(ErrorCode.H3_NO_ERROR)
            return
        deadline = self.quic.get_timer()
        if deadline is None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        elif self._timer is None or deadline < self._timer_at:
            # Only an earlier deadline re-arms: a later one is found when the timer fires.
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.closed:
            return
        now = self._loop.time()
        deadline = self.quic.get_timer()
        if deadline is not None and deadline <= now:
            self.quic.handle_timer(now)
            self._process()
        self.transmit()

    # -- events --------------------------------------------------------------------------------

    def _process(self) -> None:
        quic = self.quic
        opened: list[H3Stream] = []
        while True:
            event = quic.next_event()
            if event is None:
                break
            kind = type(event)
            if kind is StreamDataReceived:
                self._stream_data(event, opened)  # type: ignore[arg-type]
            elif kind is StreamReset or kind is StopSendingReceived:
                self.h3.handle_event(event)
                stream = self._streams.get(event.stream_id)  # type: ignore[attr-defined]
                if stream is not None:
                    # Either way the client will not take our response: its app sees a disconnect.
                    stream.reset(ErrorCode.H3_REQUEST_CANCELLED)
            elif kind is ConnectionIdIssued:
                self._endpoint.cid_issued(event.connection_id, self)  # type: ignore[attr-defined]
            elif kind is ConnectionIdRetired:
                self._endpoint.cid_retired(event.connection_id)  # type: ignore[attr-defined]
            elif kind is HandshakeCompleted:
                # QUIC is always TLS 1.3; the exchanges report it as a TLS connection would.
                tls = TLSInfo(
                    server_cert=self._endpoint.server_cert,
                    tls_version=0x0304,
                    cipher_suite=quic.cipher_suite(),
                    alpn_protocol='h3',
                )
                facts = self._facts
                self._facts = ConnectionFacts(facts.loop, facts.executor, 'https', facts.client, facts.server, tls)
            elif kind is ConnectionTerminated:
                self._terminated(event)  # type: ignore[arg-type]
                return
        if opened:
            dispatch(self.ctx, opened)
        if self._shutdown_timer is not None and self._last_stream_id >= 0:
            self._goaway()  # the first requests are in: GOAWAY now names the next stream

    def _stream_data(self, event: StreamDataReceived, opened: list[H3Stream]) -> None:
        stream_id = event.stream_id
        held = 0  # body bytes handed to an app: released as it reads them
        for h3_event in self.h3.handle_event(event):
            kind = type(h3_event)
            if kind is DataReceived:
                stream = self._streams.get(h3_event.stream_id)  # type: ignore[attr-defined]
                if stream is not None and not stream.request_over:
                    stream.feed(h3_event.data, len(h3_event.data))  # type: ignore[attr-defined]
                    held += len(h3_event.data)  # type: ignore[attr-defined]
                    if h3_event.stream_ended:  # type: ignore[attr-defined]
                        stream.feed_eof()
            elif kind is HeadersReceived:
                stream = self._streams.get(h3_event.stream_id)  # type: ignore[attr-defined]
                if stream is None:
                    new = self._open(h3_event)  # type: ignore[arg-type]
                    if new is not None:
                        opened.append(new)
                elif h3_event.stream_ended and not stream.request_over:  # type: ignore[attr-defined]
                    stream.feed_eof()  # trailers: their fields are not passed on, as on HTTP/2
            elif kind is WebTransportStreamDataReceived and stream_id % 4 == 0:
                # aioquic takes a WEBTRANSPORT_STREAM frame (0x41) as the start of a WebTransport
                # stream though we never offer WebTransport, and swallows the rest of the stream
                # (FIN included) with it: the request could never end. Refused, as a frame that
                # has no place on a request stream.
                stream = self._streams.get(stream_id)
                if stream is not None:
                    stream.reset(ErrorCode.H3_FRAME_UNEXPECTED)
                else:
                    self._refuse(stream_id, ErrorCode.H3_FRAME_UNEXPECTED)
        if stream_id % 4 == 0:
            # Client-initiated bidirectional: a request stream. Everything but the body the
            # apps hold is released now (frame headers, HEADERS frames, bytes of refused streams).
            self.quic.release(stream_id, len(event.data) - held)
            if self.h3.receiving(stream_id) > self._settings.max_headers_size:
                # A HEADERS frame (or an unknown frame) larger than we accept, still arriving.
                _log.debug('HTTP/3 stream %d: frame above max_headers_size', stream_id)
                stream = self._streams.get(stream_id)
                if stream is not None:
                    stream.reset(ErrorCode.H3_EXCESSIVE_LOAD)
                else:
                    self._refuse(stream_id, ErrorCode.H3_EXCESSIVE_LOAD)

    def _open(self, event: HeadersReceived) -> H3Stream | None:
        """A request's HEADERS: a new stream for the handler, unless we answer or refuse it here."""
        stream_id = event.stream_id
        if self._goaway_sent and stream_id > self._last_stream_id:
            # After GOAWAY: not processed, so the client may retry it elsewhere (§5.2).
            self._refuse(stream_id, ErrorCode.H3_REQUEST_REJECTED)
            return None
        method = scheme = path = authority = protocol = None
        fields: list[tuple[bytes, bytes]] = []
        cookies: list[bytes] = []
        te_trailers = False
        size = 0
        for name, value in event.headers:
            size += len(name) + len(value) + _FIELD_OVERHEAD
            if name[:1] == b':':
                # aioquic has checked that pseudo-headers come first, once each, known ones only.
                if name == b':method':
                    method = value
                elif name == b':path':
                    path = value
                elif name == b':scheme':
                    scheme = value
                elif name == b':authority':
                    authority = value
                else:
                    protocol = value
            elif name == b'cookie':
                cookies.append(value)  # §4.2.1: joined again before the app sees them
            else:
                if name == b'te':
                    te_trailers = True  # aioquic has checked it says "trailers"
                fields.append((name, value))
        if cookies:
            fields.append((b'cookie', b'; '.join(cookies)))
        self._last_stream_id = max(self._last_stream_id, stream_id)
        if method is None or (method != b'CONNECT' and (scheme is None or not path)):
            # §4.3.1: malformed, a stream error.
            self._refuse(stream_id, ErrorCode.H3_MESSAGE_ERROR)
            return None
        text_method = method.decode('latin-1')
        raw_path, _, query = (path or b'/').partition(b'?')
        host = authority.decode('latin-1') if authority is not None else None
        ended = event.stream_ended
        if method == b'CONNECT':
            if protocol is None:
                self._answer(stream_id, 405)  # a tunnel (§4.4): not a server's job
                return None
            if not self.ctx.websockets:
                self._refuse(stream_id, ErrorCode.H3_MESSAGE_ERROR)  # :protocol without our setting
                return None
            text_method = 'GET'  # presented as RFC 6455's GET, as on HTTP/2
        stream = self._streams[stream_id] = H3Stream(
            self, self._facts, stream_id, text_method, raw_path, query, fields, '3', host, te_trailers, ended
        )
        if size > self._settings.max_headers_size:
            stream.start(431, ())
            stream.end()
            return None
        if method == b'CONNECT':
            try:
                stream.websocket = websocket_offer(protocol or b'', fields)
            except HandshakeError as error:
                status, headers, body = refusal_response(error)
                stream.start(status, headers)
                stream.end(body)
                return None
        return stream

    def _refuse(self, stream_id: int, code: int) -> None:
        """Reset a stream we will not serve, both ways."""
        quic = self.quic
        try:
            quic.reset_stream(stream_id, code)
        except (AssertionError, ValueError):
            pass  # our side is over already
        try:
            quic.stop_stream(stream_id, code)
        except (AssertionError, ValueError):
            pass
        self._endpoint.schedule(self)

    def _answer(self, stream_id: int, status: int) -> None:
        try:
            # With the worker's default fields, as every response the server writes itself.
            fields = response_head(status, (), self.ctx.h3_response_defaults, None)[0]
            self.h3.send_headers(stream_id, fields, end_stream=True)
        except Exception:
            self._refuse(stream_id, ErrorCode.H3_INTERNAL_ERROR)
            return
        self.quic.stop_stream(stream_id, ErrorCode.H3_NO_ERROR)

    # -- H3Link: what the streams use ----------------------------------------------------------

    def want_flush(self) -> None:
        self._endpoint.schedule(self)

    def waiting(self, stream: H3Stream) -> None:
        self._waiting[stream.stream_id] = stream

    def stream_done(self, stream: H3Stream) -> None:
        stream_id = stream.stream_id
        if self._streams.get(stream_id) is stream:
            del self._streams[stream_id]
        self._waiting.pop(stream_id, None)
        self.quic.forget(stream_id)
        if self._goaway_sent and not self._streams:
            self._drain()

    def _drain(self) -> None:
        # Not closed at once: the last responses may still be in flight (and may need resending);
        # transmit() closes once the client has acknowledged everything.
        self._draining = True
        self._endpoint.schedule(self)

    # -- ending --------------------------------------------------------------------------------

    def _close(self, code: int) -> None:
        """Close the connection now (after what is queued); the endpoint forgets it."""
        if self.closed:
            return
        self._draining = False
        self.quic.close(error_code=code)
        self.transmit()  # the CONNECTION_CLOSE leaves with the last responses
        self._terminated(None)

    def _terminated(self, event: ConnectionTerminated | None) -> None:
        if self.closed:
            return
        self.closed = True
        for timer in (self._timer, self._shutdown_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._shutdown_timer = None
        streams, self._streams = self._streams, {}
        self._waiting.clear()
        for stream in streams.values():
            stream.lost()
        if event is not None and event.error_code:
            self.ctx.connections_err += 1
            _log.debug('HTTP/3 connection closed: %s (%#x)', event.reason_phrase, event.error_code)
        self._endpoint.connection_closed(self)
        self.ctx.connection_lost(self)

    # -- ManagedConnection ---------------------------------------------------------------------

    def pause_admission(self) -> None:
        # QUIC has no accept queue to leave a connection in: over the backpressure limit it is
        # served anyway (its streams are bounded by max_concurrent_streams).
        pass

    def resume_admission(self) -> None:
        pass

    def shutdown(self) -> None:
        """Graceful shutdown: GOAWAY now, close once the accepted streams are done."""
        if self.closed or self._goaway_sent or self._shutdown_timer is not None:
            return
        if self._last_stream_id < 0:
            # No request yet: the client may be about to send its first (see FIRST_REQUEST_GRACE).
            self._shutdown_timer = self._loop.call_later(FIRST_REQUEST_GRACE, self._goaway)
            return
        self._goaway()

    def _goaway(self) -> None:
        if self._shutdown_timer is not None:
            self._shutdown_timer.cancel()
            self._shutdown_timer = None
        if self.closed or self._goaway_sent:
            return
        self._goaway_sent = True
        # §5.2: the identifier is the first request stream we will not process.
        self.h3.send_goaway(self._last_stream_id + 4)
        for stream in list(self._streams.values()):
            stream.shutdown()
        if not self._streams:
            self._drain()
        else:
            self._endpoint.schedule(self)
