"""A worker's UDP socket: datagrams to connections by connection ID, new connections from Initial
packets, and datagrams that belong to another worker forwarded to it.

Every worker binds its own UDP socket on the server's address and port (``SO_REUSEPORT``), and
the kernel spreads datagrams over the sockets by a hash of the client's address and port. That
keeps a connection on one worker only while the set of sockets does not change; when a worker
joins or leaves (a rolling restart, a respawn), part of the clients hash to another socket. So
every connection ID we issue starts with its owner's prefix (:mod:`._aioquic`), and a datagram
for a connection ID that is not ours goes to the owner over the :class:`~._forward.Forwarder`,
which answers from its own socket (same port, so the client sees no difference). Initial packets
with a client-chosen connection ID are served by whoever gets them, except by a worker that is
stopping: it hands them to a sibling, so that the clients that hash to its socket still connect.

Datagrams are read in batches (every datagram waiting on the socket, up to :data:`READ_BATCH`, per
wake-up; asyncio's datagram transport reads one per loop turn) and what the connections have to
send is sent once, after the batch (:meth:`HTTP3Endpoint.schedule`), so a burst of datagrams is
acknowledged and answered together. A loop without ``add_reader`` gets the datagram transport.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, cast

from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE, QuicConfiguration
from aioquic.quic.packet import QuicPacketType, encode_quic_version_negotiation

from ..context import ServeContext
from ..settings import HTTP3Settings
from ._aioquic import CID_LENGTH, PREFIX_LENGTH, ServerQuic, read_header
from ._connection import HTTP3Connection
from ._forward import Forwarder

__all__ = ['HTTP3Endpoint']

_log = logging.getLogger('_granian')

#: Datagrams read per wake-up at most, so that one busy socket cannot starve the rest of the loop.
READ_BATCH = 64
_MAX_DATAGRAM = 65535


def _pem(configuration: QuicConfiguration) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return str(configuration.certificate.public_bytes(Encoding.PEM).decode('ascii'))


class HTTP3Endpoint(asyncio.DatagramProtocol):
    """The ``asyncio.DatagramProtocol`` of one worker's UDP socket (the connections' ``EndpointLink``)."""

    def __init__(
        self,
        ctx: ServeContext,
        settings: HTTP3Settings,
        configuration: QuicConfiguration,
        prefix: bytes,
        forwarder: Forwarder | None = None,
    ) -> None:
        self.ctx = ctx
        self._settings = settings
        self._configuration = configuration
        self._prefix = prefix
        self._forwarder = forwarder
        self._loop = ctx.loop
        self._transport: asyncio.DatagramTransport | None = None
        #: The socket, when we read it ourselves (``add_reader``), else ``None``.
        self._sock: socket.socket | None = None
        self._server: tuple[str, int] | None = None
        self.server_cert = _pem(configuration)
        #: Every connection ID a connection answers to (ours, and the client's original one).
        self._cids: dict[bytes, HTTP3Connection] = {}
        self._dirty: set[HTTP3Connection] = set()
        self._flush_handle: asyncio.Handle | None = None
        #: Datagrams passed to another worker, and received from one (for the metrics).
        self.forwarded = 0
        self.adopted = 0
        self.accepted = 0

    # -- the socket ------------------------------------------------------------------------------

    async def start(self, sock: socket.socket) -> None:
        """Serve ``sock``: read in batches where the loop lets us, else through a datagram transport."""
        sockname = sock.getsockname()
        self._server = (sockname[0], sockname[1])
        sock.setblocking(False)
        try:
            self._loop.add_reader(sock.fileno(), self._read_ready)
        except NotImplementedError:
            await self._loop.create_datagram_endpoint(lambda: self, sock=sock)
            return
        self._sock = sock

    def _read_ready(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(READ_BATCH):
            try:
                data, addr = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an ICMP error reported on the socket: not fatal
                self.error_received(exc)
                return
            self._receive(data, addr, False)

    # -- asyncio.DatagramProtocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        sockname = transport.get_extra_info('sockname')
        self._server = (sockname[0], sockname[1]) if sockname else None

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._receive(data, addr, False)

    def _receive(self, data: bytes, addr: Any, adopted: bool) -> None:
        try:
            header = read_header(data)
        except ValueError:
            return  # not QUIC: no answer (an answer would make us a reflector)
        cid = header.destination_cid
        conn = self._cids.get(cid)
        if conn is not None:
            conn.receive(data, addr, self._loop.time())
            return
        # A datagram another worker sent us is never passed on again: two stopping workers would
        # otherwise hand a new connection back and forth.
        forwarder = None if adopted else self._forwarder
        if (
            forwarder is not None
            and len(cid) == CID_LENGTH
            and cid[:PREFIX_LENGTH] != self._prefix
            and forwarder.send(cid[:PREFIX_LENGTH], data, addr)
        ):
            self.forwarded += 1
            return
        if header.packet_type != QuicPacketType.INITIAL or len(data) < SMALLEST_MAX_DATAGRAM_SIZE:
            return  # for a connection we do not know (any more): dropped, the client times out
        if header.version not in self._configuration.supported_versions:
            # RFC 9000 §6: tell the client which versions we speak (a packet of version 0 is a
            # version negotiation itself and gets no answer, or two servers could loop).
            if header.version:
                self.send(
                    encode_quic_version_negotiation(
                        source_cid=cid,
                        destination_cid=header.source_cid,
                        supported_versions=self._configuration.supported_versions,
                    ),
                    addr,
                )
            return
        if self.ctx.closing and forwarder is not None and forwarder.send_to_sibling(data, addr):
            # Stopping: a sibling takes the new connection (its answers come from the same port).
            self.forwarded += 1
            return
        self._accept(cid, data, addr)

    def _accept(self, cid: bytes, data: bytes, addr: Any) -> None:
        self.accepted += 1
        quic = ServerQuic(
            configuration=self._configuration,
            original_destination_connection_id=cid,
            cid_prefix=self._prefix,
            max_streams=self._settings.max_concurrent_streams,
        )
        conn = HTTP3Connection(self, self.ctx, self._settings, quic, (addr[0], addr[1]), self._server)
        # The client keeps using its own choice of ID until our first packet reaches it.
        self._cids[cid] = conn
        self._cids[quic.host_cid] = conn
        conn.receive(data, addr, self._loop.time())

    def adopt(self, data: bytes, addr: tuple[str, int]) -> None:
        """A datagram another worker received for one of our connections (or for a new one)."""
        self.adopted += 1
        self._receive(data, addr, True)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (a client that went away): the connection's idle timer ends it.
        _log.debug('HTTP/3 socket error: %s', exc)

    # -- EndpointLink: what the connections use ------------------------------------------------

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        sock = self._sock
        if sock is not None:
            try:
                sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                pass  # the socket buffer is full: a lost datagram, which QUIC recovers from
            except OSError as exc:
                self.error_received(exc)
        elif self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, addr)

    def schedule(self, conn: HTTP3Connection) -> None:
        self._dirty.add(conn)
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        dirty, self._dirty = self._dirty, set()
        for conn in dirty:
            conn.transmit()

    def cid_issued(self, cid: bytes, conn: HTTP3Connection) -> None:
        self._cids[cid] = conn

    def cid_retired(self, cid: bytes) -> None:
        self._cids.pop(cid, None)

    def connection_closed(self, conn: HTTP3Connection) -> None:
        for cid in [cid for cid, owner in self._cids.items() if owner is conn]:
            del self._cids[cid]
        self._dirty.discard(conn)

    def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._sock is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._transport is not None:
            self._transport.close()
        if self._forwarder is not None:
            self._forwarder.close()
