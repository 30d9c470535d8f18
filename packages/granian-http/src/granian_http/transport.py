"""What the protocols use of an asyncio transport, in one place: the two addresses, write-side
flow control, and handing the transport from one protocol object to the next.

This is the I/O boundary of granian-http. Everything above it talks to these three small pieces
rather than to the transport's extras and callbacks directly, so a transport that behaves
differently (uvloop's look-alike classes, rloop's transports that cannot switch protocols) is
dealt with here once.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

__all__ = ['Forwarding', 'WriteFlow', 'hand_over', 'transport_addresses']


# -- addresses -------------------------------------------------------------------------------------


def _address(value: Any) -> tuple[str, int] | None:
    if isinstance(value, tuple) and len(value) >= 2:
        return (str(value[0]), int(value[1]))
    return None


def transport_addresses(transport: asyncio.BaseTransport) -> tuple[tuple[str, int] | None, tuple[str, int]]:
    """The peer's ``(host, port)`` (``None`` on a Unix socket) and ours (``(path, 0)`` there).

    IPv6 peers come as 4-tuples (host, port, flowinfo, scope id); exchanges report the first two,
    which is what every interface spec asks for.
    """
    sockname = transport.get_extra_info('sockname')
    return _address(transport.get_extra_info('peername')), _address(sockname) or (str(sockname or ''), 0)


# -- write-side flow control -----------------------------------------------------------------------


class WriteFlow:
    """The transport's ``pause_writing``/``resume_writing`` as a flag and a wait.

    Writers check :attr:`paused` (one attribute read on the fast path) and await :meth:`drain`
    only while it is set; asyncio's own ``drain`` would cost a coroutine per write.
    """

    __slots__ = ('_loop', '_waiters', 'closed', 'paused')

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiters: list[asyncio.Future[None]] = []
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
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def drain(self) -> None:
        if self.paused and not self.closed:
            waiter = self._loop.create_future()
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
