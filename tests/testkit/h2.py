"""Driving the HTTP/2 connection with bytes: an h2 client on one side, HTTP2Connection on the other.

Like :mod:`testkit.h1`, there is no socket: the server writes into a memory transport and the
client's bytes go straight into ``data_received``. The h2 client checks everything the server
sends is valid HTTP/2 (it raises on a protocol error), and collects responses per stream.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings

from granian_http.context import ServeContext
from granian_http.exchange import Exchange
from granian_http.h2 import PREFACE, HTTP2Connection
from granian_http.settings import HTTP2Settings
from testkit.h1 import MemoryTransport


class SwitchableTransport(MemoryTransport):
    """A memory transport whose protocol can be swapped, as selection and h2c upgrades do."""

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        assert isinstance(protocol, asyncio.Protocol)
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol


@dataclass
class Response:
    stream_id: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    informational: list[list[tuple[bytes, bytes]]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    trailers: list[tuple[bytes, bytes]] | None = None
    ended: bool = False
    reset: int | None = None

    @property
    def status(self) -> int:
        return int(dict(self.headers)[b':status'])

    def header(self, name: bytes) -> bytes | None:
        return dict(self.headers).get(name)


class Client:
    """An h2 client; ``feed`` takes the server's bytes and sorts the events into responses."""

    def __init__(self, *, window: int | None = None, auto_ack: bool = True, finish_after_goaway: bool = False) -> None:
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.auto_ack = auto_ack
        self.finish_after_goaway = finish_after_goaway
        self._partial = b''
        self.responses: dict[int, Response] = {}
        self.events: list[Any] = []
        self.goaway: h2.events.ConnectionTerminated | None = None
        self.settings: dict[int, int] = {}
        #: Request body bytes waiting for flow control window, per stream, and whether to end.
        self.outbox: dict[int, tuple[bytearray, bool]] = {}
        self.conn.initiate_connection()
        if window is not None:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})

    def keep_open(self) -> None:
        """Undo h2's client-side rule that a GOAWAY (sent or received) ends all traffic at once.

        RFC 9113 §6.8 lets the streams already open finish; real clients (curl, nghttp2) do, and
        this lets the test client do the same.
        """
        self.conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN

    def preface(self) -> bytes:
        return self.conn.data_to_send()

    def request(
        self,
        method: str = 'GET',
        path: str = '/',
        headers: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        *,
        end: bool = True,
        authority: str = 'example.com',
        stream_id: int | None = None,
        scheme: str = 'http',
    ) -> int:
        """Queue a request; ``end=False`` leaves the body open for :meth:`send_body`."""
        stream_id = stream_id or self.conn.get_next_available_stream_id()
        block = [(':method', method), (':scheme', scheme), (':authority', authority), (':path', path)]
        block += headers or []
        self.conn.send_headers(stream_id, block, end_stream=end and not body)
        self.responses[stream_id] = Response(stream_id)
        if body:
            self.send_body(stream_id, body, end)
        return stream_id

    def send_body(self, stream_id: int, data: bytes, end: bool = False) -> None:
        """Send body bytes as flow control allows; the rest goes when the server opens the window."""
        queued, _ = self.outbox.get(stream_id, (bytearray(), False))
        self.outbox[stream_id] = (queued + data, end)
        self._send_queued(stream_id)

    def _send_queued(self, stream_id: int) -> None:
        queued, end = self.outbox[stream_id]
        if not queued and end:
            self.conn.end_stream(stream_id)
        while queued:
            size = min(len(queued), self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if size <= 0:
                return
            last = end and size == len(queued)
            self.conn.send_data(stream_id, bytes(queued[:size]), end_stream=last)
            del queued[:size]
        del self.outbox[stream_id]

    def take(self) -> bytes:
        return self.conn.data_to_send()

    def feed(self, data: bytes) -> list[Any]:
        if self.finish_after_goaway:
            # Frame by frame, so that streams can still finish after a GOAWAY (see keep_open).
            events = []
            data = self._partial + data
            while len(data) >= 9 and len(data) >= 9 + int.from_bytes(data[:3], 'big'):
                size = 9 + int.from_bytes(data[:3], 'big')
                events += self.conn.receive_data(data[:size])
                data = data[size:]
                if any(isinstance(event, h2.events.ConnectionTerminated) for event in events):
                    self.keep_open()
            self._partial = data
        else:
            events = self.conn.receive_data(data)
        self.events += events
        for event in events:
            stream_id = getattr(event, 'stream_id', None)
            response = self.responses.get(stream_id) if stream_id else None
            if isinstance(event, h2.events.ResponseReceived) and response is not None:
                response.headers = list(event.headers)
            elif isinstance(event, h2.events.InformationalResponseReceived) and response is not None:
                response.informational.append(list(event.headers))
            elif isinstance(event, h2.events.DataReceived) and response is not None:
                response.body += event.data
                if self.auto_ack and event.flow_controlled_length:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.TrailersReceived) and response is not None:
                response.trailers = list(event.headers)
            elif isinstance(event, h2.events.StreamEnded) and response is not None:
                response.ended = True
            elif isinstance(event, h2.events.StreamReset) and response is not None:
                response.reset = event.error_code
            elif isinstance(event, h2.events.WindowUpdated):
                for waiting in list(self.outbox):
                    if waiting in self.conn.streams:
                        self._send_queued(waiting)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = event
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                self.settings.update({int(k): v.new_value for k, v in event.changed_settings.items()})
        return events


class Server:
    """One HTTP/2 connection on a memory transport, with a handler the test supplies."""

    def __init__(
        self,
        handler: Callable[[Exchange], None] | None = None,
        settings: HTTP2Settings | None = None,
        peer: Any = ('127.0.0.1', 50000),
        http_mode: str = 'auto',
        websockets: bool = True,
        **context: Any,
    ) -> None:
        """``context``: more ServeContext keywords (the response defaults, say)."""
        self.exchanges: list[Exchange] = []
        self.ctx = ServeContext(
            handler or self.exchanges.append,
            loop=asyncio.get_running_loop(),
            http2=settings,
            http_mode=http_mode,
            websockets=websockets,
            **context,
        )
        self.conn = HTTP2Connection(self.ctx)
        self.transport = SwitchableTransport(self.conn, peer)
        self.conn.connection_made(self.transport)

    def send(self, data: bytes) -> None:
        self.transport.protocol.data_received(data)

    @property
    def closed(self) -> bool:
        return self.transport.closing


class Pair:
    """A client and a server wired together: ``exchange()`` moves bytes both ways until quiet."""

    def __init__(self, server: Server | None = None, client: Client | None = None) -> None:
        self.server = server or Server()
        self.client = client or Client()
        self.server.send(self.client.preface())
        self.pump()

    def pump(self) -> list[Any]:
        events: list[Any] = []
        for _ in range(100):
            out = self.server.transport.take()
            if out:
                events += self.client.feed(out)
            back = self.client.take()
            if back and not self.server.closed:
                self.server.send(back)
            if not out and not back:
                break
        return events

    async def settle(self) -> list[Any]:
        """Let the loop run (app tasks, scheduled flushes) and move bytes until quiet."""
        events: list[Any] = []
        for _ in range(10):
            await asyncio.sleep(0)
            events += self.pump()
        return events


class SocketClient:
    """The h2 :class:`Client` on a real socket to a real server (cleartext or TLS with ALPN h2)."""

    def __init__(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None, **client: Any) -> None:
        sock = socket.create_connection((host, port), timeout=10)
        if ssl_context is not None:
            ssl_context.set_alpn_protocols(['h2'])
            sock = ssl_context.wrap_socket(sock, server_hostname=host)
            assert sock.selected_alpn_protocol() == 'h2'  # type: ignore[attr-defined]
        self.sock = sock
        self.client = Client(**client)
        self.sock.sendall(self.client.preface())

    def flush(self) -> None:
        data = self.client.take()
        if data:
            self.sock.sendall(data)

    def read_until(self, done: Callable[[Client], bool], timeout: float = 10.0) -> None:
        """Read and answer (ACKs, window updates) until ``done(client)`` or the server closes."""
        deadline = time.monotonic() + timeout
        self.flush()
        while not done(self.client):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('the server did not get there in time')
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                return
            self.client.feed(data)
            self.flush()

    def close(self) -> None:
        self.sock.close()


def respond(exchange: Exchange, body: bytes = b'ok', status: int = 200, headers: Any = ()) -> None:
    exchange.start(status, list(headers))
    exchange.end(body)


__all__ = ['PREFACE', 'Client', 'Pair', 'Response', 'Server', 'SocketClient', 'SwitchableTransport', 'respond']
