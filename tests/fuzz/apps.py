"""The handler the protocol targets serve: it answers every request, and records what it saw.

It reads the whole request body, then ends with 200 (a small body, or one large enough to need
flow control). A WebSocket offer is either answered the same way (a rejection) or accepted and
echoed until the client closes. What it records lets a target tell which responses it must find
in the server's output.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from granian_http import ClientDisconnected, Exchange, ResponseStateError, WebSocketClose, WebSocketClosed

from .harness import expect

__all__ = ['App', 'Seen']

_ANSWER = [(b'content-type', b'text/plain')]


@dataclass
class Seen:
    """One request the handler got, and what became of it."""

    method: str
    http2: bool
    stream_id: int | None
    websocket: bool = False
    #: The handler's response went out to a client still connected.
    answered: bool = False


class App:
    def __init__(self, accept_websockets: bool, body: bytes = b'ok') -> None:
        self.accept_websockets = accept_websockets
        self.body = body
        self.seen: list[Seen] = []
        self.tasks: list[asyncio.Task[None]] = []

    def handle(self, exchange: Exchange) -> None:
        seen = Seen(exchange.method, exchange.http_version == '2', getattr(exchange, 'stream_id', None))
        self.seen.append(seen)
        self.tasks.append(asyncio.ensure_future(self.run(exchange, seen)))

    async def run(self, exchange: Exchange, seen: Seen) -> None:
        if exchange.websocket is not None and self.accept_websockets:
            seen.websocket = True
            session = exchange.accept_websocket()
            while not isinstance(message := await session.receive(), WebSocketClose):
                try:
                    await session.send(message)
                except WebSocketClosed:
                    return
            return
        try:
            while await exchange.read_body():
                pass
            exchange.start(200, _ANSWER)
            exchange.end(self.body)
        except ClientDisconnected:
            return
        except ResponseStateError:
            # The protocol gave up on the request (a malformed body): it answered for us.
            expect(exchange.disconnected, 'ResponseStateError on an exchange still connected')
            return
        seen.answered = not exchange.disconnected
