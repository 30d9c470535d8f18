"""One WebSocket session (RFC 6455), whatever carries it.

On HTTP/1.1 the carrier is the TCP connection after the 101 response; on HTTP/2 (RFC 8441) it is
one stream's DATA frames. A carrier feeds the session the bytes it receives (:meth:`WebSocket.feed`,
:meth:`WebSocket.connection_lost`) and gives it the :class:`WebSocketCarrier` calls to write, close
and pause reading. The interface adapters use ``receive``, ``send`` and ``close``.

Duties the session takes off the app's hands:

* pings are answered and pongs swallowed;
* fragmented messages are reassembled, up to the settings' ``max_message_size`` (16 MiB by
  default). A message over it, compressed or not, fails the connection with 1009, and so does a
  frame whose header announces more than the limit allows, at once, before its payload arrives;
* permessage-deflate is negotiated when offered (:mod:`._handshake`), inflation bounded by the
  same limit;
* the close handshake: a client's close is answered and the carrier closed (the server ends TCP
  first, RFC 6455 §7.1.1); our close waits for the client's answer at most ``close_timeout``
  seconds, then drops the carrier;
* a slow reader: above :data:`INBOX_LIMIT` bytes of unread messages the carrier stops reading, so
  the client's writes back up instead of our memory; each message counts
  :data:`MESSAGE_OVERHEAD` bytes more than its payload, so a flood of empty messages is bounded
  too;
* keep-alive, when the settings give a ``ping_interval``: a client silent for a whole interval is
  pinged, and one still silent ``ping_timeout`` seconds later is failed with 1011 (see
  :meth:`WebSocket._on_ping_timer`).

Concurrency: ``receive``, ``send`` and ``close`` may be called from different tasks in any order
(ASGI allows it, and Quart receives in a task of its own). Each call only touches the inbox and
the carrier. Several tasks may wait in ``receive`` at once: each waits on a future of its own, all
are woken by a message, and the first to run takes it, so cancelling one waiter (a timeout, a
framework tearing down its receive task) never cancels the wait of another.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.extensions import Extension
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

from ..settings import WebSocketSettings
from ._frames import frame, read_simple_frames
from ._wsproto import Codec

__all__ = [
    'CLOSE_TIMEOUT',
    'INBOX_LIMIT',
    'MESSAGE_OVERHEAD',
    'PING_TIMEOUT_REASON',
    'Received',
    'WebSocket',
    'WebSocketCarrier',
    'WebSocketClose',
    'WebSocketClosed',
]

INBOX_LIMIT = 1024 * 1024
#: What a message costs in the inbox beyond its payload (its object and the list slot, roughly).
MESSAGE_OVERHEAD = 64
CLOSE_TIMEOUT = 5.0

_OPEN = ConnectionState.OPEN
#: The largest payload a control frame may carry (RFC 6455 §5.5).
_CONTROL_PAYLOAD_LIMIT = 125
#: No message limit or pings given: today's defaults (16 MiB, no pings).
_DEFAULT_SETTINGS = WebSocketSettings()
#: What the app's ``receive`` reports when the client left our keep-alive ping unanswered.
PING_TIMEOUT_REASON = 'keepalive ping timeout'


class WebSocketClosed(ConnectionError):
    """The WebSocket is closed: nothing more can be sent."""


@dataclass(frozen=True)
class WebSocketClose:
    """The end of a WebSocket, as ``receive`` reports it: the peer's close code, or 1005 (no code
    given), or 1006 (the connection dropped without a close handshake)."""

    code: int
    reason: str = ''


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

    # Slots and a wsproto codec made only when needed keep an idle session small: a worker may
    # hold tens of thousands (benchmarks/memory.py), and a __dict__ alone is ~500 bytes each.
    __slots__ = (
        '_carrier',
        '_carrier_closed',
        '_close_timeout',
        '_close_timer',
        '_codec',
        '_fragments',
        '_fragments_size',
        '_heard',
        '_inbox',
        '_inbox_head',
        '_inbox_size',
        '_loop',
        '_max_message_size',
        '_ping_interval',
        '_ping_payload',
        '_ping_timeout',
        '_ping_timer',
        '_pings_sent',
        '_plain',
        '_reading_paused',
        '_waiters',
        'close_event',
    )

    def __init__(
        self,
        carrier: WebSocketCarrier,
        loop: asyncio.AbstractEventLoop,
        extensions: list[Extension] | None = None,
        *,
        settings: WebSocketSettings = _DEFAULT_SETTINGS,
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self._carrier = carrier
        self._loop = loop
        # With no extension, the common frames skip wsproto (see _frames): a frame that needs more
        # than the fast reader gives goes to wsproto, and stays there until wsproto holds no part
        # of a frame again. wsproto's connection (~1.5 KiB) is then made on the first frame that
        # needs it, or the first control frame we send; with extensions it decodes every frame.
        self._plain = not extensions
        self._codec: Codec | None = None if self._plain else Codec(extensions)
        self._max_message_size = settings.max_message_size
        self._close_timeout = close_timeout
        # Unread messages from _inbox_head on: a list and an index rather than a deque, whose
        # first block alone is ~700 bytes on every idle session; the list is emptied when read
        # to its end and cut when its read half grows (see receive).
        self._inbox: list[Received] = []
        self._inbox_head = 0
        self._inbox_size = 0
        # One future per task waiting in receive(): a future shared by several would be cancelled
        # for all of them when one of their tasks is cancelled.
        self._waiters: list[asyncio.Future[None]] = []
        # The parts of a fragmented message being read; None (no list held) between messages.
        self._fragments: list[Any] | None = None
        self._fragments_size = 0
        self._reading_paused = False
        self._close_timer: asyncio.TimerHandle | None = None
        #: How the session ended, once it has.
        self.close_event: WebSocketClose | None = None
        self._carrier_closed = False
        # Keep-alive: one timer for the whole session, re-armed when it fires rather than on every
        # message (a cancel and a call_later per message would put two heap operations on the
        # echo path); feed() only raises a flag. Nothing is scheduled when pings are off, the
        # default.
        self._ping_interval = settings.ping_interval
        self._ping_timeout = settings.ping_timeout
        self._ping_timer: asyncio.TimerHandle | None = None
        #: Bytes arrived since the timer last looked.
        self._heard = False
        #: The payload of our ping while its deadline is what the timer waits for.
        self._ping_payload: bytes | None = None
        self._pings_sent = 0
        if self._ping_interval:
            self._ping_timer = loop.call_later(self._ping_interval, self._on_ping_timer)

    # -- fed by the carrier --------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self._carrier_closed:
            return
        self._heard = True  # the client is alive: no keep-alive ping is due this interval
        codec = self._codec
        if self._plain and not self._fragments and (codec is None or codec.between_frames):
            messages, used = read_simple_frames(data, self._max_message_size)
            for message in messages:
                self._deliver(message, len(message))
            if used == len(data):
                return
            data = data[used:]
        codec = self._wsproto()
        try:
            codec.receive_data(data)
        except LocalProtocolError:
            return  # data after our close: nothing to act on
        for event in codec.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self._on_message_part(event)
            elif isinstance(event, Ping):
                if codec.state is _OPEN:
                    self._carrier.write(codec.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._on_close(event)
                return
            elif isinstance(event, Pong) and event.payload == self._ping_payload:
                self._on_pong()
            # Other pongs need no answer.
        announced = codec.announced
        if (
            announced > _CONTROL_PAYLOAD_LIMIT
            and self._fragments_size + announced > self._max_message_size
            and codec.state is _OPEN
            and self.close_event is None
        ):
            # The frame being read announces more than the message may hold: refuse it now rather
            # than wait, with the connection held open, for a payload the client may never send.
            # A control frame (a ping amid a fragmented message) announces at most 125 bytes and
            # is not part of the message, hence the floor; a data frame that small is judged
            # when it arrives, which is soon. Compressed frames announce their wire size: deflate
            # hardly ever grows data, so a payload over the limit inflates past it too. Once a
            # close is under way the frame is not ours to judge: the close decides the end.
            self._fail(CloseReason.MESSAGE_TOO_BIG, 'Message too big')

    def _wsproto(self) -> Codec:
        """wsproto's connection, made now if the session had no need of it yet."""
        codec = self._codec
        if codec is None:
            # Only a plain session (no extension) makes it late. Fresh, it is OPEN and between
            # frames: exactly where the fast reader left the stream.
            codec = self._codec = Codec()
        return codec

    def _on_message_part(self, event: TextMessage | BytesMessage) -> None:
        self._fragments_size += len(event.data)
        if self._fragments_size > self._max_message_size:
            self._fail(CloseReason.MESSAGE_TOO_BIG, 'Message too big')
            return
        if self._fragments is None:
            self._fragments = []
        self._fragments.append(event.data)
        if not event.message_finished:
            return
        parts, self._fragments = self._fragments, None
        size, self._fragments_size = self._fragments_size, 0
        if len(parts) == 1:
            message: str | bytes = parts[0]
        elif isinstance(event.data, str):
            message = ''.join(parts)
        else:
            message = b''.join(parts)
        self._deliver(message, size)

    def _on_close(self, event: CloseConnection) -> None:
        codec = self._wsproto()
        state = codec.state
        if state is ConnectionState.REMOTE_CLOSING:
            # The client closes: answer, then end the connection (the server closes TCP first).
            self._carrier.write(codec.send(event.response()))
            self._end(WebSocketClose(event.code, event.reason or ''))
        elif state is ConnectionState.CLOSED:
            # The answer to our own close.
            self._end(self.close_event or WebSocketClose(event.code, event.reason or ''))
        else:
            # wsproto reports a broken frame as a close from the peer while still OPEN.
            self._fail(event.code, event.reason or '')

    def _fail(self, code: int, reason: str, abort: bool = False) -> None:
        """Fail the connection (RFC 6455 §7.1.7): send our close and drop the connection.

        The app sees 1006 (the connection ended without the client's close frame, §7.1.5) with
        ``reason``, whatever ``code`` the client was sent.
        """
        codec = self._wsproto()
        if codec.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            try:
                self._carrier.write(codec.send(CloseConnection(code=code, reason=reason)))
            except LocalProtocolError:
                pass
        self._end(WebSocketClose(1006, reason), abort)

    def _end(self, close: WebSocketClose, abort: bool = False) -> None:
        if self.close_event is None:
            self.close_event = close
        self._deliver(self.close_event, 0)
        self._close_carrier(abort)

    def _stop_timers(self) -> None:
        self._ping_payload = None  # a late pong must not arm the keep-alive again
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None

    def _close_carrier(self, abort: bool = False) -> None:
        self._stop_timers()
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
        self._stop_timers()
        if self.close_event is None:
            self.close_event = WebSocketClose(1006)
        # After our own close the event is already set, but the app may still be waiting for
        # the client's answer in receive(): the end must reach it either way.
        if not (len(self._inbox) > self._inbox_head and isinstance(self._inbox[-1], WebSocketClose)):
            self._deliver(self.close_event, 0)

    def _on_ping_timer(self) -> None:
        """Keep-alive: look at what the client did since the timer was armed, and act on it.

        A ping goes out only after a whole interval without a byte from the client: any traffic
        proves it alive as well as a pong would, and costs nothing to watch (the flag feed()
        raises). Then the timer waits ``ping_timeout`` seconds for an answer. The pong to our
        ping ends the wait at once (:meth:`_on_pong`), but any other bytes are an answer too: a
        client busy sending one large frame cannot send its pong before the frame's last byte (a
        control frame may not cut into a frame, RFC 6455 §5.4) and is alive all the same, and an
        unsolicited pong is the RFC's one-way heartbeat (§5.5.3).
        """
        self._ping_timer = None
        if self.closed:
            # A close handshake is under way (the close timeout bounds it now), or it is over.
            return
        interval = self._ping_interval
        assert interval is not None  # the timer runs only with an interval
        if self._heard or self._reading_paused:
            # Heard from, or not listening: the carrier stopped reading for a slow app, so what
            # the client sends (its pong too) waits unread, and silence proves nothing.
            self._heard = False
            self._ping_payload = None
            self._ping_timer = self._loop.call_later(interval, self._on_ping_timer)
        elif self._ping_payload is None:
            self._ping()
        else:
            # Not a byte since our ping, for the whole timeout: a dead peer (a vanished client,
            # a NAT that forgot us) would otherwise hold the connection, and the app, forever.
            # 1011 and the reason are what the websockets library, and so Uvicorn, send. The
            # carrier is dropped rather than closed: a graceful close would wait for a flush (or
            # a TLS close_notify) that a dead peer never acknowledges.
            self._fail(CloseReason.INTERNAL_ERROR, PING_TIMEOUT_REASON, abort=True)

    def _ping(self) -> None:
        self._pings_sent += 1
        # A payload of its own for every ping, so that a late pong to an earlier one (or an
        # unsolicited pong) is not taken for the answer to this one.
        payload = self._pings_sent.to_bytes(4, 'big')
        self._carrier.write(self._wsproto().send(Ping(payload=payload)))
        if self._carrier_closed:
            return  # the write found the connection reset: the session has ended
        interval = self._ping_interval
        assert interval is not None
        timeout = self._ping_timeout
        if timeout is None:
            # Pings that only keep idle intermediaries (proxies, NATs) from dropping the
            # connection: nobody waits for the answer.
            self._ping_timer = self._loop.call_later(interval, self._on_ping_timer)
        else:
            self._ping_payload = payload
            self._ping_timer = self._loop.call_later(timeout, self._on_ping_timer)

    def _on_pong(self) -> None:
        """The answer to our ping: the next interval starts now.

        So an idle client is pinged once per interval (plus the round trip), as Uvicorn does;
        left to the deadline timer, it would be once per interval plus timeout, too seldom for
        a NAT with an idle timeout just above the interval. The pong itself does not count as
        traffic in the new interval.
        """
        self._ping_payload = None
        self._heard = False
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None
        if self.closed:
            return  # our close is under way: its own timeout governs the end
        interval = self._ping_interval
        assert interval is not None
        self._ping_timer = self._loop.call_later(interval, self._on_ping_timer)

    def _deliver(self, message: Received, size: int) -> None:
        self._inbox.append(message)
        self._inbox_size += size + MESSAGE_OVERHEAD
        if self._inbox_size > INBOX_LIMIT and not self._reading_paused:
            self._reading_paused = True
            self._carrier.pause_reading()
        if self._waiters:
            # Wake every waiting receive(): the first to run takes the message, the others find
            # the inbox empty and wait again.
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    # -- the app's side ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once nothing more can be sent: either side started closing, or the carrier is gone."""
        # No codec yet: nothing was sent or received that could have moved it from OPEN.
        codec = self._codec
        return self.close_event is not None or (codec is not None and codec.state is not _OPEN)

    @property
    def peer_closed(self) -> bool:
        """True once the client sent its close frame (it expects the carrier to end after ours)."""
        codec = self._codec
        return codec is not None and codec.state in (ConnectionState.CLOSED, ConnectionState.REMOTE_CLOSING)

    async def receive(self) -> Received:
        """The next message (``str`` or ``bytes``), or the :class:`WebSocketClose` that ended it."""
        inbox = self._inbox
        while len(inbox) == self._inbox_head:
            if self.close_event is not None:
                return self.close_event
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                # Cancelled: forget the future, so a receive() polled with a timeout in a loop
                # does not pile them up until the next message.
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
        head = self._inbox_head
        message = inbox[head]
        if isinstance(message, WebSocketClose):
            return message  # left in place: later calls keep reporting the end
        head += 1
        if head == len(inbox):
            inbox.clear()  # read to the end: back to an empty list, no slots held
            head = 0
        elif head >= 32 and 2 * head >= len(inbox):
            # A reader that never quite catches up: drop the read half, so the list holds no more
            # than twice what is unread, at an amortized constant cost per message.
            del inbox[:head]
            head = 0
        self._inbox_head = head
        self._inbox_size -= len(message) + MESSAGE_OVERHEAD
        if self._reading_paused and self._inbox_size <= INBOX_LIMIT // 2:
            self._reading_paused = False
            # Keep-alive: what the client sent while we were not reading arrives now; it gets a
            # whole interval from here, as if just heard.
            self._heard = True
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
            self._carrier.write(self._wsproto().send(message))
        if self._carrier.write_paused:
            await self._carrier.drain()

    def close(self, code: int = 1000, reason: str = '') -> None:
        """Start the close handshake; the carrier closes on the client's answer or the timeout.

        Nothing to do once the carrier is gone: there is no one to send a close frame to, and no
        answer to wait for.
        """
        if self._carrier_closed:
            return
        codec = self._wsproto()
        if codec.state is not _OPEN:
            if codec.state is ConnectionState.REMOTE_CLOSING:
                self._carrier.write(codec.send(CloseConnection(code=code, reason=reason)))
                self._end(WebSocketClose(code, reason))
            return
        self._carrier.write(codec.send(CloseConnection(code=code, reason=reason)))
        if self.close_event is None:
            self.close_event = WebSocketClose(code, reason)
        self._close_timer = self._loop.call_later(self._close_timeout, self._close_carrier, True)

    def abort(self) -> None:
        """Drop the carrier now, without a close handshake (the app or its adapter failed)."""
        if self.close_event is None:
            self.close_event = WebSocketClose(1006)
        self._close_carrier(abort=True)
