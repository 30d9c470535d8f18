"""Handing a connection's transport from one protocol object to the next.

asyncio's and uvloop's transports switch protocols with ``set_protocol``; rloop's (0.5) cannot
and raise :class:`NotImplementedError`. There the outgoing protocol stays registered and forwards
every transport callback to its successor instead, so protocol selection, the WebSocket upgrade
and the h2c upgrade work on every loop. The forwarding costs nothing where switching works.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

__all__ = ['Forwarding', 'hand_over']


class Forwarding(Protocol):
    """A protocol that can pass its callbacks on to a successor it cannot hand the transport to."""

    def forward_to(self, successor: asyncio.Protocol) -> None: ...


def hand_over(transport: asyncio.BaseTransport, old: Forwarding, new: asyncio.Protocol) -> None:
    """Make ``new`` receive the transport's callbacks from now on."""
    try:
        transport.set_protocol(new)
    except NotImplementedError:
        old.forward_to(new)
