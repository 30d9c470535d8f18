"""HTTP/2 (RFC 9113) as an :class:`asyncio.Protocol`: h2 parses and frames, and each stream becomes
an :class:`~._h2_exchange.H2Exchange`, so every interface serves HTTP/2 unchanged.

Theory of operation:

* ``data_received`` hands the bytes to h2 and walks the events it returns. New requests are handed
  to the server's handler only after the whole read is processed (a bodyless request reaches its
  app already complete), then everything h2 has to send leaves in **one** ``transport.write``.
  Writes made by apps outside ``data_received`` are coalesced the same way: the first schedules a
  flush for the end of the loop turn. A long body is flushed every :data:`_FLUSH_AT` bytes so the
  transport's high-water mark can push back.
* Flow control both ways. Inbound: DATA is acknowledged (WINDOW_UPDATE) only as the app reads it,
  so a slow app slows its own stream, and at most a connection window of unread body is buffered.
  Outbound: each stream queues what the flow control windows or a paused transport hold back; the
  app's ``write_paused`` turns on above ``max_send_buffer_size`` queued bytes.
* No priority tree (RFC 9113 deprecates it): streams with queued data resume in the order they
  blocked.
* Graceful shutdown sends GOAWAY with the last stream we accepted, finishes those streams, then
  closes. Streams the client opens after that are refused (``REFUSED_STREAM``, safe to retry).
* Limits that hold under attack live in :mod:`._h2_limits`.
* h2's per-frame machinery costs more than the rest of a small request, so the frames every
  request sends and receives (a request's HEADERS, the response's HEADERS and DATA) take the
  shortcuts of :mod:`._h2_fastpath`, which leave h2's state as h2 would; a request block the HPACK
  decoder answers from its cache reuses the last parse (:meth:`HTTP2Connection._open_stream`).
* WebSockets over HTTP/2 (RFC 8441): with websockets on, ``ENABLE_CONNECT_PROTOCOL`` is advertised
  and an extended CONNECT stream becomes a WebSocket handshake (:mod:`._h2_websocket`); with them
  off, a request with ``:protocol`` is malformed and its stream is reset.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hyperframe.exceptions import InvalidDataError
from hyperframe.frame import GoAwayFrame

from ._addresses import transport_addresses
from ._h2_exchange import H2Exchange
from ._h2_fastpath import LeanH2Connection, NewRequest
from ._h2_headers import MalformedRequest, RequestHead, check_trailers, parse_request
from ._h2_limits import (
    BDP_PING,
    CONTROL_BURST,
    CONTROL_RATE,
    AdaptiveWindow,
    Budget,
    reset_budget,
)
from ._h2_upgrade import SWITCHING_PROTOCOLS
from ._h2_websocket import H2WebSocketExchange, websocket_offer
from ._handover import Forwarding, hand_over
from .context import ServeContext
from .exchange import Exchange
from .tls import TLSInfo
from .websocket import HandshakeError

__all__ = ['PREFACE', 'HTTP2Connection']

#: What every HTTP/2 connection starts with on the client's side (RFC 9113 §3.4).
PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'

_FLUSH_AT = 64 * 1024
_KEEPALIVE_PING = b'granping'
_MIN_FRAME, _MAX_FRAME = 16384, 16777215
_MAX_WINDOW = 2**31 - 1
_DEFAULT_WINDOW = 65535

_log = logging.getLogger('_granian')

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
        '_client',
        '_closed',
        '_control_budget',
        '_ctx',
        '_flush_scheduled',
        '_goaway_sent',
        '_h2',
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
        '_send_limit',
        '_server',
        '_stall_timer',
        '_stalled',
        '_streams',
        '_tls',
        '_transport',
        '_unflushed',
        '_waiting',
        '_write_paused',
    )

    def __init__(self, ctx: ServeContext) -> None:
        settings = ctx.h2
        self._ctx = ctx
        self._loop = ctx.loop
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, H2Exchange] = {}
        #: Streams with queued body bytes, in the order they blocked.
        self._waiting: dict[int, H2Exchange] = {}
        #: Streams held up by a shut flow control window -> since when.
        self._stalled: dict[int, float] = {}
        self._closed = False
        self._write_paused = False
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
        self._client: tuple[str, int] | None = None
        self._server: tuple[str, int] | None = None
        self._tls: TLSInfo | None = None
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
        self._send_limit = max(1, settings.max_send_buffer_size)
        clock = self._loop.time
        self._control_budget = Budget(CONTROL_BURST, CONTROL_RATE, clock)
        self._reset_budget = reset_budget(settings.max_concurrent_streams, clock)
        self._adaptive = AdaptiveWindow() if settings.adaptive_window else None
        self._h2 = self._new_h2()

    def _new_h2(self) -> LeanH2Connection:
        settings = self._ctx.h2
        config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            # Checked by parse_request in the same pass that reads the request.
            validate_inbound_headers=False,
        )
        stream_window = (
            AdaptiveWindow.START
            if self._adaptive is not None
            else min(settings.initial_stream_window_size, _MAX_WINDOW)
        )
        frame_size = min(max(settings.max_frame_size, _MIN_FRAME), _MAX_FRAME)
        initial = {
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: settings.max_concurrent_streams,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: stream_window,
            h2.settings.SettingCodes.MAX_FRAME_SIZE: frame_size,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: settings.max_headers_size,
        }
        if self._ctx.websockets:
            initial[h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL] = 1  # RFC 8441
        conn = LeanH2Connection(config, initial, settings.max_headers_size)
        conn.max_inbound_frame_size = frame_size
        return conn

    def _after_settings(self) -> None:
        """Open the connection window beyond the RFC's 64 KiB right after our SETTINGS."""
        settings = self._ctx.h2
        target = AdaptiveWindow.START if self._adaptive is not None else settings.initial_connection_window_size
        target = min(target, _MAX_WINDOW)
        if target > _DEFAULT_WINDOW:
            self._h2.increment_flow_control_window(target - _DEFAULT_WINDOW)
        if settings.keep_alive_interval:
            self._keepalive_timer = self._loop.call_later(settings.keep_alive_interval / 1000, self._on_keepalive)

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._attach(transport)
        self._h2.initiate_connection()
        self._after_settings()
        if self._ctx.closing:
            self.shutdown()
        self._flush()

    def _attach(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are look-alikes, not subclasses
        self._client, self._server = transport_addresses(transport)
        if self._ctx.tls is not None:
            self._tls = self._ctx.tls_info(transport)
        self._ctx.connection_made(self)

    @classmethod
    def from_h2c_upgrade(
        cls,
        ctx: ServeContext,
        transport: asyncio.Transport,
        settings: bytes,
        request: Exchange,
        body: bytes,
        pending: bytes,
        previous: Forwarding,
    ) -> HTTP2Connection:
        """Take over a connection whose HTTP/1.1 request asked for ``Upgrade: h2c`` (RFC 7540 §3.2):
        answer 101, then serve that request as stream 1 and carry on with HTTP/2."""
        conn = cls(ctx)
        transport.write(SWITCHING_PROTOCOLS)
        hand_over(transport, previous, conn)
        conn._attach(transport)
        try:
            conn._h2.initiate_upgrade_connection(settings)
        except (h2.exceptions.ProtocolError, ValueError):
            transport.close()
            return conn
        conn._after_settings()
        host = None
        for name, value in request.headers:
            if name == b'host':
                host = value
                break
        headers = [
            (name, value)
            for name, value in request.headers
            if name not in (b'connection', b'upgrade', b'http2-settings', b'keep-alive', b'host', b'te')
        ]
        exchange = H2Exchange(
            conn,
            1,
            request.method,
            request.raw_path,
            request.query_string,
            headers,
            host.decode('latin-1') if host is not None else None,
            te_trailers=False,
        )
        if body:
            exchange._body.append(body)
        exchange._body_done = True
        conn._streams[1] = exchange
        conn._last_stream_id = 1
        conn._in_receive = True
        conn._dispatch([exchange])
        conn._in_receive = False
        conn._flush()
        if pending:
            conn.data_received(pending)
        return conn

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        for timer in (self._keepalive_timer, self._stall_timer):
            if timer is not None:
                timer.cancel()
        self._keepalive_timer = self._stall_timer = None
        streams, self._streams = self._streams, {}
        self._waiting.clear()
        self._stalled.clear()
        for exchange in streams.values():
            exchange._gone()
        self._ctx.connections_err += exc is not None
        self._ctx.connection_lost(self)

    def pause_writing(self) -> None:
        self._write_paused = True
        # What we owe in reply to the client's frames must not pile up while it does not read.
        if not self._read_paused and not self._closed:
            self._transport.pause_reading()  # type: ignore[union-attr]

    def resume_writing(self) -> None:
        self._write_paused = False
        if not self._read_paused and self._admitted and not self._closed:
            self._transport.resume_reading()  # type: ignore[union-attr]
        self._resume_streams()
        self._flush()

    def eof_received(self) -> bool | None:
        return None

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._received = True
        if self._flush_scheduled:
            self._flush()  # app output first, so what this read produces starts clean
        self._in_receive = True
        try:
            try:
                events = self._h2.receive_data(data)
            except h2.exceptions.ProtocolError as exc:
                # h2 has queued a GOAWAY; send it (with the RFC's code where h2's differs) and go.
                _log.debug('HTTP/2 protocol error from %s: %s', self._client, exc)
                self._fix_goaway_code(exc)
                self._abandon()
                return
            opened: list[H2Exchange] = []
            for event in events:
                self._on_event(event, opened)
                if self._gave_up():
                    return  # a budget ran out: nothing more from this client is served
            if opened:
                self._dispatch(opened)
        finally:
            self._in_receive = False
        self._flush()

    def _gave_up(self) -> bool:
        """True once an event made us close the connection (a call, so the check is re-read)."""
        return self._closed

    # -- events --------------------------------------------------------------------------------

    def _on_event(self, event: Any, opened: list[H2Exchange]) -> None:
        kind = type(event)
        if kind is NewRequest:
            exchange = self._open_stream(event.stream_id, event.headers)
            if exchange is not None:
                if event.stream_ended:
                    exchange._body_done = exchange._request_over = True
                opened.append(exchange)
        elif kind is _RequestReceived:
            exchange = self._open_stream(event.stream_id, event.headers)
            if exchange is not None:
                opened.append(exchange)
        elif kind is _DataReceived:
            exchange = self._streams.get(event.stream_id)
            size = event.flow_controlled_length
            if not event.data and not event.stream_ended and not self._control_budget.spend():
                self._calm_down()
                return
            if exchange is not None and not exchange._request_over:
                exchange._feed(event.data, size)
            elif size:
                # Nobody will read it: hand the window straight back.
                self._h2.acknowledge_received_data(size, event.stream_id)
            adaptive = self._adaptive
            if adaptive is not None and size and adaptive.received(size):
                self._h2.ping(BDP_PING)
        elif kind is _StreamEnded:
            exchange = self._streams.get(event.stream_id)
            if exchange is not None:
                exchange._feed_eof()
        elif kind is _WindowUpdated:
            if event.stream_id:
                exchange = self._waiting.get(event.stream_id)
                if exchange is not None:
                    exchange._pump()
            else:
                self._resume_streams()
        elif kind is _StreamReset:
            exchange = self._streams.pop(event.stream_id, None)
            if exchange is not None:
                self._forget(event.stream_id)
                if not exchange._response_over and not self._reset_budget.spend():
                    exchange._gone()
                    self._calm_down()
                    return
                exchange._gone()
                self._maybe_close()
        elif kind is _RemoteSettingsChanged:
            if not self._control_budget.spend():
                self._calm_down()
                return
            if h2.settings.SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
                self._resume_streams()
        elif kind is _PingReceived:
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
                # h2 stops all sending once the client's GOAWAY is in, but RFC 9113 §6.8 lets the
                # streams it opened before finish: reopen h2's connection state for them.
                self._h2.state_machine.state = h2.connection.ConnectionState.SERVER_OPEN
        elif kind is _TrailersReceived:
            try:
                check_trailers(event.headers)
            except MalformedRequest:
                exchange = self._streams.get(event.stream_id)
                if exchange is not None:
                    exchange._reset(ErrorCodes.PROTOCOL_ERROR)
                else:
                    self._h2.reset_stream(event.stream_id, ErrorCodes.PROTOCOL_ERROR)
        elif kind is _UnknownFrameReceived and not self._control_budget.spend():
            self._calm_down()
        # PriorityUpdated, SettingsAcknowledged: nothing to do.

    def _open_stream(self, stream_id: int, block: Any) -> H2Exchange | None:
        h2conn = self._h2
        if self._goaway_sent and stream_id > self._last_stream_id:
            h2conn.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            return None
        self._last_stream_id = stream_id
        if block is self._last_block:
            # The decoder answered a repeated block from its cache with the very same list, so
            # the request is the last one again (see LeanH2Connection).
            method, raw_path, query, headers, authority, te_trailers = self._last_request
            exchange = H2Exchange(
                self, stream_id, method, raw_path, query, headers.copy(), authority, te_trailers=te_trailers
            )
            self._streams[stream_id] = exchange
            return exchange
        try:
            head = parse_request(block)
        except MalformedRequest as exc:
            _log.debug('HTTP/2 stream %d malformed: %s', stream_id, exc)
            h2conn.reset_stream(stream_id, ErrorCodes.PROTOCOL_ERROR)
            return None
        method = head.method.decode('ascii')
        if method == 'CONNECT':
            if head.protocol is None:
                # A tunnel to :authority: not a server's job.
                h2conn.send_headers(stream_id, [(b':status', b'405'), (b'server', b'granian')], end_stream=True)
                return None
            if not self._ctx.websockets:
                # ENABLE_CONNECT_PROTOCOL was not advertised: an extended CONNECT is malformed.
                h2conn.reset_stream(stream_id, ErrorCodes.PROTOCOL_ERROR)
                return None
            return self._open_websocket(stream_id, head)
        raw_path, _, query = head.path.partition(b'?')
        authority = head.authority.decode('latin-1') if head.authority is not None else None
        self._last_block = block
        self._last_request = (method, raw_path, query, head.headers, authority, head.te_trailers)
        # Apps may change the list they are given: the remembered one stays as parsed.
        exchange = H2Exchange(
            self, stream_id, method, raw_path, query, head.headers.copy(), authority, te_trailers=head.te_trailers
        )
        self._streams[stream_id] = exchange
        return exchange

    def _open_websocket(self, stream_id: int, head: RequestHead) -> H2Exchange | None:
        """An extended CONNECT (RFC 8441): a WebSocket handshake for the app, unless we refuse it."""
        raw_path, _, query = head.path.partition(b'?')
        authority = head.authority.decode('latin-1') if head.authority is not None else None
        exchange = H2WebSocketExchange(self, stream_id, raw_path, query, head.headers, authority)
        self._streams[stream_id] = exchange
        try:
            exchange.websocket = websocket_offer(head.protocol or b'', head.headers)
        except HandshakeError as error:
            exchange.refuse(error)
            return None
        return exchange

    def _dispatch(self, opened: list[H2Exchange]) -> None:
        handler = self._ctx.handler
        for exchange in opened:
            if exchange._response_over:
                continue  # reset by the client in the same read
            self._ctx.requests_handled += 1
            try:
                handler(exchange)
            except Exception:
                _log.error('Request handler failed', exc_info=True)
                exchange._fail()

    def _date(self) -> bytes:
        """The current ``date`` header value."""
        return self._ctx.date_header[6:-2]

    # -- flow control --------------------------------------------------------------------------

    def _resume_streams(self) -> None:
        for exchange in list(self._waiting.values()):
            if self._write_paused or self._closed:
                break
            exchange._pump()

    def _queued(self, size: int) -> None:
        """``size`` more body bytes went into h2's buffer: flush when a batch is full."""
        self._unflushed += size
        if self._unflushed >= _FLUSH_AT:
            self._flush()

    def _want_flush(self) -> None:
        if not self._flush_scheduled and not self._in_receive:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._unflushed = 0
        if self._closed:
            return
        data = self._h2.data_to_send()
        if data:
            self._transport.write(data)  # type: ignore[union-attr]

    def _stall_begins(self, stream_id: int) -> None:
        if stream_id not in self._stalled:
            self._stalled[stream_id] = self._loop.time()
            if self._stall_timer is None:
                self._stall_timer = self._loop.call_later(self._ctx.h2.keep_alive_timeout, self._on_stall_timer)

    def _on_stall_timer(self) -> None:
        self._stall_timer = None
        if self._closed:
            return
        limit = self._ctx.h2.keep_alive_timeout
        now = self._loop.time()
        earliest = None
        for stream_id, since in list(self._stalled.items()):
            if now - since >= limit:
                exchange = self._streams.get(stream_id)
                if exchange is not None:
                    _log.debug('HTTP/2 stream %d stalled by a shut window: reset', stream_id)
                    exchange._reset(ErrorCodes.CANCEL)
                self._stalled.pop(stream_id, None)
            elif earliest is None or since < earliest:
                earliest = since
        if earliest is not None:
            self._stall_timer = self._loop.call_at(earliest + limit, self._on_stall_timer)
        self._flush()

    # -- called by the exchanges ---------------------------------------------------------------

    def _forget(self, stream_id: int) -> None:
        self._waiting.pop(stream_id, None)
        self._stalled.pop(stream_id, None)

    def _stream_done(self, exchange: H2Exchange) -> None:
        """Our side of the stream is closed: drop it, and close a draining connection when empty."""
        stream_id = exchange._stream_id
        streams = self._streams
        if streams.get(stream_id) is exchange:
            del streams[stream_id]
        if self._waiting or self._stalled:
            self._forget(stream_id)
        if self._goaway_sent:
            self._maybe_close()

    def _maybe_close(self) -> None:
        if self._goaway_sent and not self._streams and not self._closed:
            self._flush()
            self._transport.close()  # type: ignore[union-attr]

    # -- keep-alive pings and the adaptive window ----------------------------------------------

    def _on_keepalive(self) -> None:
        self._keepalive_timer = None
        if self._closed:
            return
        interval = self._ctx.h2.keep_alive_interval or 0
        if self._ping_due is not None:
            return  # the timeout timer below owns the connection now
        if self._received:
            self._received = False
        else:
            self._ping_due = _KEEPALIVE_PING
            self._h2.ping(_KEEPALIVE_PING)
            self._flush()
            self._keepalive_timer = self._loop.call_later(self._ctx.h2.keep_alive_timeout, self._on_ping_timeout)
            return
        self._keepalive_timer = self._loop.call_later(interval / 1000, self._on_keepalive)

    def _on_ping_timeout(self) -> None:
        self._keepalive_timer = None
        if not self._closed and self._ping_due is not None:
            _log.debug('HTTP/2 keep-alive ping to %s unanswered: closing', self._client)
            self._transport.close()  # type: ignore[union-attr]

    def _on_ping_ack(self, data: bytes) -> None:
        if data == _KEEPALIVE_PING and self._ping_due is not None:
            self._ping_due = None
            if self._keepalive_timer is not None:
                self._keepalive_timer.cancel()
            interval = self._ctx.h2.keep_alive_interval or 0
            self._keepalive_timer = self._loop.call_later(interval / 1000, self._on_keepalive)
        elif data == BDP_PING and self._adaptive is not None:
            old = self._adaptive.window
            window = self._adaptive.probe_answered()
            if window:
                self._h2.increment_flow_control_window(window - old)
                self._h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})

    # -- ending the connection -----------------------------------------------------------------

    def _calm_down(self) -> None:
        """The client overspent a budget: GOAWAY ``ENHANCE_YOUR_CALM`` and close."""
        _log.warning('HTTP/2 client %s exceeded a frame budget: closing the connection', self._client)
        self._send_goaway(ErrorCodes.ENHANCE_YOUR_CALM)
        self._abandon()

    def _fix_goaway_code(self, exc: h2.exceptions.ProtocolError) -> None:
        """h2 reports some errors as PROTOCOL_ERROR where RFC 9113 names a more precise code:
        an undecodable field block is COMPRESSION_ERROR (§4.3), a SETTINGS ack with a payload is
        FRAME_SIZE_ERROR (§6.5)."""
        cause = exc.__cause__
        if isinstance(cause, HPACKError) and not isinstance(cause, OversizedHeaderListError):
            code = ErrorCodes.COMPRESSION_ERROR
        elif isinstance(cause, InvalidDataError) and 'ack frame must not have payload' in str(cause):
            code = ErrorCodes.FRAME_SIZE_ERROR
        else:
            return
        data = self._h2.data_to_send()
        # h2 queues the GOAWAY last: 9 bytes of frame header, then 8 of payload.
        if len(data) >= 17 and data[-14] == GoAwayFrame.type:
            data = data[:-17]
        frame = GoAwayFrame(0, last_stream_id=self._h2.highest_inbound_stream_id, error_code=code)
        self._transport.write(data + frame.serialize())  # type: ignore[union-attr]

    def _send_goaway(self, error_code: int) -> None:
        # Written directly rather than through h2.close_connection(), which would stop h2 from
        # processing the streams we still want to finish.
        self._goaway_sent = True
        self._flush()
        frame = GoAwayFrame(0, last_stream_id=self._last_stream_id, error_code=error_code)
        if not self._closed:
            self._transport.write(frame.serialize())  # type: ignore[union-attr]

    def _abandon(self) -> None:
        """Close after sending what is queued; the streams see a disconnect."""
        self._flush()
        self._closed = True
        self._transport.close()  # type: ignore[union-attr]

    # -- ManagedConnection ---------------------------------------------------------------------

    def pause_admission(self) -> None:
        self._admitted = False
        if not self._read_paused and not self._closed:
            self._read_paused = True
            self._transport.pause_reading()  # type: ignore[union-attr]

    def resume_admission(self) -> None:
        self._admitted = True
        if self._read_paused and not self._closed:
            self._read_paused = False
            if not self._write_paused:
                self._transport.resume_reading()  # type: ignore[union-attr]

    def shutdown(self) -> None:
        """Graceful shutdown: GOAWAY now, close once the accepted streams are answered."""
        if self._closed or self._goaway_sent:
            return
        self._send_goaway(ErrorCodes.NO_ERROR)
        for exchange in list(self._streams.values()):
            exchange._shutdown()
        self._maybe_close()
