"""The exchange core: the part of an :class:`~.exchange.Exchange` that is the same whatever carries
it, written once for HTTP/1.1 and HTTP/2 (and the next protocol).

What the core owns:

* the request body: a list of chunks the protocol feeds (:meth:`ExchangeCore.feed_body`,
  :meth:`ExchangeCore.feed_eof`) and :meth:`ExchangeCore.read_body` drains, with one hook,
  :meth:`ExchangeCore._body_consumed`, through which the protocol lets the client send more
  (HTTP/1.1 resumes reading the socket, HTTP/2 hands back flow control window);
* the waiters (body, disconnect, completion) and the disconnect bookkeeping;
* the response state (:mod:`._state`): every response call checks it here, so the order rules
  hold identically on every protocol;
* ``send_file``, which needs nothing of a protocol but "a head that announces this many bytes".

What each protocol provides (the ``_emit_*`` hooks, and a handful of small ones), and only that:
how a head, a body chunk, a whole response, the end of a streamed one, an abort and a WebSocket
accept go on its wire. The core calls a hook only in a state where the call is legal, and
advances the state only after the hook returned: a head that cannot be serialized raises
``ValueError`` before anything is written, and the response stays where it was (an interface can
still answer 500).

The hot path costs one extra Python call per response call (``end`` -> ``_emit_whole``), about 1 %
of a small request's instructions; the alternative, each protocol re-implementing the checks, is
what this module replaced.
"""

from __future__ import annotations

import asyncio
import os
from abc import abstractmethod
from concurrent.futures import Executor
from typing import TYPE_CHECKING

from ._state import (
    ACCEPT_WEBSOCKET,
    DONE,
    END,
    FLUSH_HEAD,
    HELD,
    IDLE,
    LEGAL,
    SEND_FILE,
    START,
    STREAMING,
    UPGRADED,
    WRITE,
    refusal,
)
from .exchange import ClientDisconnected, Exchange, Headers, ResponseStateError

if TYPE_CHECKING:
    from .tls import TLSInfo
    from .ws import WebSocket, WebSocketOffer

__all__ = ['FILE_CHUNK', 'SMALL_FILE', 'ConnectionFacts', 'ExchangeCore', 'wake']

#: Files up to this size are read whole and leave in the same write as the head.
SMALL_FILE = 64 * 1024
#: Larger files are read (off the loop) and written in chunks of this size, minding flow control.
FILE_CHUNK = 128 * 1024

_CAN_START = LEGAL[START]
_CAN_ACCEPT = LEGAL[ACCEPT_WEBSOCKET]


def wake(waiter: asyncio.Future[None] | None) -> None:
    """Resolve a waiter, unless there is none or it is done already (its task cancelled the wait)."""
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class ConnectionFacts:
    """What every exchange of one connection reports the same way, computed once per connection."""

    __slots__ = ('client', 'executor', 'loop', 'scheme', 'server', 'tls')

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        executor: Executor | None,
        scheme: str,
        client: tuple[str, int] | None,
        server: tuple[str, int] | None,
        tls: TLSInfo | None,
    ) -> None:
        self.loop = loop
        self.executor = executor
        self.scheme = scheme
        self.client = client
        self.server = server
        self.tls = tls


class ExchangeCore(Exchange):
    """An exchange minus its wire: subclasses implement the ``_emit_*`` hooks below."""

    __slots__ = (
        '_body',
        '_body_size',
        '_body_waiter',
        '_complete',
        '_complete_waiter',
        '_disconnect_waiter',
        '_executor',
        '_loop',
        '_resp_headers',
        '_session',
        '_state',
        '_status',
    )

    # Set by accept_websocket only (never read before): a slot left unset costs nothing per request.
    _session: WebSocket

    #: What :class:`~.exchange.ClientDisconnected` says when the client leaves mid-body.
    disconnect_reason = 'client disconnected before the request body was complete'

    def __init__(
        self,
        facts: ConnectionFacts,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: list[tuple[bytes, bytes]],
        http_version: str,
        authority: str | None,
    ) -> None:
        self.method = method
        self.raw_path = raw_path
        self.query_string = query_string
        self.headers = headers
        self.http_version = http_version
        self.authority = authority
        self.scheme = facts.scheme
        self.client = facts.client
        self.server = facts.server
        self.tls = facts.tls
        self.websocket = None
        self._loop = facts.loop
        self._executor = facts.executor
        self._body: list[bytes] = []
        self._body_size = 0
        self.body_complete = False
        self._body_waiter: asyncio.Future[None] | None = None
        self.disconnected = False
        self._disconnect_waiter: asyncio.Future[None] | None = None
        # True once the response is wholly handed to the transport (or abandoned): for HTTP/1.1
        # that is the moment the app ends it, for HTTP/2 when END_STREAM (or a reset) is out.
        self._complete = False
        self._complete_waiter: asyncio.Future[None] | None = None
        self._state = IDLE
        self._status = 200
        self._resp_headers: Headers = ()

    # -- the wire: what each protocol implements -----------------------------------------------

    @abstractmethod
    def _emit_head(self, body_length: int | None) -> None:
        """Write the held head now: framed for ``body_length`` bytes, or for a streamed body."""

    def _emit_first(self, data: bytes) -> None:
        """Write the held head and the first chunk of a streamed body (HTTP/1.1 joins the two)."""
        self._emit_head(None)
        self._emit_body(data)

    @abstractmethod
    def _emit_body(self, data: bytes) -> None:
        """Write a chunk of a streamed body (never empty) after the head."""

    @abstractmethod
    def _emit_whole(self, data: bytes, trailers: Headers | None) -> None:
        """Write the held head and the whole body, and end the response."""

    @abstractmethod
    def _emit_end(self, data: bytes, trailers: Headers | None) -> None:
        """Write the last bytes of a streamed body (maybe none) and end the response."""

    @abstractmethod
    def _emit_abort(self) -> None:
        """End the response without finishing it: the client must see it as cut short."""

    @abstractmethod
    def _file_head(self, count: int) -> bool:
        """Write the head for a file body of exactly ``count`` bytes.

        Returns ``False`` when no body may follow (a HEAD request, a 304): the response is then
        complete, and ``send_file`` reads nothing.
        """

    @abstractmethod
    def _emit_accept(self, offer: WebSocketOffer, subprotocol: str | None, headers: Headers) -> WebSocket:
        """Answer the WebSocket handshake and hand the carrier to a new session."""

    @abstractmethod
    def _body_consumed(self) -> None:
        """The app has taken every buffered body byte: let the client send more."""

    def _body_wanted(self) -> None:
        """The app waits for body bytes that have not come (HTTP/1.1 sends ``100 Continue``)."""

    def _watch_disconnect(self, waiter: asyncio.Future[None]) -> None:
        """Someone waits for the disconnect; a protocol whose connection outlives the exchange
        (HTTP/1.1 keep-alive) registers the waiter with it."""

    def _nothing_more_to_hear(self) -> bool:
        """True when the client can no longer disconnect from this exchange (an HTTP/2 stream
        closed both ways): :meth:`wait_disconnect` returns at once."""
        return False

    # -- fed by the protocol -------------------------------------------------------------------

    def feed_body(self, data: bytes) -> int:
        """The protocol received body bytes; returns how many are now buffered unread."""
        # Chunks are kept as they came and joined only when the app reads: an app that reads
        # rarely then pays one join instead of a copy per chunk.
        self._body.append(data)
        self._body_size += len(data)
        # The waiter is woken inline, not through wake(): this runs for every body chunk.
        waiter = self._body_waiter
        if waiter is not None:
            self._body_waiter = None
            if not waiter.done():
                waiter.set_result(None)
        return self._body_size

    def feed_eof(self) -> None:
        """The protocol saw the end of the request body."""
        self.body_complete = True
        waiter = self._body_waiter  # once per request: woken inline, not through wake()
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _client_gone(self) -> None:
        """The client is gone (the connection closed, the stream was reset): release every wait."""
        # Every waiter returns and looks at ``disconnected``: a body read raises, a completion
        # or disconnect wait just ends. Nothing is left pending on a client that cannot answer.
        self.disconnected = True
        wake(self._body_waiter)
        wake(self._disconnect_waiter)
        wake(self._complete_waiter)

    def _response_complete(self) -> None:
        self._complete = True
        waiter = self._complete_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- request body --------------------------------------------------------------------------

    async def read_body(self) -> bytes:
        while True:
            body = self._body
            if body:
                # The protocol may feed bytearrays or memoryview-backed bytes; apps are promised
                # bytes (bytes() of a bytes object is the object itself, no copy).
                data = bytes(body[0]) if len(body) == 1 else b''.join(body)
                body.clear()
                self._body_size = 0
                self._body_consumed()
                return data
            if self.body_complete:
                return b''
            if self.disconnected:
                # Buffered bytes were returned above first: the app gets everything that arrived,
                # then learns the rest never will.
                raise ClientDisconnected(self.disconnect_reason)
            self._body_wanted()
            waiter = self._body_waiter = self._loop.create_future()
            await waiter

    # -- lifecycle -----------------------------------------------------------------------------

    async def wait_disconnect(self) -> None:
        if self.disconnected or self._nothing_more_to_hear():
            return
        waiter = self._disconnect_waiter
        if waiter is None or waiter.done():
            # A fresh waiter also after a cancelled one: apps cancel this wait once they answered.
            waiter = self._disconnect_waiter = self._loop.create_future()
            self._watch_disconnect(waiter)
        await waiter

    async def wait_complete(self) -> None:
        # ASGI's receive() after the body waits here for http.disconnect: a lost client ends the
        # wait as well as a complete response does.
        if not self._complete and not self.disconnected:
            waiter = self._complete_waiter
            if waiter is None or waiter.done():
                waiter = self._complete_waiter = self._loop.create_future()
            # Shielded: several tasks may wait (receive() polled with a timeout, say), and one
            # that is cancelled must not cancel the wait of the others, nor leave a cancelled
            # future for the next call.
            await asyncio.shield(waiter)

    # -- response ------------------------------------------------------------------------------

    @property
    def response_started(self) -> bool:
        # Past HELD the head is on the wire, or can no longer be given (aborted, upgraded).
        return self._state > HELD

    def _refuse(self, call: str) -> None:
        # Only reached off the fast path: each call checks its legal states inline, and the
        # table (through refusal) is consulted for the error, or the silent drop.
        error = refusal(self._state, call, self.disconnected)
        if error is not None:
            raise error

    def start(self, status: int, headers: Headers) -> None:
        if self._state not in _CAN_START:
            self._refuse(START)
        # Only held: the head is serialized (and checked) when it is written, so a second start
        # (an error page replacing a failed response) costs nothing.
        self._status = status
        self._resp_headers = headers
        self._state = HELD

    def flush_head(self) -> None:
        state = self._state
        if state is HELD:
            self._emit_head(None)
            self._state = STREAMING
        elif state is not STREAMING:
            self._refuse(FLUSH_HEAD)

    def write(self, data: bytes) -> None:
        state = self._state
        if state is STREAMING:
            if data:
                self._emit_body(data)
        elif state is HELD:
            # An empty write still sends the head: the app asked for the response to begin.
            if data:
                self._emit_first(data)
            else:
                self._emit_head(None)
            self._state = STREAMING
        else:
            self._refuse(WRITE)

    def end(self, data: bytes = b'', trailers: Headers | None = None) -> None:
        state = self._state
        if state is HELD:
            # The head was never written: the whole response is known now, so it gets an exact
            # content-length and leaves in one write.
            self._emit_whole(data, trailers)
        elif state is STREAMING:
            self._emit_end(data, trailers)
        else:
            self._refuse(END)
            return
        # After the wire call returned: a head that raised ValueError left the state as it was.
        self._state = DONE

    def abort(self) -> None:
        state = self._state
        if state is DONE:
            return  # error paths abort without knowing whether the response had ended
        if state is UPGRADED:
            # The session owns the carrier now: dropping it is the session's to do.
            self._session.abort()
            return
        self._state = DONE
        self._emit_abort()

    async def send_file(self, path: str | os.PathLike[str], offset: int = 0, count: int | None = None) -> None:
        if self._state is not HELD:
            self._refuse(SEND_FILE)
        loop = self._loop
        # File I/O runs on the executor (runtime_blocking_threads): a slow disk must not stall
        # every other connection on this loop.
        executor = self._executor
        # Opening can fail (a missing file): that raises here, before anything is written.
        file = await loop.run_in_executor(executor, open, path, 'rb')
        try:
            size = (await loop.run_in_executor(executor, os.fstat, file.fileno())).st_size
            # A range past the end is the caller's to refuse (416); here it just means no bytes.
            available = max(0, size - offset)
            count = available if count is None else min(count, available)
            if offset:
                await loop.run_in_executor(executor, file.seek, offset)
            if count <= SMALL_FILE:
                # Read whole: one executor hop, and the response leaves in one write.
                self.end(await loop.run_in_executor(executor, file.read, count))
                return
            if not self._file_head(count):
                self._state = DONE
                return
            self._state = STREAMING
            left = count
            while left > 0 and self._state is STREAMING and not self.disconnected:
                chunk = await loop.run_in_executor(executor, file.read, min(FILE_CHUNK, left))
                if not chunk:
                    # The file shrank under us: end() below finds the body short of the length
                    # the head announced, and each protocol tells the client so.
                    break
                left -= len(chunk)
                self._emit_body(chunk)
                if self.write_paused:
                    # A slow client: at most one chunk beyond the transport's high-water mark is
                    # ever buffered per file, however large the file.
                    await self.drain()
            if self._state is STREAMING:
                self.end()
        finally:
            file.close()

    # -- websockets ----------------------------------------------------------------------------

    def accept_websocket(self, subprotocol: str | None = None, headers: Headers = ()) -> WebSocket:
        offer = self.websocket
        if offer is None:
            raise ResponseStateError('Not a WebSocket handshake')
        if self._state not in _CAN_ACCEPT:
            self._refuse(ACCEPT_WEBSOCKET)
        session = self._session = self._emit_accept(offer, subprotocol, headers)
        self._state = UPGRADED
        return session
