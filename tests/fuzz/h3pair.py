"""An HTTP/3 server and an aioquic client joined in memory: no socket, datagrams handed across.

The server is the real thing from the endpoint down (:class:`granian_http.h3._endpoint.HTTP3Endpoint`
on a datagram transport that records what it sends, so its own datagram parsing is exercised
too); the client is aioquic's sans-IO ``QuicConnection`` and ``H3Connection``, which the fuzz
target drives frame by frame, and which reads the server's answers as any HTTP/3 client would.
Time is the loop's (the target runs on the virtual clock of :mod:`.virtualtime`).

What the client sees is kept per request stream (:class:`StreamSeen`), with every close the client
made on its own (:attr:`H3Pair.complaints`): the client closes only when the server broke the
protocol, so any complaint is a property failure.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime
import shutil
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated, StreamReset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from granian_http import ServeContext
from granian_http.h3 import quic_configuration
from granian_http.h3._connection import HTTP3Connection
from granian_http.h3._endpoint import HTTP3Endpoint
from granian_http.settings import HTTP3Settings
from granian_http.tls import TLSConfig

from .harness import PropertyFailure, settle

__all__ = ['CLIENT', 'SERVER', 'H3Pair', 'StreamSeen']

SERVER = ('127.0.0.1', 443)
CLIENT = ('127.0.0.1', 50000)
#: Datagram exchanges in one :meth:`H3Pair.pump` at most (each a round trip's worth): a few
#: hundred carry a dozen 70 KB responses through congestion control.
_PUMP_ROUNDS = 2000
#: While pumping, timers this close are let fire (ACK delay, probe timeouts); later ones (the idle
#: timeout) only when the target lets time pass on purpose.
_TIMER_HORIZON = 1.0


def _certificate(directory: Path) -> TLSConfig:
    """A self-signed P-256 certificate (fast to sign with, as every input has a handshake)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost')]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (directory / 'cert.pem').write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / 'key.pem').write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return TLSConfig(cert=str(directory / 'cert.pem'), key=str(directory / 'key.pem'))


_tls: TLSConfig | None = None


def _server_tls() -> TLSConfig:
    # Made once per process: quic_configuration reads the files, as a worker does.
    global _tls
    if _tls is None:
        directory = Path(tempfile.mkdtemp(prefix='granian-fuzz-h3-'))
        atexit.register(shutil.rmtree, directory, True)
        _tls = _certificate(directory)
    return _tls


class _MemoryDatagrams(asyncio.DatagramTransport):
    """The server's UDP socket: what it sends is kept, by address."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[bytes, Any]] = []

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return SERVER if name == 'sockname' else default

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.sent.append((bytes(data), addr))

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


class _Client(QuicConnection):
    """aioquic's client connection, with every close it makes on its own recorded."""

    def __init__(self, configuration: QuicConfiguration) -> None:
        super().__init__(configuration=configuration)
        self.complaints: list[str] = []
        self.closing_on_purpose = False

    def close(self, error_code: int = 0, frame_type: int | None = None, reason_phrase: str = '') -> None:
        if not self.closing_on_purpose:
            self.complaints.append(f'{error_code:#x} {reason_phrase}')
        super().close(error_code, frame_type, reason_phrase)


@dataclass
class StreamSeen:
    """What the client saw on one request stream."""

    #: The statuses of the response heads, interim ones included, in order.
    statuses: list[bytes] = field(default_factory=list)
    body: int = 0
    ended: bool = False
    #: The server's RESET_STREAM error code.
    reset: int | None = None

    @property
    def final(self) -> bytes | None:
        for status in self.statuses:
            if not status.startswith(b'1'):
                return status
        return None


class H3Pair:
    """One server connection and the client talking to it."""

    def __init__(self, ctx: ServeContext, settings: HTTP3Settings) -> None:
        self.ctx = ctx
        self.loop = ctx.loop
        self.transport = _MemoryDatagrams()
        self.endpoint = HTTP3Endpoint(ctx, settings, quic_configuration(_server_tls(), settings), b'FUZZ')
        self.endpoint.connection_made(self.transport)
        # QUIC's idle timeout is the smaller of the two sides': the server's decides.
        # Small receive windows: a response of a few packets already waits for the client's
        # window updates (the target's large body is 24 KB), without costing many round trips.
        configuration = QuicConfiguration(
            is_client=True,
            alpn_protocols=H3_ALPN,
            server_name='localhost',
            idle_timeout=600.0,
            max_stream_data=8192,
            max_data=32768,
        )
        configuration.verify_mode = ssl.CERT_NONE
        self.client = _Client(configuration)
        self.h3 = H3Connection(self.client)
        self.streams: dict[int, StreamSeen] = {}
        #: How the connection ended for the client: the server's CONNECTION_CLOSE, or the idle
        #: timeout (``None`` while open).
        self.closed: ConnectionTerminated | None = None
        #: Every server connection the endpoint accepted (normally one).
        self.connections: list[HTTP3Connection] = []

    @property
    def complaints(self) -> list[str]:
        return self.client.complaints

    def connect(self) -> None:
        self.client.connect(SERVER, now=self.loop.time())

    def server_connection(self) -> HTTP3Connection | None:
        return self.connections[0] if self.connections else None

    # -- datagrams both ways ---------------------------------------------------------------------

    async def pump(self, rounds: int = _PUMP_ROUNDS) -> None:
        """Pass datagrams both ways until neither side has anything to say (letting near timers
        fire, as the network's delays would)."""
        loop = self.loop
        for _ in range(rounds):
            moved = False
            for data, _addr in self.client.datagrams_to_send(loop.time()):
                self.endpoint.datagram_received(data, CLIENT)
                moved = True
            self._note_connections()
            await settle()
            moved = self._deliver_to_client() or moved
            if moved:
                continue
            deadline = self._next_deadline()
            if deadline is None or deadline - loop.time() > _TIMER_HORIZON:
                return
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            self._client_timer()
        raise PropertyFailure(f'datagrams still flowing after {rounds} exchanges')

    async def wait(self, seconds: float) -> None:
        """Let ``seconds`` of (virtual) time pass before the client hears from the server again
        (an idle client, a slow network), then pump."""
        await asyncio.sleep(seconds)
        self._client_timer()
        await self.pump()

    def send_raw_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        self.endpoint.datagram_received(data, addr)
        self._note_connections()

    def _note_connections(self) -> None:
        for conn in self.endpoint._cids.values():
            if conn not in self.connections:
                self.connections.append(conn)

    def _deliver_to_client(self) -> bool:
        sent, self.transport.sent = self.transport.sent, []
        now = self.loop.time()
        for data, addr in sent:
            if addr == CLIENT:  # answers to the raw datagrams' other addresses go nowhere
                self.client.receive_datagram(data, SERVER, now)
        self._client_events()
        return bool(sent)

    def _client_timer(self) -> None:
        deadline = self.client.get_timer()
        if deadline is not None and deadline <= self.loop.time():
            self.client.handle_timer(self.loop.time())
            self._client_events()

    def _next_deadline(self) -> float | None:
        deadlines = [self.client.get_timer()]
        deadlines += [conn.quic.get_timer() for conn in self.connections if not conn.closed]
        present = [deadline for deadline in deadlines if deadline is not None]
        return min(present) if present else None

    def _client_events(self) -> None:
        while (event := self.client.next_event()) is not None:
            if isinstance(event, StreamReset):
                self.seen(event.stream_id).reset = event.error_code
            for h3_event in self.h3.handle_event(event):
                if isinstance(h3_event, HeadersReceived):
                    seen = self.seen(h3_event.stream_id)
                    if seen.final is None:
                        seen.statuses.append(dict(h3_event.headers).get(b':status', b''))
                    seen.ended = seen.ended or h3_event.stream_ended
                elif isinstance(h3_event, DataReceived):
                    seen = self.seen(h3_event.stream_id)
                    seen.body += len(h3_event.data)
                    seen.ended = seen.ended or h3_event.stream_ended
        # How the connection ended is read from its state as soon as the close arrives (the
        # ConnectionTerminated event waits for the client's draining period). A close the client
        # made itself is a complaint instead.
        close = self.client._close_event
        if close is not None and self.closed is None and not self.client.closing_on_purpose and not self.complaints:
            self.closed = close

    def seen(self, stream_id: int) -> StreamSeen:
        seen = self.streams.get(stream_id)
        if seen is None:
            seen = self.streams[stream_id] = StreamSeen()
        return seen

    # -- the end -------------------------------------------------------------------------------

    async def close(self, silent: bool, linger: float) -> None:
        """The client closes the connection (or, ``silent``, just stops answering), then
        ``linger`` seconds pass: enough for the server's draining period, or its idle timeout."""
        self.client.closing_on_purpose = True
        if not silent:
            self.client.close()
            await self.pump()
        await asyncio.sleep(linger)
        self.transport.sent.clear()
