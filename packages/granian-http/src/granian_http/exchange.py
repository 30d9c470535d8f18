"""The exchange contract: the one object a protocol hands an interface for each request.

Every protocol (HTTP/1.1, and HTTP/2 with one exchange per stream) produces an :class:`Exchange`
per request and every interface (ASGI, RSGI, WSGI) consumes nothing else, so one interface adapter
serves every HTTP version. The protocols build theirs on one shared core (:mod:`._core`), whose
response calls follow the state table of :mod:`._state`. The rules both sides rely on:

* The request head is plain attributes, set once before the exchange reaches the interface.
* The request body arrives through :meth:`Exchange.read_body`. The protocol stops reading from the
  network while the unread body is above its buffer limit, so a slow app slows the client.
* The response goes out through :meth:`start`, :meth:`write` and :meth:`end` (or
  :meth:`send_file`). They never block: they queue bytes on the transport and return. Callers
  that produce a body in a loop check :attr:`write_paused` and await :meth:`drain` only while it
  is set, which is a single attribute check on the fast path.
* Calls in the wrong order (a body before the head, anything after the end) raise
  :class:`ResponseStateError`; :mod:`._state` has the exact table.
* The head is held until the first body bytes, so a small response leaves in one write.
* Once the client is gone, writes are dropped silently and :attr:`disconnected` is true; the
  interface decides whether its app sees an error.
* Optional response features are asked for, never assumed: :attr:`trailers_allowed` (the
  protocol carries trailers and the client said ``te: trailers``) and :attr:`early_hints_allowed`
  (a 103 can be sent now). :meth:`early_hints` is a no-op where it is not allowed.
* :attr:`tls` holds the TLS handshake facts of the connection (``None`` on cleartext).
* A WebSocket handshake arrives as an exchange whose :attr:`websocket` is set; the interface
  either accepts it (:meth:`accept_websocket`, which returns the session) or answers it with an
  ordinary response, which rejects it.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tls import TLSInfo
    from .ws import WebSocket, WebSocketOffer

__all__ = ['ClientDisconnected', 'Exchange', 'Headers', 'ResponseStateError']

#: Header lists are sequences of ``(name, value)`` byte pairs; request names are lower-case.
Headers = Sequence[tuple[bytes, bytes]]


class ClientDisconnected(ConnectionError):
    """The request body cannot be completed: the client went away first."""


class ResponseStateError(RuntimeError):
    """A response call came in the wrong order (a body before the head, anything after the end)."""


class Exchange(ABC):
    """One request and its response, independent of the HTTP version that carries them."""

    __slots__ = (
        'authority',
        'body_complete',
        'client',
        'disconnected',
        'headers',
        'http_version',
        'method',
        'query_string',
        'raw_path',
        'scheme',
        'server',
        'tls',
        'websocket',
    )

    #: Upper-case request method, e.g. ``'GET'``.
    method: str
    #: The request path as received, still percent-encoded, without the query.
    raw_path: bytes
    #: The raw query string, without the ``?``.
    query_string: bytes
    #: The request headers with lower-case names, in the order received.
    headers: list[tuple[bytes, bytes]]
    #: ``'1'`` for HTTP/1.0 (upstream's spelling), ``'1.1'`` or ``'2'``.
    http_version: str
    #: ``'http'`` or ``'https'``.
    scheme: str
    #: The peer's ``(host, port)``; ``None`` when the transport has no address (a Unix socket).
    client: tuple[str, int] | None
    #: The local ``(host, port)``, or ``(socket path, 0)`` on a Unix socket.
    server: tuple[str, int] | None
    #: HTTP/2's ``:authority`` pseudo-header; ``None`` on HTTP/1.x.
    authority: str | None
    #: The TLS handshake facts of the connection; ``None`` on a cleartext connection.
    tls: TLSInfo | None
    #: For a valid WebSocket opening handshake, what the client offered; ``None`` otherwise.
    #: (A broken handshake never reaches the interface: the protocol answers it with 400.)
    websocket: WebSocketOffer | None
    #: True once the whole request body has been received (a bodyless request starts so). Read
    #: only; kept by the protocol. (Attributes rather than properties: interfaces read these two
    #: on every body chunk.)
    body_complete: bool
    #: True once the client connection is gone. Read only; kept by the protocol.
    disconnected: bool

    # -- request body --------------------------------------------------------------------------

    @abstractmethod
    async def read_body(self) -> bytes:
        """Return the body bytes buffered so far, waiting for some if there are none.

        Returns ``b''`` once the body is complete. Raises :class:`ClientDisconnected` when the
        client goes away before the body is complete.
        """

    # -- lifecycle -----------------------------------------------------------------------------

    @abstractmethod
    async def wait_disconnect(self) -> None:
        """Return once the client connection is gone (which can outlive the response)."""

    @abstractmethod
    async def wait_complete(self) -> None:
        """Return once the response has been sent in full, or the client is gone."""

    # -- response ------------------------------------------------------------------------------

    @property
    @abstractmethod
    def response_started(self) -> bool:
        """True once the response head has been written: from then on it cannot change."""

    @abstractmethod
    def start(self, status: int, headers: Headers) -> None:
        """Set the response status and headers. Nothing is written until the first body bytes.

        Until then a later call replaces the head (so an error can still become a 500). Raises
        :class:`ResponseStateError` once the head has been written. A header that cannot be sent
        (a bad name, a line break in a value) raises :class:`ValueError` when the head is written.
        """

    @abstractmethod
    def flush_head(self) -> None:
        """Write the held head now, choosing streaming framing (for event streams)."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Queue a chunk of a streamed body."""

    @abstractmethod
    def end(self, data: bytes = b'', trailers: Headers | None = None) -> None:
        """Queue the last body bytes and finish the response.

        When the head is still held, the whole response leaves in one write, framed with an exact
        ``content-length``. ``trailers`` are sent where the protocol can carry them.
        """

    @abstractmethod
    async def send_file(self, path: str | os.PathLike[str], offset: int = 0, count: int | None = None) -> None:
        """Send ``count`` bytes (or the rest) of a file from ``offset`` as the whole body, then end.

        The file is opened and read off the event loop. :class:`OSError` from opening it is
        raised before anything is written, so the caller can still answer with an error.
        """

    @property
    @abstractmethod
    def write_paused(self) -> bool:
        """True while the transport's buffer is above its high-water mark."""

    @abstractmethod
    async def drain(self) -> None:
        """Wait until the transport accepts writes again (or the client is gone)."""

    @abstractmethod
    def abort(self) -> None:
        """Give up on the response: close the connection without finishing the body."""

    # -- optional response features ------------------------------------------------------------

    @property
    def trailers_allowed(self) -> bool:
        """True when :meth:`end` can deliver trailers: the protocol carries them and the client
        asked for them (``te: trailers``)."""
        return False

    @property
    def early_hints_allowed(self) -> bool:
        """True while :meth:`early_hints` would send a 103 (the head is not written yet)."""
        return False

    def early_hints(self, headers: Headers) -> None:  # noqa: B027 (a no-op unless a protocol has them)
        """Send a 103 Early Hints response (RFC 8297) ahead of the final one, if allowed; else nothing.

        HTTP/2 sends it. HTTP/1.1 does not: common clients (Python's ``http.client`` among them)
        take any status line for the final response, so a 103 would break them.
        """

    # -- websockets ----------------------------------------------------------------------------

    @abstractmethod
    def accept_websocket(self, subprotocol: str | None = None, headers: Headers = ()) -> WebSocket:
        """Accept the WebSocket handshake (101 on HTTP/1.1) and return the open session.

        To reject it, answer with an ordinary response instead (:meth:`start`/:meth:`end`).
        """
