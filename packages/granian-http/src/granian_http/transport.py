"""What the protocols use of an asyncio transport, in one place: the two addresses (the socket's,
or those a PROXY protocol header told), write-side flow control, and handing the transport from
one protocol object to the next.

This is the I/O boundary of granian-http. Everything above it talks to these three small pieces
rather than to the transport's extras and callbacks directly, so a transport that behaves
differently (uvloop's look-alike classes, rloop's transports that cannot switch protocols) is
dealt with here once.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Protocol

__all__ = ['Forwarding', 'WriteFlow', 'forget_addresses', 'hand_over', 'tell_addresses', 'transport_addresses']


# -- addresses -------------------------------------------------------------------------------------


def _address(value: Any) -> tuple[str, int] | None:
    if type(value) is tuple and len(value) == 2 and type(value[0]) is str and type(value[1]) is int:
        return value  # an IPv4 sockaddr as it is: no copy of it held per connection
    if isinstance(value, tuple) and len(value) >= 2:
        return (str(value[0]), int(value[1]))
    return None


def transport_addresses(transport: asyncio.BaseTransport) -> tuple[tuple[str, int] | None, tuple[str, int]]:
    """The peer's ``(host, port)`` (``None`` on a Unix socket) and ours (``(path, 0)`` there), or
    the two a PROXY protocol header told for this transport (:func:`tell_addresses`).

    IPv6 peers come as 4-tuples (host, port, flowinfo, scope id); exchanges report the first two,
    which is what every interface spec asks for.
    """
    if _TOLD or _TOLD_PINNED:  # empty unless a PROXY protocol listener is serving
        told = _told(transport)
        if told is not None:
            return told
    sockname = transport.get_extra_info('sockname')
    return _address(transport.get_extra_info('peername')), _address(sockname) or (str(sockname or ''), 0)


# A PROXY protocol header (granian_http.proxy_protocol) names the client and the server address the
# proxy saw; they stand for the socket's for the whole connection, whichever protocol object asks
# (HTTP/1.1, HTTP/2 after ALPN, sniffing or an h2c upgrade, a WebSocket after HTTP/1.1). Keeping
# them here, by transport, means no protocol has to be told: each already learns its addresses
# from transport_addresses. (The other ways cost more: a transport wrapper sits on every write,
# and a constructor argument would have to travel through every hand-over.)
#
# Entries must go with their transport. Most transports take a weak reference, and their entry
# goes when they do. Some do not (rloop's, uvloop's TLS transport): those are pinned, and leave
# when the PROXY reader sees the connection end (forget_addresses; it does where the transport
# cannot switch protocols, as rloop's cannot) or, at the latest, in a sweep of closed transports
# each time the pinned table has doubled, so it stays within twice the open connections.
Addresses = tuple[tuple[str, int], tuple[str, int]]
_TOLD: weakref.WeakKeyDictionary[Any, Addresses] = weakref.WeakKeyDictionary()
_TOLD_PINNED: dict[int, tuple[Any, Addresses]] = {}
_SWEEP_FROM = 64
_sweep_at = [_SWEEP_FROM]  # a cell, not a global statement


def tell_addresses(transport: asyncio.BaseTransport, client: tuple[str, int], server: tuple[str, int]) -> None:
    """Make :func:`transport_addresses` answer ``client`` and ``server`` for ``transport`` from now on."""
    try:
        _TOLD[transport] = (client, server)
        return
    except TypeError:
        pass
    if len(_TOLD_PINNED) >= _sweep_at[0]:
        for key, (held, _) in list(_TOLD_PINNED.items()):
            if held.is_closing():
                del _TOLD_PINNED[key]
        _sweep_at[0] = max(_SWEEP_FROM, 2 * len(_TOLD_PINNED))
    _TOLD_PINNED[id(transport)] = (transport, (client, server))


def forget_addresses(transport: asyncio.BaseTransport) -> None:
    """Drop what :func:`tell_addresses` said of ``transport`` (needed only for pinned entries)."""
    _TOLD_PINNED.pop(id(transport), None)


def _told(transport: asyncio.BaseTransport) -> Addresses | None:
    pinned = _TOLD_PINNED.get(id(transport))
    if pinned is not None and pinned[0] is transport:
        return pinned[1]
    try:
        return _TOLD.get(transport)
    except TypeError:  # no weak reference to this one: it cannot be a weak key either
        return None


# -- write-side flow control -----------------------------------------------------------------------


class WriteFlow:
    """The transport's ``pause_writing``/``resume_writing`` as a flag and a wait.

    Writers check :attr:`paused` (one attribute read on the fast path) and await :meth:`drain`
    only while it is set; asyncio's own ``drain`` would cost a coroutine per write.
    """

    __slots__ = ('_loop', '_waiters', 'closed', 'paused')

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # Made by the first wait: most connections never wait, and every one holds a WriteFlow.
        self._waiters: list[asyncio.Future[None]] | None = None
        #: True while the transport's buffer is above its high-water mark.
        self.paused = False
        #: True once the transport is gone: nobody waits for it any more.
        self.closed = False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._release()

    def close(self) -> None:
        self.closed = True
        self._release()

    def _release(self) -> None:
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    async def drain(self) -> None:
        if self.paused and not self.closed:
            waiter = self._loop.create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            await waiter


# -- handing a transport over ----------------------------------------------------------------------


class Forwarding(Protocol):
    """A protocol that can pass its callbacks on to a successor it cannot hand the transport to."""

    def forward_to(self, successor: asyncio.Protocol) -> None: ...


def hand_over(transport: asyncio.BaseTransport, old: Forwarding, new: asyncio.Protocol) -> None:
    """Make ``new`` receive the transport's callbacks from now on.

    asyncio's and uvloop's transports switch protocols with ``set_protocol``; rloop's (0.5) cannot
    and raise :class:`NotImplementedError`. There the outgoing protocol stays registered and
    forwards every callback to its successor, so protocol selection, the WebSocket upgrade and the
    h2c upgrade work on every loop. Where switching works, forwarding costs nothing.
    """
    try:
        transport.set_protocol(new)
    except NotImplementedError:
        old.forward_to(new)
