"""WebSockets over HTTP/2 (RFC 8441): one extended CONNECT stream carries one WebSocket.

The connection advertises ``SETTINGS_ENABLE_CONNECT_PROTOCOL`` when websockets are on, and a request
with ``:method CONNECT`` and ``:protocol websocket`` becomes an :class:`H2WebSocketExchange`. Its
``websocket`` offer reaches the interface like an HTTP/1.1 handshake does, so the adapters serve
both without knowing which one they got:

* The request is presented as RFC 6455's ``GET`` (the method an app sees on HTTP/1.1), with
  ``:path`` as the target. RFC 8441 has no key and requires ``sec-websocket-version: 13``; any
  other version is refused with 400 and ``sec-websocket-version: 13``. (RFC 6455 §4.4 suggests 426,
  but a 426 must carry ``Upgrade``, which HTTP/2 forbids.) Another ``:protocol`` gets 501.
* Accepting answers ``:status 200`` without END_STREAM; from then on the stream's DATA frames
  carry the WebSocket frames both ways. Rejecting is an ordinary response, as on HTTP/1.1.
* :class:`StreamCarrier` is the session's carrier. Writes queue on the stream like a response body,
  so the connection and stream send windows, ``write_paused`` and ``drain`` apply unchanged.
  Inbound DATA goes to the session as it arrives and is acknowledged once the session has taken
  it. When the session pauses reading (a slow app), DATA is held unacknowledged instead, so the
  stream's flow control window stops the client, as a paused socket stops it on HTTP/1.1.
* Endings map as RFC 8441 §5 says: END_STREAM is TCP's FIN, RST_STREAM is its RST. Closing the
  session ends our side with END_STREAM after what is queued; if the client never answered our
  close (it vanished, or broke the protocol), the stream is then reset with ``CANCEL`` so it does
  not linger. The client's END_STREAM without a close frame, a reset, or a lost connection end the
  session abnormally (1006).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import h2.exceptions
from h2.errors import ErrorCodes
from wsproto.connection import ConnectionState

from ._h2_exchange import H2Exchange
from .exchange import Headers, ResponseStateError
from .websocket import MAX_MESSAGE_SIZE, HandshakeError, WebSocket, WebSocketOffer, negotiate_extensions

if TYPE_CHECKING:
    from .http2 import HTTP2Connection

__all__ = ['H2WebSocketExchange', 'StreamCarrier', 'websocket_offer']

_PLAIN_TEXT = (b'content-type', b'text/plain; charset=utf-8')


def websocket_offer(protocol: bytes, headers: Iterable[tuple[bytes, bytes]]) -> WebSocketOffer:
    """The offer of an extended CONNECT request; raises :class:`HandshakeError` when we refuse it."""
    if protocol != b'websocket':
        raise HandshakeError(501, 'Extended CONNECT: only the websocket protocol is served')
    version: bytes | None = None
    subprotocols: list[str] = []
    extensions: list[str] = []
    for name, value in headers:
        if name == b'sec-websocket-version':
            version = value.strip()
        elif name == b'sec-websocket-protocol':
            subprotocols.extend(item.strip() for item in value.decode('latin-1').split(',') if item.strip())
        elif name == b'sec-websocket-extensions':
            extensions.append(value.decode('latin-1'))
    if version != b'13':
        raise HandshakeError(
            400,
            'WebSocket handshake: unsupported Sec-WebSocket-Version (13 is supported)',
            ((b'sec-websocket-version', b'13'),),
        )
    return WebSocketOffer(subprotocols, extensions, None)


class StreamCarrier:
    """Carries one WebSocket session on an HTTP/2 stream (the session's ``WebSocketCarrier``)."""

    __slots__ = ('_eof', '_exchange', '_held', '_paused', 'session')

    def __init__(self, exchange: H2WebSocketExchange) -> None:
        self._exchange = exchange
        self._paused = False
        #: DATA that arrived while reading was paused: (bytes, flow controlled length).
        self._held: list[tuple[bytes, int]] = []
        #: The client ended its side (END_STREAM) while DATA was still held.
        self._eof = False
        self.session: WebSocket | None = None

    # -- fed by the exchange -------------------------------------------------------------------

    def feed(self, data: bytes, flow_size: int) -> None:
        if self._paused:
            self._held.append((data, flow_size))
            return
        session = self.session
        assert session is not None
        if data:
            session.feed(data)
        self._exchange._acknowledge(flow_size)

    def feed_eof(self) -> None:
        if self._paused:
            self._eof = True
            return
        session = self.session
        assert session is not None
        # The client's FIN: a session still open ends abnormally; our side ends too.
        session.connection_lost()
        self._end_stream()

    def lost(self) -> None:
        """The stream was reset by the client, or the connection is gone."""
        held, self._held = self._held, []
        # What was held still counts against the connection window: hand it back.
        self._exchange._acknowledge(sum(flow_size for _, flow_size in held))
        if self.session is not None:
            self.session.connection_lost()

    @property
    def close_handshake_done(self) -> bool:
        """The client answered or started the close handshake: it expects the stream to end."""
        session = self.session
        return session is not None and session._codec.state in (ConnectionState.CLOSED, ConnectionState.REMOTE_CLOSING)

    # -- WebSocketCarrier ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        exchange = self._exchange
        if not exchange._finished and not exchange._response_over:
            exchange.write(data)

    def close(self) -> None:
        self._end_stream()

    # Ending the stream already resets it (CANCEL) when the client has not answered our close.
    abort = close

    def _end_stream(self) -> None:
        exchange = self._exchange
        if not exchange._finished:
            exchange.end()

    def pause_reading(self) -> None:
        self._paused = True

    def resume_reading(self) -> None:
        if not self._paused:
            return
        self._paused = False
        held, self._held = self._held, []
        for index, (data, flow_size) in enumerate(held):
            self.feed(data, flow_size)
            if self._paused:
                # The session paused again: what it has not seen waits for the next resume.
                self._held[:0] = held[index + 1 :]
                return
        if self._eof:
            self._eof = False
            self.feed_eof()

    @property
    def write_paused(self) -> bool:
        return self._exchange.write_paused

    async def drain(self) -> None:
        await self._exchange.drain()


class H2WebSocketExchange(H2Exchange):
    """An extended CONNECT stream: a WebSocket handshake until accepted, then its carrier."""

    __slots__ = ('_carrier',)

    def __init__(
        self,
        conn: HTTP2Connection,
        stream_id: int,
        raw_path: bytes,
        query_string: bytes,
        headers: list[tuple[bytes, bytes]],
        authority: str | None,
    ) -> None:
        super().__init__(conn, stream_id, 'GET', raw_path, query_string, headers, authority, te_trailers=False)
        self._carrier: StreamCarrier | None = None

    def refuse(self, error: HandshakeError) -> None:
        """Answer a handshake we will not offer to the app."""
        self.start(error.status, [*error.headers, _PLAIN_TEXT])
        self.end(error.reason.encode())

    # -- fed by the connection -----------------------------------------------------------------

    def _feed(self, data: bytes, flow_size: int) -> None:
        carrier = self._carrier
        if carrier is None:
            super()._feed(data, flow_size)  # before the app decides: held like a request body
        else:
            carrier.feed(data, flow_size)

    def _feed_eof(self) -> None:
        super()._feed_eof()
        if self._carrier is not None:
            self._carrier.feed_eof()

    def _gone(self) -> None:
        super()._gone()
        if self._carrier is not None:
            self._carrier.lost()

    def _acknowledge(self, size: int) -> None:
        """Hand back the window of DATA the session has taken."""
        if size and not self._conn._closed:
            self._conn._h2.acknowledge_received_data(size, self._stream_id)
            self._conn._want_flush()

    def _stop_request(self) -> None:
        carrier = self._carrier
        if carrier is None:
            super()._stop_request()  # a refused handshake: as for any early response
        elif not carrier.close_handshake_done:
            # The client never answered our close: it will not end its side either.
            try:
                self._conn._h2.reset_stream(self._stream_id, ErrorCodes.CANCEL)
            except h2.exceptions.ProtocolError:
                pass
        # After a complete close handshake the client ends its side itself (its FIN).

    def _shutdown(self) -> None:
        if self._carrier is not None and self._carrier.session is not None:
            self._carrier.session.close(1001, 'Server shutting down')

    # -- the interface's side ------------------------------------------------------------------

    async def wait_complete(self) -> None:
        if self._carrier is None:  # once accepted, the handshake's answer is complete
            await super().wait_complete()

    def accept_websocket(self, subprotocol: str | None = None, headers: Headers = ()) -> WebSocket:
        offer = self.websocket
        if offer is None:
            raise ResponseStateError('Not a WebSocket handshake')
        if self._head_sent or self._finished or self._carrier is not None:
            raise ResponseStateError('Response already started')
        extensions, extensions_header = negotiate_extensions(offer.extensions, MAX_MESSAGE_SIZE)
        fields: list[tuple[bytes, bytes]] = []
        if subprotocol:
            fields.append((b'sec-websocket-protocol', subprotocol.encode('latin-1')))
        if extensions_header:
            fields.append((b'sec-websocket-extensions', extensions_header))
        fields.extend(headers)
        self.start(200, fields)
        self.flush_head()
        carrier = StreamCarrier(self)
        session = carrier.session = WebSocket(carrier, self._conn._loop, extensions)
        self._carrier = carrier
        waiter = self._complete_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._disconnected:
            session.connection_lost()
            return session
        # DATA the client sent ahead of our answer, then its END_STREAM if that came too.
        early, self._body = self._body, []
        size, self._unacked = self._unacked, 0
        if early or size:
            carrier.feed(b''.join(early), size)
        if self._body_done:
            carrier.feed_eof()
        return session

    def __repr__(self) -> str:
        return f'<H2WebSocketExchange stream={self._stream_id} {self.raw_path!r}>'
