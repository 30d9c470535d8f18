"""WebSockets over HTTP/2 (RFC 8441): one extended CONNECT stream carries one WebSocket.

The connection advertises ``SETTINGS_ENABLE_CONNECT_PROTOCOL`` when websockets are on, and a request
with ``:method CONNECT`` and ``:protocol websocket`` becomes a stream whose ``websocket`` offer
reaches the interface as an HTTP/1.1 handshake does, so the adapters serve both without knowing
which one they got:

* The request is presented as RFC 6455's ``GET`` (the method an app sees on HTTP/1.1), with
  ``:path`` as the target. RFC 8441 has no key and requires ``sec-websocket-version: 13``; any
  other version is refused with 400 and ``sec-websocket-version: 13``. (RFC 6455 §4.4 suggests 426,
  but a 426 must carry ``Upgrade``, which HTTP/2 forbids.) Another ``:protocol`` gets 501.
* Accepting answers ``:status 200`` without END_STREAM; from then on the stream's DATA frames
  carry the WebSocket frames both ways. Rejecting is an ordinary response, as on HTTP/1.1.
* :class:`StreamCarrier` is the session's carrier, composed with the stream: the stream hands it
  every DATA frame once the WebSocket is accepted (instead of buffering a request body), and the
  carrier writes through the stream's queue, so the connection and stream send windows,
  ``write_paused`` and ``drain`` apply unchanged. Inbound DATA is acknowledged once the session
  has taken it; while the session pauses reading (a slow app), DATA is held unacknowledged, so the
  stream's flow control window stops the client as a paused socket stops it on HTTP/1.1.
* Endings map as RFC 8441 §5 says: END_STREAM is TCP's FIN, RST_STREAM is its RST. Closing the
  session ends our side with END_STREAM after what is queued; if the client never answered our
  close (it vanished, or broke the protocol), the stream is then reset with ``CANCEL`` so it does
  not linger. The client's END_STREAM without a close frame, a reset, or a lost connection end the
  session abnormally (1006).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..exchange import Headers
from ..ws import HandshakeError, WebSocket, WebSocketOffer, offer_lists

__all__ = ['CarriedStream', 'StreamCarrier', 'accept_fields', 'refusal_response', 'websocket_offer']

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
        else:
            offer_lists(name, value, subprotocols, extensions)
    if version != b'13':
        # RFC 8441 §5 keeps RFC 6455's version check; 400, since HTTP/2 has no Upgrade for a 426.
        raise HandshakeError(
            400,
            'WebSocket handshake: unsupported Sec-WebSocket-Version (13 is supported)',
            ((b'sec-websocket-version', b'13'),),
        )
    return WebSocketOffer(subprotocols, extensions, None)


def refusal_response(error: HandshakeError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, headers and body that answer a handshake we will not offer to the app."""
    return error.status, [*error.headers, _PLAIN_TEXT], error.reason.encode()


def accept_fields(subprotocol: str | None, extensions: bytes | None, headers: Headers) -> list[tuple[bytes, bytes]]:
    """The header fields of the 200 that accepts an extended CONNECT."""
    fields: list[tuple[bytes, bytes]] = []
    if subprotocol:
        fields.append((b'sec-websocket-protocol', subprotocol.encode('latin-1')))
    if extensions:
        fields.append((b'sec-websocket-extensions', extensions))
    fields.extend(headers)
    return fields


class CarriedStream(Protocol):
    """What the carrier needs of the stream that carries it."""

    def carry(self, data: bytes) -> None: ...

    def end_carrying(self) -> None: ...

    def acknowledge(self, size: int) -> None: ...

    @property
    def write_paused(self) -> bool: ...

    async def drain(self) -> None: ...


class StreamCarrier:
    """Carries one WebSocket session on an HTTP/2 stream (the session's ``WebSocketCarrier``)."""

    __slots__ = ('_eof', '_held', '_paused', '_stream', 'session')

    def __init__(self, stream: CarriedStream) -> None:
        self._stream = stream
        self._paused = False
        #: DATA that arrived while reading was paused: (bytes, flow controlled length).
        self._held: list[tuple[bytes, int]] = []
        #: The client ended its side (END_STREAM) while DATA was still held.
        self._eof = False
        self.session: WebSocket | None = None

    # -- fed by the stream ---------------------------------------------------------------------

    def feed(self, data: bytes, flow_size: int) -> None:
        if self._paused:
            # Held unacknowledged: the window the client has left shrinks, and it stops, which is
            # this carrier's backpressure (an app slow to read).
            self._held.append((data, flow_size))
            return
        session = self.session
        assert session is not None
        if data:
            session.feed(data)
        # Acknowledged once the session has it (padding included, as it counted against the
        # window), so a fast session keeps the window open.
        self._stream.acknowledge(flow_size)

    def feed_eof(self) -> None:
        if self._paused:
            self._eof = True
            return
        session = self.session
        assert session is not None
        # The client's FIN: a session still open ends abnormally; our side ends too.
        session.connection_lost()
        self._stream.end_carrying()

    def lost(self) -> None:
        """The stream was reset by the client, or the connection is gone."""
        held, self._held = self._held, []
        # What was held still counts against the connection window: hand it back.
        self._stream.acknowledge(sum(flow_size for _, flow_size in held))
        if self.session is not None:
            self.session.connection_lost()

    @property
    def peer_closed(self) -> bool:
        """The client answered or started the close handshake: it expects the stream to end."""
        return self.session is not None and self.session.peer_closed

    # -- WebSocketCarrier ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        # Through the stream's queue: flow control windows and write_paused apply as to a body.
        self._stream.carry(data)

    def close(self) -> None:
        self._stream.end_carrying()

    # Ending the stream already resets it (CANCEL) when the client has not answered our close.
    abort = close

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
        return self._stream.write_paused

    async def drain(self) -> None:
        await self._stream.drain()
