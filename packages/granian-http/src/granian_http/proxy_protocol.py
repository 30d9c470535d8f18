"""The PROXY protocol in front of protocol selection: read the header, then serve as usual.

With ``proxy_protocol`` on, a listener's connections start with :class:`ProxyHeaderReader`:

1. **Trust first.** The peer must be one of the trusted hosts, or the connection is closed before
   a byte is read: a header from anyone else could name any address. Unix-socket peers are
   trusted (they have no address to check; the socket file's permissions say who may connect,
   and a proxy in front over a Unix socket is the common set-up).
2. **The header, bounded.** Bytes go to :class:`~.proxy_header.ProxyHeaderParser` until it has a
   header. A malformed or truncated header, a header of a version not configured, no header at
   all (the client spoke first), or none within the HTTP/1.1 header-read timeout closes the
   connection; the app never hears of it.
3. **Then the real protocol.** ``protocol_factory(ctx)`` makes what the listener would have made
   without the PROXY protocol; it takes the transport (:func:`.transport.hand_over`), receives
   ``connection_made`` and the bytes that followed the header. The header's addresses are told to
   :func:`.transport.tell_addresses` first, so the connection, its exchanges (ASGI/RSGI
   ``client``, WSGI ``REMOTE_ADDR``, the access log) and any protocol it later hands over to see
   the client the proxy saw. LOCAL and UNKNOWN headers keep the socket's addresses.

TLS: the header precedes the handshake, so such a listener is created without ``ssl=``; after the
header the reader upgrades the transport with ``loop.start_tls`` and hands the TLS transport on
(ALPN then chooses HTTP/2 or HTTP/1.1 as usual). The handshake's first bytes must reach the TLS
layer and not us, so on TLS listeners the reader is a :class:`asyncio.BufferedProtocol` that
never reads past the header (``ProxyHeaderParser.read_limit``); on cleartext ones it reads
freely and replays what followed the header.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Container
from typing import cast

from .context import ServeContext
from .proxy_header import ProxyHeader, ProxyHeaderError, ProxyHeaderParser
from .selection import protocol_factory
from .transport import forget_addresses, hand_over, tell_addresses, transport_addresses

__all__ = ['PROXY_PROTOCOL_MODES', 'ProxyHeaderReader', 'proxy_protocol_factory']

#: The ``proxy_protocol`` values that put a reader in front (``off`` puts none).
PROXY_PROTOCOL_MODES = ('v1', 'v2', 'auto')

_log = logging.getLogger('_granian')

# What one read may take while the header is read: enough for any version 1 line and most
# version 2 headers, and for the first request bytes after them (replayed to the successor).
_HEADER_READ_SIZE = 4096
# What one read may take once the reader only forwards (a transport that cannot switch protocols).
_FORWARD_READ_SIZE = 65536


def proxy_protocol_factory(
    ctx: ServeContext, mode: str, trusted_hosts: Container[str]
) -> Callable[[], asyncio.BaseProtocol]:
    """The ``protocol_factory`` for a listener whose connections start with a PROXY header.

    ``mode`` is ``v1``, ``v2`` or ``auto``; ``trusted_hosts`` answers ``host in trusted_hosts``
    for a peer's address (``granian_proxies.TrustedHosts`` does). The listener must be created
    without ``ssl=``: with ``ctx.ssl_context`` set, TLS starts after the header.
    """
    if mode not in PROXY_PROTOCOL_MODES:
        raise ValueError(f'proxy_protocol must be one of {", ".join(PROXY_PROTOCOL_MODES)}, not {mode!r}')
    successor = protocol_factory(ctx)
    return lambda: ProxyHeaderReader(ctx, mode, trusted_hosts, successor)


class ProxyHeaderReader(asyncio.BufferedProtocol):
    """A connection's protocol until its PROXY header is read, then a forwarder where it must be."""

    __slots__ = (
        '_buffer',
        '_ctx',
        '_early',
        '_make_successor',
        '_parser',
        '_successor',
        '_timer',
        '_tls_task',
        '_transport',
        '_trusted',
    )

    def __init__(
        self,
        ctx: ServeContext,
        mode: str,
        trusted_hosts: Container[str],
        make_successor: Callable[[], asyncio.Protocol],
    ) -> None:
        self._ctx = ctx
        self._trusted = trusted_hosts
        self._make_successor = make_successor
        self._parser: ProxyHeaderParser | None = ProxyHeaderParser(mode)
        self._buffer = bytearray(_HEADER_READ_SIZE)
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        # The protocol that serves the connection once the header is read; set here only while
        # we must pass callbacks on to it (a transport that cannot switch protocols).
        self._successor: asyncio.Protocol | None = None
        # While the TLS handshake runs (we are the TLS transport's protocol until it is done):
        # the task, and what the client sent once it was through, before the successor exists.
        self._tls_task: asyncio.Task[None] | None = None
        self._early = bytearray()

    # -- asyncio.BaseProtocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are look-alikes, not subclasses
        peer, _ = transport_addresses(transport)
        if peer is not None and peer[0] not in self._trusted:
            _log.debug('PROXY protocol: %s is not a trusted host; connection closed', peer[0])
            self._close()
            return
        timeout = self._ctx.h1.header_read_timeout / 1000
        self._timer = self._ctx.loop.call_later(timeout, self._timed_out)

    def get_buffer(self, sizehint: int) -> memoryview:
        view = memoryview(self._buffer)
        parser = self._parser
        if parser is not None and self._ctx.ssl_context is not None:
            # TLS follows the header: take no byte of the handshake (its layer must read them).
            return view[: parser.read_limit()]
        return view

    def buffer_updated(self, nbytes: int) -> None:
        data = bytes(self._buffer[:nbytes])
        if self._successor is not None:
            self._successor.data_received(data)
        elif self._tls_task is not None:
            self._early += data  # through TLS already, before the successor is there
        elif self._parser is not None:
            self._read_header(data)

    def eof_received(self) -> bool | None:
        if self._successor is not None:
            return self._successor.eof_received()
        # The client stopped sending before (or right after) its header: nothing to serve.
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self._parser = None
        if self._transport is not None:
            forget_addresses(self._transport)
        if self._successor is not None:
            self._successor.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._successor is not None:
            self._successor.pause_writing()

    def resume_writing(self) -> None:
        if self._successor is not None:
            self._successor.resume_writing()

    def forward_to(self, successor: asyncio.Protocol) -> None:
        # The transport cannot switch protocols (rloop): everything reaches us and goes on.
        self._successor = successor
        self._buffer = bytearray(_FORWARD_READ_SIZE)

    # -- the header ----------------------------------------------------------------------------

    def _read_header(self, data: bytes) -> None:
        parser = self._parser
        transport = self._transport
        assert parser is not None and transport is not None
        try:
            header = parser.feed(data)
        except ProxyHeaderError as exc:
            _log.debug('PROXY protocol: %s; connection closed', exc)
            self._close()
            return
        if header is None:
            return
        self._cancel_timer()
        self._parser = None
        if header.client is not None and header.server is not None:
            tell_addresses(transport, header.client, header.server)
        if self._ctx.ssl_context is not None:
            # Stop reading now: the next bytes are the handshake's, and start_tls takes the
            # transport only when its task runs.
            transport.pause_reading()
            self._tls_task = self._ctx.loop.create_task(self._start_tls(transport, header))
            return
        self._hand_over(transport, parser.rest)

    async def _start_tls(self, transport: asyncio.Transport, header: ProxyHeader) -> None:
        ssl_context = self._ctx.ssl_context
        assert ssl_context is not None
        try:
            # We stay the protocol until the handshake is done: the successor must receive
            # connection_made (with the TLS transport) before any data.
            tls_transport = await self._ctx.loop.start_tls(transport, self, ssl_context, server_side=True)
        except Exception as exc:  # a failed handshake, a client that left: nothing reached the app
            _log.debug('PROXY protocol: TLS handshake failed (%r); connection closed', exc)
            transport.abort()
            return
        finally:
            self._tls_task = None
        if tls_transport is None or tls_transport.is_closing():
            transport.abort()
            return
        if header.client is not None and header.server is not None:
            tell_addresses(tls_transport, header.client, header.server)
        early, self._early = bytes(self._early), bytearray()
        self._hand_over(tls_transport, early)

    def _hand_over(self, transport: asyncio.Transport, data: bytes) -> None:
        successor = self._make_successor()
        hand_over(transport, self, successor)
        successor.connection_made(transport)
        if data and not transport.is_closing():
            # connection_made may have handed the transport on again (ALPN h2 goes straight to
            # HTTP/2): the bytes go to whoever owns it now, or, where we still do (no switching),
            # to the successor, which forwards them in turn.
            owner = transport.get_protocol()
            target = successor if owner is self else owner
            cast(asyncio.Protocol, target).data_received(data)

    # -- giving up -----------------------------------------------------------------------------

    def _timed_out(self) -> None:
        self._timer = None
        if self._parser is not None:
            _log.debug('PROXY protocol: no complete header within the header-read timeout; connection closed')
            self._close()

    def _close(self) -> None:
        self._parser = None
        self._cancel_timer()
        transport = self._transport
        if transport is not None:
            # rloop (0.5) closes a socket it has neither written to nor shut down only when the
            # client does; an EOF first makes the close reach the client on every loop.
            if transport.can_write_eof():
                transport.write_eof()
            # Nothing was served and nothing is owed: drop the connection, unread bytes and all.
            transport.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
