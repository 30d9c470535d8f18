"""WebSockets (RFC 6455) on wsproto: the opening-handshake checks and the session an app talks to.

The session is independent of what carries it. On HTTP/1.1 the carrier is the TCP connection
after the 101 response; on HTTP/2 (RFC 8441) it is one stream's DATA frames. A carrier feeds the
session the bytes it receives and gives it a way to write, close, and pause reading.

Duties the session takes off the app's hands:

* pings are answered and pongs swallowed;
* fragmented messages are reassembled, up to ``max_message_size`` (16 MiB by default): a larger
  message, compressed or not, closes the connection with 1009;
* permessage-deflate is negotiated when the client offers it, with decompression bounded by the
  same limit (a small compressed frame cannot expand without bound);
* the close handshake: a client's close is answered and the carrier closed; our close waits for
  the client's answer at most ``close_timeout`` seconds;
* a slow reader: above :data:`INBOX_LIMIT` bytes of unread messages the carrier stops reading.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import zlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol
from wsproto.handshake import server_extensions_handshake
from wsproto.utilities import LocalProtocolError, generate_accept_token

from ._ws_frames import frame, read_simple_frames

__all__ = [
    'INBOX_LIMIT',
    'MAX_MESSAGE_SIZE',
    'HandshakeError',
    'WebSocket',
    'WebSocketCarrier',
    'WebSocketClose',
    'WebSocketClosed',
    'WebSocketOffer',
    'check_handshake',
]

MAX_MESSAGE_SIZE = 16 * 1024 * 1024
INBOX_LIMIT = 1024 * 1024
CLOSE_TIMEOUT = 5.0


class HandshakeError(Exception):
    """A WebSocket opening handshake we refuse, with the status and the reason to answer."""

    def __init__(self, status: int, reason: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


class WebSocketClosed(ConnectionError):
    """The WebSocket is closed: nothing more can be sent."""


@dataclass(frozen=True)
class WebSocketClose:
    """The end of a WebSocket, as ``receive`` reports it: the peer's close code, or 1005 (no code
    given), or 1006 (the connection dropped without a close handshake)."""

    code: int
    reason: str = ''


@dataclass(frozen=True)
class WebSocketOffer:
    """A valid opening handshake, waiting for the app to accept or reject it."""

    subprotocols: list[str]
    #: The raw ``sec-websocket-extensions`` offers.
    extensions: list[str]
    #: ``sec-websocket-key`` on HTTP/1.1; RFC 8441 has none.
    key: bytes | None


def _tokens(value: bytes) -> list[bytes]:
    return [token.strip().lower() for token in value.split(b',')]


def check_handshake(method: str, http_version: str, headers: Iterable[tuple[bytes, bytes]]) -> WebSocketOffer | None:
    """Return the offer of an HTTP/1.1 WebSocket upgrade request, ``None`` for any other request.

    A request is an upgrade when ``Upgrade`` names websocket and ``Connection`` names upgrade;
    raises :class:`HandshakeError` when such a request breaks RFC 6455 §4.2.1.
    """
    upgrade = connection_upgrade = False
    version: bytes | None = None
    key: bytes | None = None
    subprotocols: list[str] = []
    extensions: list[str] = []
    for name, value in headers:
        if name == b'upgrade':
            upgrade = upgrade or b'websocket' in _tokens(value)
        elif name == b'connection':
            connection_upgrade = connection_upgrade or b'upgrade' in _tokens(value)
        elif name == b'sec-websocket-version':
            version = value.strip()
        elif name == b'sec-websocket-key':
            key = value.strip()
        elif name == b'sec-websocket-protocol':
            subprotocols.extend(item.strip() for item in value.decode('latin-1').split(',') if item.strip())
        elif name == b'sec-websocket-extensions':
            extensions.append(value.decode('latin-1'))
    if not (upgrade and connection_upgrade):
        return None
    if method != 'GET':
        raise HandshakeError(400, 'WebSocket handshake: the method must be GET')
    if http_version != '1.1':
        raise HandshakeError(400, 'WebSocket handshake: HTTP/1.1 is required')
    if version != b'13':
        raise HandshakeError(
            426,
            'WebSocket handshake: unsupported Sec-WebSocket-Version (13 is supported)',
            ((b'sec-websocket-version', b'13'),),
        )
    if key is None:
        raise HandshakeError(400, 'WebSocket handshake: missing Sec-WebSocket-Key')
    try:
        valid_key = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid_key = False
    if not valid_key:
        raise HandshakeError(400, 'WebSocket handshake: invalid Sec-WebSocket-Key')
    return WebSocketOffer(subprotocols, extensions, key)


class _BoundedDeflate(PerMessageDeflate):
    """permessage-deflate whose inflation stops past the message size limit.

    wsproto inflates without a bound, so a small frame of zeros could expand by ~1000x. Here a
    message may inflate to ``limit`` bytes; more fails the connection with 1009.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit
        self._inflated = 0

    def frame_inbound_payload_data(self, proto: FrameDecoder | FrameProtocol, data: bytes) -> bytes | CloseReason:
        if not self._inbound_compressed or not self._inbound_is_compressible:
            return data
        assert self._decompressor is not None
        try:
            out = self._decompressor.decompress(bytes(data), self._limit - self._inflated + 1)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        self._inflated += len(out)
        if self._inflated > self._limit or self._decompressor.unconsumed_tail:
            return CloseReason.MESSAGE_TOO_BIG
        return out

    def frame_inbound_complete(self, proto: FrameDecoder | FrameProtocol, fin: bool) -> bytes | CloseReason | None:
        if fin:
            self._inflated = 0
        return super().frame_inbound_complete(proto, fin)


def negotiate_extensions(offers: list[str], max_message_size: int) -> tuple[list[Extension], bytes | None]:
    """Pick the first extension offer we can honour; return it and its response header value.

    Each header value may hold several comma-separated offers, in the client's order of
    preference. An offer with parameters we cannot meet (a window below 9 bits, which zlib does
    not do) is declined and the next one tried, as RFC 7692 §5 asks.
    """
    for value in offers:
        for offer in value.split(','):
            offer = offer.strip()
            if not offer:
                continue
            deflate = _BoundedDeflate(max_message_size)
            try:
                header = server_extensions_handshake([offer], [deflate])
            except ValueError:
                continue
            if header:
                return [deflate], header
    return [], None


def accept_token(key: bytes) -> bytes:
    return generate_accept_token(key)


class WebSocketCarrier(Protocol):
    """What a session needs from the connection or stream that carries it."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None:
        """Drop the connection at once: the client did not answer our close in time."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    @property
    def write_paused(self) -> bool: ...

    async def drain(self) -> None: ...


Received = str | bytes | WebSocketClose


class WebSocket:
    """One open WebSocket: ``receive``, ``send`` and ``close`` for the interface adapters."""

    def __init__(
        self,
        carrier: WebSocketCarrier,
        loop: asyncio.AbstractEventLoop,
        extensions: list[Extension] | None = None,
        *,
        max_message_size: int = MAX_MESSAGE_SIZE,
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self._carrier = carrier
        self._loop = loop
        self._codec = Connection(ConnectionType.SERVER, extensions)
        # With no extension, the common frames skip wsproto (see _ws_frames); its frame decoder
        # tells whether it holds part of a frame, in which case it must see the bytes first.
        self._plain = not extensions
        self._decoder = self._codec._proto._frame_decoder
        self._max_message_size = max_message_size
        self._close_timeout = close_timeout
        self._inbox: deque[Received] = deque()
        self._inbox_size = 0
        self._waiter: asyncio.Future[None] | None = None
        self._fragments: list[Any] = []
        self._fragments_size = 0
        self._reading_paused = False
        self._close_timer: asyncio.TimerHandle | None = None
        #: How the session ended, once it has.
        self.close_event: WebSocketClose | None = None
        self._carrier_closed = False

    # -- fed by the carrier --------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self._carrier_closed:
            return
        if (
            self._plain
            and not self._fragments
            and self._decoder.header is None
            and not self._decoder.buffer.buffer
            and self._codec.state is ConnectionState.OPEN
        ):
            messages, used = read_simple_frames(data, self._max_message_size)
            for message in messages:
                self._deliver(message, len(message))
            if used == len(data):
                return
            data = data[used:]
        try:
            self._codec.receive_data(data)
        except LocalProtocolError:
            return
        for event in self._codec.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self._on_message_part(event)
            elif isinstance(event, Ping):
                if self._codec.state is ConnectionState.OPEN:
                    self._carrier.write(self._codec.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._on_close(event)
                return
            # Pongs need no answer.

    def _on_message_part(self, event: TextMessage | BytesMessage) -> None:
        self._fragments_size += len(event.data)
        if self._fragments_size > self._max_message_size:
            self._fail(CloseReason.MESSAGE_TOO_BIG, 'Message too big')
            return
        self._fragments.append(event.data)
        if not event.message_finished:
            return
        parts, self._fragments = self._fragments, []
        size, self._fragments_size = self._fragments_size, 0
        if len(parts) == 1:
            message: str | bytes = parts[0]
        elif isinstance(event.data, str):
            message = ''.join(parts)
        else:
            message = b''.join(parts)
        self._deliver(message, size)

    def _on_close(self, event: CloseConnection) -> None:
        state = self._codec.state
        if state is ConnectionState.REMOTE_CLOSING:
            # The client closes: answer, then end the connection (the server closes TCP first).
            self._carrier.write(self._codec.send(event.response()))
            self._end(WebSocketClose(event.code, event.reason or ''))
        elif state is ConnectionState.CLOSED:
            # The answer to our own close.
            self._end(self.close_event or WebSocketClose(event.code, event.reason or ''))
        else:
            # wsproto reports a broken frame as a close from the peer while still OPEN.
            self._fail(event.code, event.reason or '')

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 §7.1.7): send our close and drop the connection."""
        if self._codec.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            try:
                self._carrier.write(self._codec.send(CloseConnection(code=code, reason=reason)))
            except LocalProtocolError:
                pass
        self._end(WebSocketClose(1006, reason))

    def _end(self, close: WebSocketClose) -> None:
        if self.close_event is None:
            self.close_event = close
        self._deliver(self.close_event, 0)
        self._close_carrier()

    def _close_carrier(self, abort: bool = False) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if not self._carrier_closed:
            self._carrier_closed = True
            if abort:
                # No graceful end (a TLS close_notify exchange, say) is owed to a client that
                # ignored our close (RFC 6455 §7.1.1).
                self._carrier.abort()
            else:
                self._carrier.close()

    def connection_lost(self) -> None:
        """The carrier is gone: a session still open ends abnormally (1006)."""
        self._carrier_closed = True
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self.close_event is None:
            self.close_event = WebSocketClose(1006)
        # After our own close the event is already set, but the app may still be waiting for
        # the client's answer in receive(): the end must reach it either way.
        if not (self._inbox and isinstance(self._inbox[-1], WebSocketClose)):
            self._deliver(self.close_event, 0)

    def _deliver(self, message: Received, size: int) -> None:
        self._inbox.append(message)
        self._inbox_size += size
        if self._inbox_size > INBOX_LIMIT and not self._reading_paused:
            self._reading_paused = True
            self._carrier.pause_reading()
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- the app's side ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.close_event is not None or self._codec.state is not ConnectionState.OPEN

    async def receive(self) -> Received:
        """The next message (``str`` or ``bytes``), or the :class:`WebSocketClose` that ended it."""
        while not self._inbox:
            if self.close_event is not None:
                return self.close_event
            self._waiter = self._loop.create_future()
            await self._waiter
        message = self._inbox.popleft()
        if isinstance(message, WebSocketClose):
            # Keep reporting the end to later calls.
            self._inbox.appendleft(message)
            return message
        self._inbox_size -= len(message)
        if self._reading_paused and self._inbox_size <= INBOX_LIMIT // 2:
            self._reading_paused = False
            self._carrier.resume_reading()
        return message

    async def send(self, data: str | bytes) -> None:
        if self.closed:
            raise WebSocketClosed('WebSocket is closed')
        if self._plain:
            self._carrier.write(frame(data))
        else:
            message: TextMessage | BytesMessage = (
                TextMessage(data=data) if isinstance(data, str) else BytesMessage(data=data)
            )
            self._carrier.write(self._codec.send(message))
        if self._carrier.write_paused:
            await self._carrier.drain()

    def close(self, code: int = 1000, reason: str = '') -> None:
        """Start the close handshake; the carrier closes on the client's answer or the timeout."""
        if self._codec.state is not ConnectionState.OPEN:
            if self._codec.state is ConnectionState.REMOTE_CLOSING:
                self._carrier.write(self._codec.send(CloseConnection(code=code, reason=reason)))
                self._end(WebSocketClose(code, reason))
            return
        self._carrier.write(self._codec.send(CloseConnection(code=code, reason=reason)))
        if self.close_event is None:
            self.close_event = WebSocketClose(code, reason)
        self._close_timer = self._loop.call_later(self._close_timeout, self._close_carrier, True)
