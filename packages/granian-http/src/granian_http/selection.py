"""Choosing HTTP/1.1 or HTTP/2 for each new connection (the ``http`` option: ``auto``, ``1``, ``2``).

* Cleartext with ``http='1'`` or ``'2'``: the listener creates that protocol directly, so a pure
  HTTP/1.1 server pays nothing for the choice. ``'2'`` speaks only h2c with prior knowledge.
* TLS: the ALPN protocol the handshake settled decides (``h2`` or ``http/1.1``), read once the
  handshake is done, which is when ``connection_made`` runs.
* Cleartext ``auto`` (and TLS clients that sent no ALPN): the connection starts as HTTP/1.1 (so its
  header-read timeout and admission rules apply at once), and :class:`ProtocolSelector` looks at
  the first bytes. The HTTP/2 preface (RFC 9113 §3.4) hands the transport to HTTP/2; anything else
  goes to HTTP/1.1 unchanged, and from then on the transport calls that protocol directly. A
  request starting ``GET`` is decided by its first byte. HTTP/1.1 can still switch later through
  ``Upgrade: h2c`` (``granian_http.h1``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from .context import ServeContext
from .h1 import HTTP1Connection
from .transport import hand_over

__all__ = ['ProtocolSelector', 'protocol_factory']

# RFC 9113 §3.4; spelled out here so that choosing does not load HTTP/2.
_PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'


def protocol_factory(ctx: ServeContext) -> Callable[[], asyncio.Protocol]:
    """The ``protocol_factory`` for ``loop.create_server`` on this context's listeners."""
    mode = ctx.http_mode
    if ctx.ssl_context is None:
        if mode == '1':
            return lambda: HTTP1Connection(ctx)
        if mode == '2':
            from .h2 import HTTP2Connection

            return lambda: HTTP2Connection(ctx)
    return lambda: ProtocolSelector(ctx)


class ProtocolSelector(asyncio.Protocol):
    """Stands in for the connection's protocol until it is known."""

    __slots__ = ('_buffer', '_ctx', '_h1', '_successor', '_transport')

    def __init__(self, ctx: ServeContext) -> None:
        self._ctx = ctx
        self._transport: asyncio.Transport | None = None
        self._h1: HTTP1Connection | None = None
        self._buffer = b''
        # Set when the transport could not switch to the chosen protocol: we pass everything on.
        self._successor: asyncio.Protocol | None = None

    def forward_to(self, successor: asyncio.Protocol) -> None:
        self._successor = successor

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are look-alikes, not subclasses
        ssl_object = transport.get_extra_info('ssl_object')
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        mode = self._ctx.http_mode
        if alpn == 'h2' or (alpn is None and mode == '2'):
            # RFC 9113 §3.2: after ALPN h2 the client's first bytes are the preface; nothing to
            # sniff. (A TLS client without ALPN on an http='2' server is taken at its word too.)
            self._hand_to_h2(b'')
            return
        # HTTP/1.1 owns the connection from the start (its header-read timer, the connection
        # limit), even while the first bytes may still turn out to be an HTTP/2 preface.
        h1 = self._h1 = HTTP1Connection(self._ctx)
        if alpn == 'http/1.1' or mode == '1':
            hand_over(transport, self, h1)  # settled: no sniffing, no forwarding cost
        h1.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._successor is not None:
            self._successor.data_received(data)
            return
        h1 = self._h1
        assert h1 is not None and self._transport is not None
        if self._buffer:
            data = self._buffer + data
            self._buffer = b''
        # 'P' first: no HTTP/1.1 method a server must know starts with PRI, so one byte decides
        # for nearly every request, and only a preface prefix is ever buffered.
        if data[:1] == b'P' and _PREFACE.startswith(data[:24]):
            if len(data) < len(_PREFACE):
                self._buffer = data  # wait for the rest of the preface
                return
            h1.detach()
            self._hand_to_h2(data)
            return
        # Anything else is HTTP/1.1 (a bad request included: HTTP/1.1 answers it), and from now
        # on the transport calls it directly.
        hand_over(self._transport, self, h1)
        h1.data_received(data)

    def _hand_to_h2(self, data: bytes) -> None:
        from .h2 import HTTP2Connection  # loaded on the first HTTP/2 connection, not at start-up

        transport = self._transport
        assert transport is not None
        h2conn = HTTP2Connection(self._ctx)
        hand_over(transport, self, h2conn)
        h2conn.connection_made(transport)
        if data:
            h2conn.data_received(data)

    # Until the choice is made, everything else is HTTP/1.1's business.

    def connection_lost(self, exc: Exception | None) -> None:
        target = self._successor or self._h1
        if target is not None:
            target.connection_lost(exc)

    def eof_received(self) -> bool | None:
        target = self._successor or self._h1
        return target.eof_received() if target is not None else None

    def pause_writing(self) -> None:
        target = self._successor or self._h1
        if target is not None:
            target.pause_writing()

    def resume_writing(self) -> None:
        target = self._successor or self._h1
        if target is not None:
            target.resume_writing()
