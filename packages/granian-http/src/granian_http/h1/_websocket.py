"""A WebSocket on an HTTP/1.1 connection: the 101 response and the carrier that takes over the
transport once the handshake is accepted.

After the 101 the connection is no longer HTTP: :class:`WebSocketConnection` becomes the
transport's protocol (see :func:`~granian_http.transport.hand_over`), feeds every byte to the
session and carries out its writes, closes and read pauses. It keeps the write flow of the HTTP/1.1
connection it replaces, so a pause that began before the upgrade is still honoured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ..context import ResponseDefaults, ServeContext
from ..transport import WriteFlow
from ..ws import WebSocket, accept_token
from ._response import build_head

__all__ = ['WebSocketConnection', 'accept_head']


def accept_head(
    key: bytes,
    subprotocol: str | None,
    extensions: bytes | None,
    headers: Iterable[tuple[bytes, bytes]],
    defaults: ResponseDefaults,
) -> bytes:
    """The ``101 Switching Protocols`` head, with the app's extra headers validated like any."""
    # RFC 6455 §4.2.2: Upgrade, Connection and the accept token are what the client checks.
    fields = [(b'upgrade', b'websocket'), (b'sec-websocket-accept', accept_token(key))]
    if subprotocol:
        # Only the one the app chose, which must be one the client offered (the app's duty).
        fields.append((b'sec-websocket-protocol', subprotocol.encode('latin-1')))
    if extensions:
        fields.append((b'sec-websocket-extensions', extensions))
    fields.extend(headers)
    head = build_head(101, fields, True, True, False, None, defaults)[0]  # HTTP/1.1, open, no body
    # build_head owns the connection header of ordinary responses; this one names the upgrade.
    line_end = head.index(b'\r\n') + 2
    return head[:line_end] + b'connection: Upgrade\r\n' + head[line_end:]


class WebSocketConnection(asyncio.Protocol):
    """The transport's protocol after a 101: bytes go to the session, the session writes back."""

    def __init__(self, ctx: ServeContext, transport: asyncio.Transport, flow: WriteFlow) -> None:
        self._ctx = ctx
        self._transport = transport
        self._flow = flow
        self._closed = False
        self.session: WebSocket | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        assert self.session is not None  # set before the transport is handed over
        self.session.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._flow.close()  # releases a send waiting on a paused transport
        if self.session is not None:
            self.session.connection_lost()
        self._ctx.connection_lost(self)

    def pause_writing(self) -> None:
        self._flow.pause()

    def resume_writing(self) -> None:
        self._flow.resume()

    # -- WebSocketCarrier ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        if self._transport.is_closing() and self.session is not None:
            # Reset by the client: tell the session now rather than on a later loop turn (an app
            # sending in a loop that never waits would not reach it); its next send raises.
            self.session.connection_lost()
            return
        self._transport.write(data)

    def close(self) -> None:
        if not self._closed:
            self._end_writing()
            self._transport.close()

    def abort(self) -> None:
        # No TLS close_notify, no flush: the session gives up on a client that ignored its close
        # or our keep-alive ping.
        if not self._closed:
            self._end_writing()
            self._transport.abort()

    def _end_writing(self) -> None:
        # rloop (0.5) sends no FIN on close() or abort() (tried: the client waits in vain), and a
        # client that expects us to end TCP first (RFC 6455 §7.1.1), or a dead one, never ends it
        # itself; an EOF first (after what is buffered) makes the end reach the client on every
        # loop, as the PROXY protocol reader found too. TLS transports cannot, and need not.
        transport = self._transport
        if transport.is_closing():
            return
        try:
            writes_eof = transport.can_write_eof()
        except NotImplementedError:  # asyncio's base class: a transport that does not say cannot
            return
        if writes_eof:
            transport.write_eof()

    def pause_reading(self) -> None:
        if not self._closed:
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if not self._closed:
            self._transport.resume_reading()

    @property
    def write_paused(self) -> bool:
        return self._flow.paused

    async def drain(self) -> None:
        await self._flow.drain()

    # -- ManagedConnection ---------------------------------------------------------------------

    def pause_admission(self) -> None:
        pass  # admitted as an HTTP connection already

    def resume_admission(self) -> None:
        pass

    def shutdown(self) -> None:
        # RFC 6455 §7.4.1: 1001 "going away" is the code for a server that stops; the close
        # handshake (bounded by the session's close timeout) then ends the connection.
        if self.session is not None:
            self.session.close(1001, 'Server shutting down')
        else:
            self.close()
