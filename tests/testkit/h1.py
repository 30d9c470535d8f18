"""Driving protocol classes with bytes: an in-memory transport and an h11 client to talk to them.

The transport is the I/O boundary, nothing more: it records what the protocol writes, reports
closes and pauses, and exposes the flow-control callbacks so tests can exercise them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import h11

from granian_http.context import ServeContext
from granian_http.exchange import Exchange
from granian_http.h1 import HTTP1Connection
from granian_http.settings import HTTP1Settings


class MemoryTransport(asyncio.Transport):
    def __init__(self, protocol: asyncio.Protocol, peer: Any = ('127.0.0.1', 50000)) -> None:
        super().__init__()
        self.protocol = protocol
        self.peer = peer
        self.written = bytearray()
        self.closing = False
        self.lost = False
        self.reading = True
        self.writes = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == 'peername':
            return self.peer
        if name == 'sockname':
            return ('127.0.0.1', 8000) if isinstance(self.peer, tuple) else '/tmp/granian.sock'
        return default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closing, 'write after close'
        self.writes += 1
        self.written += data

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self._lose)

    def abort(self) -> None:
        self.close()

    def _lose(self) -> None:
        if not self.lost:
            self.lost = True
            self.protocol.connection_lost(None)

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        assert isinstance(protocol, asyncio.Protocol)
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol

    def receive(self, data: bytes) -> None:
        """Deliver bytes to whichever protocol owns the transport now."""
        self.protocol.data_received(data)

    def take(self) -> bytes:
        data = bytes(self.written)
        self.written.clear()
        return data


#: The parser a Server uses when its settings leave the choice to 'auto': tests/http/conftest.py
#: sets it to each parser in turn, so every HTTP/1.1 protocol test runs against each.
DEFAULT_PARSER = 'auto'


class Server:
    """One HTTP/1.1 connection on a memory transport, with a handler the test supplies."""

    def __init__(
        self,
        handler: Callable[[Exchange], None] | None = None,
        settings: HTTP1Settings | None = None,
        max_connections: int | None = None,
        peer: Any = ('127.0.0.1', 50000),
        **context: Any,
    ) -> None:
        """``context``: more ServeContext keywords (the response defaults, say)."""
        self.exchanges: list[Exchange] = []
        settings = settings or HTTP1Settings()
        if settings.parser == 'auto':
            settings = dataclasses.replace(settings, parser=DEFAULT_PARSER)
        self.ctx = ServeContext(
            handler or self.exchanges.append,
            loop=asyncio.get_running_loop(),
            http1=settings,
            max_connections=max_connections,
            **context,
        )
        self.conn, self.transport = self.connect(peer)

    def connect(self, peer: Any = ('127.0.0.1', 50000)) -> tuple[HTTP1Connection, MemoryTransport]:
        conn = HTTP1Connection(self.ctx)
        transport = MemoryTransport(conn, peer)
        conn.connection_made(transport)
        return conn, transport

    def send(self, data: bytes) -> None:
        self.conn.data_received(data)


class Client:
    """An h11 client that turns requests into bytes and server bytes back into events."""

    def __init__(self) -> None:
        self.conn = h11.Connection(h11.CLIENT)
        self._response: h11.Response | None = None
        self._body = bytearray()

    def request(
        self,
        method: str = 'GET',
        target: str = '/',
        headers: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
    ) -> bytes:
        headers = [('host', 'example.com'), *(headers or [])]
        if body is not None and not any(name.lower() in ('content-length', 'transfer-encoding') for name, _ in headers):
            headers.append(('content-length', str(len(body))))
        data = self.conn.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            data += self.conn.send(h11.Data(data=body))
        if body is not None or method in ('GET', 'HEAD', 'DELETE', 'OPTIONS'):
            data += self.conn.send(h11.EndOfMessage())
        return data

    def responses(self, data: bytes) -> list[tuple[h11.Response, bytes]]:
        """Parse every response completed by ``data``; h11 checks it is valid HTTP/1.1.

        A response may arrive over several calls: the partial one is kept until its end.
        """
        self.conn.receive_data(data)
        out: list[tuple[h11.Response, bytes]] = []
        while True:
            event = self.conn.next_event()
            if isinstance(event, h11.Response):
                self._response = event
            elif isinstance(event, h11.Data):
                self._body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert self._response is not None
                out.append((self._response, bytes(self._body)))
                self._response, self._body = None, bytearray()
                if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
                    self.conn.start_next_cycle()
            elif isinstance(event, h11.InformationalResponse):
                continue
            else:
                return out


def header(response: h11.Response, name: bytes) -> bytes | None:
    for key, value in response.headers:
        if key == name:
            return bytes(value)
    return None


def respond(exchange: Exchange, body: bytes = b'ok', status: int = 200, headers: Any = ()) -> None:
    exchange.start(status, list(headers))
    exchange.end(body)


async def settle() -> None:
    """Let callbacks scheduled by the protocol (closes, pipelined requests) run."""
    for _ in range(5):
        await asyncio.sleep(0)
