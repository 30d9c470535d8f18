"""The Prometheus endpoint, served by the main process inside the supervisor's wait loop.

No thread and no event loop: the listening socket and its few client sockets are waited on next to
the worker sentinels. Any path answers with the exposition format. A client has a few seconds to
send its request head, and at most a handful of clients are kept, so a slow or hostile scraper
cannot hold the supervisor.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterable

from .listeners import bind_tcp
from .metrics import CONTENT_TYPE

__all__ = ['MetricsExporter']

_MAX_CLIENTS = 16
_CLIENT_TIMEOUT = 5.0
_MAX_HEAD = 16384


class MetricsExporter:
    def __init__(self, address: str, port: int, render: Callable[[], bytes]) -> None:
        self._render = render
        # A bind failure is a ConfigurationError naming the metrics_* option to change.
        self._listener = bind_tcp(address, port, 64, address_option='metrics_address', port_option='metrics_port')
        self._clients: dict[socket.socket, tuple[bytearray, float]] = {}

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        host = f'[{host}]' if ':' in host else host
        return f'http://{host}:{port}'

    def waitables(self) -> list[socket.socket]:
        return [self._listener, *self._clients]

    def next_deadline(self) -> float | None:
        return min((deadline for _, deadline in self._clients.values()), default=None)

    def handle(self, ready: Iterable[object], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for sock in ready:
            if sock is self._listener:
                self._accept(now)
            elif isinstance(sock, socket.socket) and sock in self._clients:
                self._read(sock)
        for sock, (_, deadline) in list(self._clients.items()):
            if deadline <= now:
                self._drop(sock)

    def _accept(self, now: float) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            if len(self._clients) >= _MAX_CLIENTS:
                oldest = min(self._clients, key=lambda client: self._clients[client][1])
                self._drop(oldest)
            self._clients[sock] = (bytearray(), now + _CLIENT_TIMEOUT)

    def _read(self, sock: socket.socket) -> None:
        buf, _ = self._clients[sock]
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(sock)
            return
        if not data:
            self._drop(sock)
            return
        buf += data
        if b'\r\n\r\n' in buf or b'\n\n' in buf or len(buf) > _MAX_HEAD:
            self._respond(sock)

    def _respond(self, sock: socket.socket) -> None:
        body = self._render()
        head = (
            'HTTP/1.1 200 OK\r\n'
            f'content-type: {CONTENT_TYPE}\r\n'
            f'content-length: {len(body)}\r\n'
            'connection: close\r\n\r\n'
        ).encode('ascii')
        try:
            # A few kilobytes fit in the socket buffer: this does not wait in practice, and the
            # timeout bounds it if a client never reads.
            sock.settimeout(1.0)
            sock.sendall(head + body)
        except OSError:
            pass
        self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        self._clients.pop(sock, None)
        # shutdown() and not just close(): a worker forked meanwhile holds a copy of the descriptor.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def close(self) -> None:
        for sock in list(self._clients):
            self._drop(sock)
        self._listener.close()
