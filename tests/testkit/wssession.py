"""A WebSocket session on a memory carrier, a wsproto client joined to it, and a clock to drive its
timers: the session's unit tests use these instead of a socket."""

from __future__ import annotations

import asyncio
from typing import Any

from wsproto.connection import Connection, ConnectionType
from wsproto.extensions import PerMessageDeflate

from granian_http import WebSocketSettings
from granian_http.ws import WebSocket, negotiate_extensions

__all__ = ['Carrier', 'Clock', 'Pair']


class Carrier:
    """The session's carrier: it keeps what the session writes and how it closed."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.closed = False
        self.aborted = False
        self.reading = True
        self.write_paused = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.out += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = self.aborted = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    async def drain(self) -> None:
        pass


class Clock:
    """The session's loop, whose time moves only when the test says (:meth:`advance`).

    Timers are the loop's own ``TimerHandle`` objects, so cancelling one works as usual; futures
    are the running loop's, so ``receive`` still waits for real.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.now = 0.0
        self._timers: list[asyncio.TimerHandle] = []

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        handle = asyncio.TimerHandle(self.now + delay, callback, args, self._loop)
        self._timers.append(handle)
        return handle

    def create_future(self) -> asyncio.Future[Any]:
        return self._loop.create_future()

    @property
    def pending(self) -> list[float]:
        """When the timers not cancelled nor fired yet are due."""
        return sorted(handle.when() for handle in self._timers if not handle.cancelled())

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds``, running each timer due on the way at its own time."""
        target = self.now + seconds
        while True:
            due = [handle for handle in self._timers if not handle.cancelled() and handle.when() <= target]
            if not due:
                break
            handle = min(due, key=lambda handle: handle.when())
            self._timers.remove(handle)
            self.now = handle.when()
            handle._run()
        self.now = target


class Pair:
    """A session and a wsproto client joined through the carrier.

    ``settings`` are :class:`~granian_http.WebSocketSettings` fields; ``clock`` replaces the
    running loop for the session's timers.
    """

    def __init__(
        self,
        extensions: list[str] | None = None,
        close_timeout: float = 5.0,
        clock: Clock | None = None,
        **settings: Any,
    ) -> None:
        self.carrier = Carrier()
        # As the protocols do: one limit for the reassembled message and for inflation.
        self.settings = WebSocketSettings(**settings)
        server_extensions, header = negotiate_extensions(extensions or [], self.settings.max_message_size)
        client_extensions = []
        if header:
            client_deflate = PerMessageDeflate()
            client_deflate.finalize(header.decode())
            client_extensions.append(client_deflate)
        loop: Any = clock if clock is not None else asyncio.get_running_loop()
        self.session = WebSocket(
            self.carrier,  # type: ignore[arg-type]
            loop,
            server_extensions,
            settings=self.settings,
            close_timeout=close_timeout,
        )
        self.client = Connection(ConnectionType.CLIENT, client_extensions)

    def send(self, event: object) -> None:
        self.session.feed(self.client.send(event))  # type: ignore[arg-type]

    def events(self) -> list[object]:
        self.client.receive_data(bytes(self.carrier.out))
        self.carrier.out.clear()
        return list(self.client.events())
