"""Datagrams between the workers of one server: a Unix datagram socket per worker, named by the
worker's connection ID prefix, in a directory the main process made for the server.

A worker that receives a QUIC datagram for another worker's connection ID sends it here, with the
client's address in front; the owner's :class:`Forwarder` hands it to its endpoint as if its own
UDP socket had received it, and the owner answers the client from its own UDP socket (bound to
the same address and port). A socket that is gone (its worker exited, and its connections with
it) makes :meth:`Forwarder.send` return ``False``, and the datagram is treated as unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

__all__ = ['Forwarder', 'worker_prefix']

# Client address in front of the datagram: family-agnostic text host, then the port.
_HEAD = struct.Struct('!BH')


def worker_prefix(key: bytes) -> bytes:
    """This process's 4-byte connection ID prefix: its PID, masked with the server's random key so
    that connection IDs do not show PIDs."""
    return ((os.getpid() & 0xFFFFFFFF) ^ int.from_bytes(key[:4], 'big')).to_bytes(4, 'big')


class Forwarder:
    """This worker's mailbox, and the way to the other workers' ones."""

    def __init__(self, directory: str, prefix: bytes) -> None:
        self._directory = directory
        self._prefix = prefix
        self._path = os.path.join(directory, prefix.hex())
        self._sock: socket.socket | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._next_sibling = 0

    async def start(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[bytes, tuple[str, int]], None]) -> None:
        """Open the mailbox; ``deliver`` gets each datagram forwarded to us, with its client address."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)  # a PID reused after a crash
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(self._path)
        sock.setblocking(False)
        self._sock = sock
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Mailbox(deliver), sock=sock)

    def send(self, owner: bytes, data: bytes, addr: Any) -> bool:
        """Forward a datagram to the worker whose prefix is ``owner``; ``False`` if there is none."""
        return self._send_to(os.path.join(self._directory, owner.hex()), data, addr)

    def send_to_sibling(self, data: bytes, addr: Any) -> bool:
        """Forward a new connection's first datagram to any other live worker."""
        try:
            names = sorted(name for name in os.listdir(self._directory) if name != self._prefix.hex())
        except OSError:
            return False
        for _ in range(len(names)):
            # Round robin, so that a stopping worker's share is spread over the others.
            self._next_sibling = (self._next_sibling + 1) % len(names)
            if self._send_to(os.path.join(self._directory, names[self._next_sibling]), data, addr):
                return True
        return False

    def _send_to(self, path: str, data: bytes, addr: Any) -> bool:
        if self._sock is None:
            return False
        host = addr[0].encode('ascii')
        try:
            self._sock.sendto(_HEAD.pack(len(host), addr[1]) + host + data, path)
        except BlockingIOError:
            return True  # the owner is busy: dropped, as a full UDP buffer would drop it
        except OSError:
            return False  # no such worker (any more)
        return True

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self._sock = None
        with contextlib.suppress(OSError):
            os.unlink(self._path)


class _Mailbox(asyncio.DatagramProtocol):
    def __init__(self, deliver: Callable[[bytes, tuple[str, int]], None]) -> None:
        self._deliver = deliver

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            length, port = _HEAD.unpack_from(data)
            host = data[_HEAD.size : _HEAD.size + length].decode('ascii')
        except (struct.error, UnicodeDecodeError):
            return  # not from a sibling (the directory is the server's own; still, never crash)
        self._deliver(data[_HEAD.size + length :], (host, port))
