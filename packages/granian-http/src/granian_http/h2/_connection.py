"""HTTP/2 (RFC 9113) as an :class:`asyncio.Protocol`: h2 parses and frames, and each stream becomes
an :class:`~._stream.H2Stream` exchange, so every interface serves HTTP/2 unchanged.

Theory of operation:

* ``data_received`` hands the bytes to h2 and walks the events it returns. New requests are handed
  to the server's handler only after the whole read is processed (a bodyless request reaches its
  app already complete), then everything h2 has to send leaves in **one** ``transport.write``.
  Writes made by apps outside ``data_received`` are coalesced the same way: the first schedules a
  flush for the end of the loop turn. A long body is flushed every :data:`_FLUSH_AT` bytes so the
  transport's high-water mark can push back.
* Flow control both ways. Inbound: DATA is acknowledged only as the app reads it (the stream's
  business), and the connection window is opened wide right after our SETTINGS. Outbound: streams
  queue what the windows or a paused transport hold back; the connection resumes them when a
  WINDOW_UPDATE or the transport lets them move (:meth:`HTTP2Connection.blocked`).
* No priority tree (RFC 9113 §5.3.2 deprecates it): streams with queued data resume in the order
  they blocked.
* Graceful shutdown sends GOAWAY with the last stream we accepted, finishes those streams, then
  closes. Streams the client opens after that are refused (``REFUSED_STREAM``, safe to retry,
  §8.7).
* Limits that hold under attack live in :mod:`._limits`; everything that needs h2's internals
  (the fast paths of a request's HEADERS, the response's HEADERS and DATA, and two corrections to
  h2's error handling) lives in :mod:`._lean`. A request block the HPACK decoder answers from its
  cache reuses the last parse (:meth:`HTTP2Connection._open_stream`).
* WebSockets over HTTP/2 (RFC 8441): with websockets on, ``ENABLE_CONNECT_PROTOCOL`` is advertised
  and an extended CONNECT stream becomes a WebSocket handshake (:mod:`._websocket`); with them
  off, a request with ``:protocol`` is malformed and its stream is reset.

Streams reach the connection only through :class:`~._stream.StreamLink` (the public attributes and
methods in the "StreamLink" section below); the connection calls only the streams' public methods.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NamedTuple, cast

import h2.config
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from hyperframe.frame import GoAwayFrame

from .._core import ConnectionFacts
from ..context import ServeContext
from ..transport import Forwarding, hand_over, transport_addresses
from ..ws import HandshakeError
from ._headers import MalformedRequest, RequestHead, check_trailers, parse_request
from ._lean import LeanH2Connection, NewRequest
from ._limits import BDP_PING, CONTROL_BURST, CONTROL_RATE, AdaptiveWindow, Budget, reset_budget
from ._stream import H2Stream
from ._websocket import refusal_response, websocket_offer

__all__ = ['PREFACE', 'HTTP2Connection', 'UpgradedRequest', 'serve_h2c_upgrade']

#: What every HTTP/2 connection starts with on the client's side (RFC 9113 §3.4).
PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'

# Body bytes moved into h2 between two flushes: big enough to batch frames into one write, small
# enough that a paused transport stops a long body early.
_FLUSH_AT = 64 * 1024
_KEEPALIVE_PING = b'granping'
_MIN_FRAME, _MAX_FRAME = 16384, 16777215
_MAX_WINDOW = 2**31 - 1
_DEFAULT_WINDOW = 65535
# Request fields RFC 7540 §3.2 makes hop-by-hop for an upgraded request: they do not reach the app.
_UPGRADE_FIELDS = frozenset((b'connection', b'upgrade', b'http2-settings', b'keep-alive', b'host', b'te'))

_log = logging.getLogger('_granian')


class UpgradedRequest(NamedTuple):
    """The HTTP/1.1 request that asked for ``Upgrade: h2c``, read whole, for stream 1."""

    method: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


_RequestReceived = h2.events.RequestReceived
_DataReceived = h2.events.DataReceived
_StreamEnded = h2.events.StreamEnded
_StreamReset = h2.events.StreamReset
_WindowUpdated = h2.events.WindowUpdated
_RemoteSettingsChanged = h2.events.RemoteSettingsChanged
_PingReceived = h2.events.PingReceived
_PingAckReceived = h2.events.PingAckReceived
_ConnectionTerminated = h2.events.ConnectionTerminated
_UnknownFrameReceived = h2.events.UnknownFrameReceived
_TrailersReceived = h2.events.TrailersReceived


class HTTP2Connection(asyncio.Protocol):
    __slots__ = (
        '_adaptive',
        '_admitted',
        '_control_budget',
        '_facts',
        '_flush_scheduled',
        '_goaway_sent',
        '_in_receive',
        '_keepalive_timer',
        '_last_block',
        '_last_request',
        '_last_stream_id',
        '_loop',
        '_ping_due',
        '_read_paused',
        '_received',
        '_reset_budget',
        '_stall_timer',
        '_stalled',
        '_streams',
        '_transport',
        '_unflushed',
        '_waiting',
        'closed',
        'ctx',
        'h2',
        'send_limit',
        'write_paused',
    )

    def __init__(self, ctx: ServeContext) -> None:
        settings = ctx.h2
        self.ctx = ctx
        self._loop = ctx.loop
        self._transport: asyncio.Transport | None = None
        # Replaced once the transport is known (connection_made); the placeholder has no addresses.
        self._facts = ConnectionFacts(ctx.loop, ctx.executor, ctx.scheme, None, None, None)
        self._streams: dict[int, H2Stream] = {}
        #: Streams with queued body bytes, in the order they blocked.
        self._waiting: dict[int, H2Stream] = {}
        #: Streams held up by a shut flow control window -> since when.
        self._stalled: dict[int, float] = {}
        self.closed = False
        self.write_paused = False
        self._read_paused = False
        self._admitted = True
        self._in_receive = False
        self._flush_scheduled = False
        self._unflushed = 0
        self._goaway_sent = False
        self._last_stream_id = 0
        self._received = False
        self._ping_due: bytes | None = None
        self._keepalive_timer: asyncio.TimerHandle | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        #: The last request block parsed, and what came of it (see _open_stream).
        self._last_block: Any = None
        self._last_request: tuple[str, bytes, bytes, list[tuple[bytes, bytes]], str | None, bool] = (
            '',
            b'',
            b'',
            [],
            None,
            False,
        )
        self.send_limit = max(1, settings.max_send_buffer_size)
        clock = self._loop.time
        self._control_budget = Budget(CONTROL_BURST, CONTROL_RATE, clock)
        self._reset_budget = reset_budget(settings.max_concurrent_streams, clock)
        self._adaptive = AdaptiveWindow() if settings.adaptive_window else None
        self.h2 = self._new_h2()

    def _new_h2(self) -> LeanH2Connection:
        settings = self.ctx.h2
        config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            # Outbound fields are checked once by our own header code (_headers); h2 would check
            # them again per frame, at a cost larger than the rest of a small response.
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            # Checked by parse_request in the same pass that reads the request.
            validate_inbound_headers=False,
        )
        # Windows above the RFC's 64 KiB (1 MiB by default): at 64 KiB an upload on a link with
        # any latency waits for a WINDOW_UPDATE every 64 KiB.
        stream_window = (
            AdaptiveWindow.START
            if self._adaptive is not None
            else min(settings.initial_stream_window_size, _MAX_WINDOW)
        )
        # §6.5.2: SETTINGS_MAX_FRAME_SIZE must lie between 2**14 and 2**24 - 1.
        frame_size = min(max(settings.max_frame_size, _MIN_FRAME), _MAX_FRAME)
        initial = {
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: settings.max_concurrent_streams,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: stream_window,
            h2.settings.SettingCodes.MAX_FRAME_SIZE: frame_size,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: settings.max_headers_size,
        }
        if self.ctx.websockets:
            initial[h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL] = 1  # RFC 8441 §3
        conn = LeanH2Connection(config, initial, settings.max_headers_size)
        conn.max_inbound_frame_size = frame_size
        return conn

    def _after_settings(self) -> None:
        """Open the connection window beyond the RFC's 64 KiB right after our SETTINGS.

        SETTINGS cannot change the connection window (§6.9.2), only a WINDOW_UPDATE can; without
        it an upload stalls after 64 KiB until the app reads, whatever the stream window says.
        """
        settings = self.ctx.h2
        target = AdaptiveWindow.START if self._adaptive is not None else settings.initial_connection_window_size
        target = min(target, _MAX_WINDOW)
        if target > _DEFAULT_WINDOW:
            self.h2.increment_flow_control_window(target - _DEFAULT_WINDOW)
        if settings.keep_alive_interval:
            self._keepalive_timer = self._loop.call_later(settings.keep_alive_interval / 1000, self._on_keepalive)

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.attach(transport)
        # §3.4: the server's preface is its SETTINGS, sent at once, without waiting for the client.
        self.h2.initiate_connection()
        self._after_settings()
        if self.ctx.closing:
            # Accepted while the worker stops: GOAWAY right after SETTINGS, so the client retries
            # elsewhere instead of sending requests we would refuse.
            self.shutdown()
        self._flush()

    def attach(self, transport: asyncio.BaseTransport) -> None:
        """Take the transport: note the addresses and the TLS facts every stream reports."""
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are look-alikes, not subclasses
        ctx = self.ctx
        client, server = transport_addresses(transport)
        tls = ctx.tls_info(transport) if ctx.tls is not None else None
        self._facts = ConnectionFacts(ctx.loop, ctx.executor, ctx.scheme, client, server, tls)
        ctx.connection_made(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for timer in (self._keepalive_timer, self._stall_timer):
            if timer is not None:
                timer.cancel()
        self._keepalive_timer = self._stall_timer = None
        # Every stream still open learns the client is gone: its app sees a disconnect, its
        # waits end. The dict is swapped first, as lost() may call back into stream_done.
        streams, self._streams = self._streams, {}
        self._waiting.clear()
        self._stalled.clear()
        for stream in streams.values():
            stream.lost()
        self.ctx.connections_err += exc is not None
        self.ctx.connection_lost(self)

    def pause_writing(self) -> None:
        self.write_paused = True
        # What we owe in reply to the client's frames (PING and SETTINGS acks, WINDOW_UPDATEs)
        # must not pile up while it does not read: stop reading too (§10.5, CVE-2019-9512).
        if not self._read_paused and not self.closed:
            self._transport.pause_reading()  # type: ignore[union-attr]

    def resume_writing(self) -> None:
        self.write_paused = False
        # Reading resumes only if nothing else paused it (the connection limit).
        if not self._read_paused and self._admitted and not self.closed:
            self._transport.resume_reading()  # type: ignore[union-attr]
        # The queues the pause held back move now, and leave in one write.
        self._resume_streams()
        self._flush()

    def eof_received(self) -> bool | None:
        # None: the transport closes. An HTTP/2 client ends a connection with GOAWAY; a bare FIN
        # means it will not read either, so streams in flight cannot be answered anyway.
        return None

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return  # after our GOAWAY and close: what the client still sends is not read
        self._received = True  # traffic: the keep-alive ping is not needed this interval
        if self._flush_scheduled:
            self._flush()  # app output first, so what this read produces starts clean
        self._in_receive = True
        try:
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.ProtocolError as exc:
                # h2 has queued a GOAWAY; send it (with the RFC's code where h2's differs) and go.
                _log.debug('HTTP/2 protocol error from %s: %s', self._client, exc)
                self._transport.write(self.h2.goaway_bytes(exc))  # type: ignore[union-attr]
                self._abandon()
                return
            opened: list[H2Stream] = []
            for event in events:
                if not self._on_event(event, opened):
                    return  # a budget ran out: nothing more from this client is served
            if opened:
                self._dispatch(opened)
        finally:
            self._in_receive = False
        self._flush()

    @property
    def _client(self) -> tuple[str, int] | None:
        return self._facts.client

    # -- events --------------------------------------------------------------------------------

    def _on_event(self, event: Any, opened: list[H2Stream]) -> bool:
        """Act on one h2 event; ``False`` once it made us give up on the connection."""
        kind = type(event)
        if kind is NewRequest:
            # The fast path's event for a request's HEADERS (see _lean), END_STREAM included.
            stream = self._open_stream(event.stream_id, event.headers, event.stream_ended)
            if stream is not None:
                opened.append(stream)
        elif kind is _RequestReceived:
            stream = self._open_stream(event.stream_id, event.headers, False)
            if stream is not None:
                opened.append(stream)
        elif kind is _DataReceived:
            stream = self._streams.get(event.stream_id)
            size = event.flow_controlled_length
            if not event.data and not event.stream_ended and not self._control_budget.spend():
                self._calm_down()  # empty DATA frames cost us work and the client nothing
                return False
            if stream is not None and not stream.request_over:
                # Acknowledged by the stream as its app reads (the per-stream backpressure).
                stream.feed(event.data, size)
            elif size:
                # Nobody will read it: hand the window straight back.
                self.h2.acknowledge_received_data(size, event.stream_id)
            adaptive = self._adaptive
            if adaptive is not None and size and adaptive.received(size):
                try:
                    self.h2.ping(BDP_PING)
                except h2.exceptions.ProtocolError:
                    # The client's GOAWAY came later in this same read: h2 has closed the
                    # connection already, and there is nothing left to measure.
                    pass
        elif kind is _StreamEnded:
            stream = self._streams.get(event.stream_id)
            if stream is not None:
                stream.feed_eof()
        elif kind is _WindowUpdated:
            # Only streams with queued bytes care; a stream's update moves that stream, the
            # connection's update moves them all, in the order they blocked.
            if event.stream_id:
                stream = self._waiting.get(event.stream_id)
                if stream is not None:
                    stream.pump()
            else:
                self._resume_streams()
        elif kind is _StreamReset:
            stream = self._streams.pop(event.stream_id, None)
            if stream is not None:
                self._forget(event.stream_id)
                # Only resets of streams still being answered count: a client may always cancel
                # what it no longer needs, but not make us start work it never waits for.
                if not stream.over and not self._reset_budget.spend():
                    stream.lost()
                    self._calm_down()
                    return False
                stream.lost()
                self._maybe_close()
        elif kind is _RemoteSettingsChanged:
            if not self._control_budget.spend():
                self._calm_down()
                return False
            if h2.settings.SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
                self._resume_streams()  # a larger initial window opens every stream at once (§6.9.2)
        elif kind is _PingReceived:
            # h2 has queued the PONG (§6.7); a flood of PINGs costs from the control budget.
            if not self._control_budget.spend():
                self._calm_down()
        elif kind is _PingAckReceived:
            self._on_ping_ack(event.ping_data)
        elif kind is _ConnectionTerminated:
            # The client is done with this connection: finish what we have, accept nothing new.
            self._goaway_sent = True
            if event.error_code or not self._streams:
                self._abandon()
            else:
                self.h2.keep_streams_after_goaway()
        elif kind is _TrailersReceived:
            # Request trailers are not passed to apps (no interface has a place for them), but a
            # malformed block is still refused (§8.1: no pseudo-headers in trailers).
            try:
                check_trailers(event.headers)
            except MalformedRequest:
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.reset(ErrorCodes.PROTOCOL_ERROR)
                else:
                    self._refuse_stream(event.stream_id, ErrorCodes.PROTOCOL_ERROR)
        elif kind is _UnknownFrameReceived and not self._control_budget.spend():
            # §5.5: unknown frames must be ignored, but not for free: they draw from the budget.
            self._calm_down()
        # PriorityUpdated, SettingsAcknowledged: nothing to do.
        return not self.closed

    def _new_stream(
        self,
        stream_id: int,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        authority: str | None,
        te_trailers: bool,
        ended: bool,
    ) -> H2Stream:
        stream = self._streams[stream_id] = H2Stream(
            self, self._facts, stream_id, method, raw_path, query, headers, authority, te_trailers, ended
        )
        return stream

    def _open_stream(self, stream_id: int, block: Any, ended: bool) -> H2Stream | None:
        if self._goaway_sent and stream_id > self._last_stream_id:
            # Opened after our GOAWAY: REFUSED_STREAM tells the client it was not processed and is
            # safe to retry on a new connection (§8.7).
            self._refuse_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            return None
        self._last_stream_id = stream_id  # what a GOAWAY names as the last stream we process
        if block is self._last_block:
            # The decoder answered a repeated block from its cache with the very same list, so
            # the request is the last one again (see CachingDecoder).
            method, raw_path, query, headers, authority, te_trailers = self._last_request
        else:
            try:
                head = parse_request(block)
            except MalformedRequest as exc:
                # A malformed request is a stream error (§8.1.1): the connection carries on.
                _log.debug('HTTP/2 stream %d malformed: %s', stream_id, exc)
                self._refuse_stream(stream_id, ErrorCodes.PROTOCOL_ERROR)
                return None
            method = head.method.decode('ascii')
            if method == 'CONNECT':
                if head.protocol is None:
                    # A tunnel to :authority (§8.5): not a server's job.
                    self._refuse_stream(stream_id, 0, [(b':status', b'405'), (b'server', b'granian')])
                    return None
                if not self.ctx.websockets:
                    # ENABLE_CONNECT_PROTOCOL was not advertised: an extended CONNECT is malformed.
                    self._refuse_stream(stream_id, ErrorCodes.PROTOCOL_ERROR)
                    return None
                return self._open_websocket(stream_id, head, ended)
            raw_path, _, query = head.path.partition(b'?')
            # latin-1 decodes any byte: an odd authority is passed on, not turned into an error.
            authority = head.authority.decode('latin-1') if head.authority is not None else None
            headers = head.headers
            te_trailers = head.te_trailers
            self._last_block = block
            self._last_request = (method, raw_path, query, headers, authority, te_trailers)
        # Apps may change the list they are given: each gets its own copy, the remembered one
        # stays as parsed. (The stream is built here, not through _new_stream: once per request.)
        stream = self._streams[stream_id] = H2Stream(
            self,
            self._facts,
            stream_id,
            method,
            raw_path,
            query,
            headers.copy(),
            authority,
            te_trailers,
            ended,
        )
        return stream

    def _refuse_stream(self, stream_id: int, code: int, answer: list[tuple[bytes, bytes]] | None = None) -> None:
        """End a stream we will not serve: reset it with ``code``, or send ``answer`` as its whole
        response (headers only).

        The client may have reset the stream (or sent GOAWAY) in the same read: h2 has then closed
        it before we walk the events, and there is nothing left to tell it (found by fuzzing).
        """
        try:
            if answer is None:
                self.h2.reset_stream(stream_id, code)
            else:
                self.h2.send_headers(stream_id, answer, end_stream=True)
        except h2.exceptions.ProtocolError:
            pass

    def _open_websocket(self, stream_id: int, head: RequestHead, ended: bool) -> H2Stream | None:
        """An extended CONNECT (RFC 8441): a WebSocket handshake for the app, unless we refuse it."""
        raw_path, _, query = head.path.partition(b'?')
        authority = head.authority.decode('latin-1') if head.authority is not None else None
        # Presented as RFC 6455's GET, so an app sees the same request on either protocol.
        stream = self._new_stream(stream_id, 'GET', raw_path, query, head.headers, authority, False, ended)
        try:
            stream.websocket = websocket_offer(head.protocol or b'', head.headers)
        except HandshakeError as error:
            status, headers, body = refusal_response(error)
            stream.start(status, headers)
            stream.end(body)
            return None
        return stream

    def _dispatch(self, opened: list[H2Stream]) -> None:
        handler = self.ctx.handler
        for stream in opened:
            if stream.over:
                continue  # reset by the client in the same read: no app is started for it
            self.ctx.requests_handled += 1
            try:
                handler(stream)
            except Exception:
                _log.error('Request handler failed', exc_info=True)
                stream.fail()

    # -- StreamLink: what the streams use ------------------------------------------------------

    def want_flush(self) -> None:
        # Inside data_received the flush at its end covers it; otherwise once per loop turn.
        if not self._flush_scheduled and not self._in_receive:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def queued(self, size: int) -> None:
        self._unflushed += size
        if self._unflushed >= _FLUSH_AT:
            # A long body flushes in batches, so the transport's high-water mark (pause_writing)
            # can stop it early instead of after the whole body was framed.
            self._flush()

    def blocked(self, stream: H2Stream) -> None:
        self._waiting[stream.stream_id] = stream

    def unblocked(self, stream_id: int) -> None:
        self._waiting.pop(stream_id, None)
        self._stalled.pop(stream_id, None)

    def stall_begins(self, stream_id: int) -> None:
        if stream_id not in self._stalled:
            self._stalled[stream_id] = self._loop.time()
            # One timer for all stalled streams, re-armed for the earliest when it fires.
            if self._stall_timer is None:
                self._stall_timer = self._loop.call_later(self.ctx.h2.keep_alive_timeout, self._on_stall_timer)

    def stream_done(self, stream: H2Stream) -> None:
        """Our side of the stream is closed: drop it, and close a draining connection when empty."""
        stream_id = stream.stream_id
        streams = self._streams
        if streams.get(stream_id) is stream:
            del streams[stream_id]
        if self._waiting or self._stalled:
            self._forget(stream_id)
        if self._goaway_sent:
            # Draining after GOAWAY: the last stream answered closes the connection.
            self._maybe_close()

    # -- flow control --------------------------------------------------------------------------

    def _resume_streams(self) -> None:
        # In the order they blocked: no priority tree (§5.3.2 deprecates it), no stream starved.
        for stream in list(self._waiting.values()):
            if self.write_paused or self.closed:
                break  # the transport filled up again: the rest wait for resume_writing
            stream.pump()

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._unflushed = 0
        if self.closed:
            return
        data = self.h2.data_to_send()
        if data:
            self._transport.write(data)  # type: ignore[union-attr]

    def _on_stall_timer(self) -> None:
        self._stall_timer = None
        if self.closed:
            return
        limit = self.ctx.h2.keep_alive_timeout
        now = self._loop.time()
        earliest = None
        for stream_id, since in list(self._stalled.items()):
            if now - since >= limit:
                stream = self._streams.get(stream_id)
                if stream is not None:
                    # A client that keeps its window shut would hold the response (and its
                    # buffers) forever: give up on the stream, not the connection.
                    _log.debug('HTTP/2 stream %d stalled by a shut window: reset', stream_id)
                    stream.reset(ErrorCodes.CANCEL)
                self._stalled.pop(stream_id, None)
            elif earliest is None or since < earliest:
                earliest = since
        if earliest is not None:
            self._stall_timer = self._loop.call_at(earliest + limit, self._on_stall_timer)
        self._flush()

    def _forget(self, stream_id: int) -> None:
        self._waiting.pop(stream_id, None)
        self._stalled.pop(stream_id, None)

    def _maybe_close(self) -> None:
        if self._goaway_sent and not self._streams and not self.closed:
            self._flush()  # the last responses and frames first; close() sends what is buffered
            self._transport.close()  # type: ignore[union-attr]

    # -- keep-alive pings and the adaptive window ----------------------------------------------

    def _on_keepalive(self) -> None:
        self._keepalive_timer = None
        if self.closed:
            return
        interval = self.ctx.h2.keep_alive_interval or 0
        if self._ping_due is not None:
            return  # the timeout timer below owns the connection now
        if self._received:
            # Traffic in the last interval proves the client is there: no ping needed.
            self._received = False
        else:
            # Silence for a whole interval: ask (§6.7), and close if no answer comes in time (a
            # dead peer behind a NAT would otherwise hold the connection and its streams).
            self._ping_due = _KEEPALIVE_PING
            self.h2.ping(_KEEPALIVE_PING)
            self._flush()
            self._keepalive_timer = self._loop.call_later(self.ctx.h2.keep_alive_timeout, self._on_ping_timeout)
            return
        self._keepalive_timer = self._loop.call_later(interval / 1000, self._on_keepalive)

    def _on_ping_timeout(self) -> None:
        self._keepalive_timer = None
        if not self.closed and self._ping_due is not None:
            _log.debug('HTTP/2 keep-alive ping to %s unanswered: closing', self._client)
            self._transport.close()  # type: ignore[union-attr]

    def _on_ping_ack(self, data: bytes) -> None:
        # Our PINGs carry their purpose in their 8 bytes: the keep-alive probe, or the adaptive
        # window's round-trip probe. An ACK of anything else is ignored.
        if data == _KEEPALIVE_PING and self._ping_due is not None:
            self._ping_due = None
            if self._keepalive_timer is not None:
                self._keepalive_timer.cancel()
            interval = self.ctx.h2.keep_alive_interval or 0
            self._keepalive_timer = self._loop.call_later(interval / 1000, self._on_keepalive)
        elif data == BDP_PING and self._adaptive is not None:
            old = self._adaptive.window
            window = self._adaptive.probe_answered()
            if window:
                # Both windows grow: the connection's by WINDOW_UPDATE, the streams' by SETTINGS
                # (§6.9.2 applies the difference to every open stream).
                self.h2.increment_flow_control_window(window - old)
                self.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})

    # -- ending the connection -----------------------------------------------------------------

    def _calm_down(self) -> None:
        """The client overspent a budget: GOAWAY ``ENHANCE_YOUR_CALM`` and close."""
        _log.warning('HTTP/2 client %s exceeded a frame budget: closing the connection', self._client)
        self._send_goaway(ErrorCodes.ENHANCE_YOUR_CALM)
        self._abandon()

    def _send_goaway(self, error_code: int) -> None:
        # Written directly rather than through h2.close_connection(), which would stop h2 from
        # processing the streams we still want to finish.
        self._goaway_sent = True
        self._flush()
        frame = GoAwayFrame(0, last_stream_id=self._last_stream_id, error_code=error_code)
        if not self.closed:
            self._transport.write(frame.serialize())  # type: ignore[union-attr]

    def _abandon(self) -> None:
        """Close after sending what is queued; the streams see a disconnect."""
        self._flush()  # a GOAWAY saying why goes out before the close (§5.4.1)
        self.closed = True
        self._transport.close()  # type: ignore[union-attr]

    # -- ManagedConnection ---------------------------------------------------------------------

    def pause_admission(self) -> None:
        # Over the connection limit: unread, as in the listen backlog (the preface waits too).
        self._admitted = False
        if not self._read_paused and not self.closed:
            self._read_paused = True
            self._transport.pause_reading()  # type: ignore[union-attr]

    def resume_admission(self) -> None:
        self._admitted = True
        if self._read_paused and not self.closed:
            self._read_paused = False
            if not self.write_paused:
                self._transport.resume_reading()  # type: ignore[union-attr]

    def shutdown(self) -> None:
        """Graceful shutdown: GOAWAY now, close once the accepted streams are answered."""
        if self.closed or self._goaway_sent:
            return
        # §6.8: GOAWAY with the last stream we accepted; those finish, later ones are refused.
        self._send_goaway(ErrorCodes.NO_ERROR)
        for stream in list(self._streams.values()):
            stream.shutdown()  # WebSockets would never finish on their own: they are closed
        self._maybe_close()

    # -- the h2c upgrade -----------------------------------------------------------------------

    def take_upgrade(self, settings: bytes, request: UpgradedRequest, pending: bytes) -> None:
        """Serve the upgraded HTTP/1.1 request as stream 1 (RFC 7540 §3.2), then carry on."""
        try:
            # The request's HTTP2-Settings are the client's first SETTINGS (§3.2.1).
            self.h2.initiate_upgrade_connection(settings)
        except (h2.exceptions.ProtocolError, ValueError):
            # The 101 is out; HTTP/1.1 cannot answer any more, and HTTP/2 cannot start.
            self._transport.close()  # type: ignore[union-attr]
            return
        self._after_settings()
        method, raw_path, query, headers, body = request
        host = None
        for name, value in headers:
            if name == b'host':
                host = value
                break
        fields = [(name, value) for name, value in headers if name not in _UPGRADE_FIELDS]
        authority = host.decode('latin-1') if host is not None else None
        # Stream 1, half-closed (remote) from the start: its request came whole over HTTP/1.1.
        stream = self._new_stream(1, method, raw_path, query, fields, authority, False, True)
        if body:
            stream.feed(body, 0)  # read whole on HTTP/1.1: no window to hand back
        self._last_stream_id = 1
        self._in_receive = True
        self._dispatch([stream])
        self._in_receive = False
        self._flush()
        if pending:
            self.data_received(pending)


def serve_h2c_upgrade(
    ctx: ServeContext,
    transport: asyncio.Transport,
    settings: bytes,
    request: UpgradedRequest,
    pending: bytes,
    previous: Forwarding,
) -> HTTP2Connection:
    """Take over a connection whose HTTP/1.1 request asked for ``Upgrade: h2c`` and was answered 101.

    ``settings`` is the request's ``HTTP2-Settings``, ``pending`` what the client sent after the
    request (its preface, perhaps more); ``previous`` is the HTTP/1.1 protocol that owned the
    transport (it forwards callbacks where the transport cannot switch).
    """
    conn = HTTP2Connection(ctx)
    hand_over(transport, previous, conn)
    conn.attach(transport)
    conn.take_upgrade(settings, request, pending)
    return conn
