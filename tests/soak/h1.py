"""A small HTTP/1.1 client on a blocking socket, parsed by h11, for the soak's HTTP/1.1 loads.

It does what the loads need and general clients hide: several requests in one write (pipelining),
reading at a set pace through a small receive buffer (a slow reader), sending a body at a set pace
(a slow writer), and resetting the connection mid-request (``SO_LINGER`` 0, then close).

Keep-alive follows what careful clients do (RFC 9112 §9.3.1 and §9.6): before reusing an idle
connection it looks whether the server has closed it meanwhile (readable while idle means EOF) and
opens a new one if so; a request written on a reused connection that the server closes before any
byte of the answer raises :class:`ServerClosed`, which the caller may retry, because the server can
close an idle connection (a worker stopping, say) just as the request is on its way. Any other
surprise is an error for the caller to record.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import h11

__all__ = ['H1Client', 'Response', 'ServerClosed', 'paced']

_RECV = 64 * 1024


class ServerClosed(Exception):
    """The connection ended before any byte of the answer; ``reused`` if it had served a request before."""

    def __init__(self, reused: bool, detail: str) -> None:
        super().__init__(detail)
        self.reused = reused


@dataclass
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    #: When the first byte of the head arrived (``time.monotonic()``).
    first_byte_at: float


def paced(rate: float, started: float, done: int) -> None:
    """Sleep until ``done`` bytes since ``started`` no longer exceed ``rate`` bytes per second."""
    ahead = done / rate - (time.monotonic() - started)
    if ahead > 0:
        time.sleep(ahead)


class H1Client:
    """One HTTP/1.1 client connection at a time to ``address``, opened on demand."""

    def __init__(self, address: tuple[str, int], *, timeout: float = 30.0, rcvbuf: int | None = None) -> None:
        self.address = address
        self.timeout = timeout
        self.rcvbuf = rcvbuf
        self.sock: socket.socket | None = None
        self.conn = h11.Connection(h11.CLIENT)
        #: Answers fully read on the current connection.
        self.served = 0
        #: Body bytes sent and received since the client was made.
        self.bytes = 0

    # -- the connection ------------------------------------------------------------------------

    def connect(self) -> socket.socket:
        """The connection to use for the next request: the idle one if the server kept it, else a new one."""
        if self.sock is not None and not self._reusable():
            self.close()
        if self.sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if self.rcvbuf is not None:
                # Before connect(), so the window offered in the handshake is already small.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.address)
            except OSError:
                sock.close()
                raise
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = sock
            self.conn = h11.Connection(h11.CLIENT)
            self.served = 0
        return self.sock

    def _reusable(self) -> bool:
        if self.conn.our_state is not h11.IDLE or self.conn.their_state is not h11.IDLE:
            return False
        assert self.sock is not None
        readable, _, _ = select.select([self.sock], [], [], 0)
        return not readable  # an idle connection has nothing to read unless the server closed it

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def reset(self) -> None:
        """Abort the connection: the kernel sends RST instead of FIN, and drops what is unsent."""
        if self.sock is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.close()

    # -- requests ------------------------------------------------------------------------------

    def _head(self, method: str, target: str, headers: Sequence[tuple[str, str]], body_size: int | None) -> bytes:
        fields = [('host', f'{self.address[0]}:{self.address[1]}'), *headers]
        if body_size is not None:
            fields.append(('content-length', str(body_size)))
        return self.conn.send(h11.Request(method=method, target=target, headers=fields)) or b''

    def send_request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | memoryview | None = None,
        headers: Sequence[tuple[str, str]] = (),
        rate: float | None = None,
        piece: int = 512,
    ) -> None:
        """Write a request; the body goes at ``rate`` bytes per second in ``piece``-sized writes when given."""
        sock = self.connect()
        head = self._head(method, target, headers, None if body is None else len(body))
        reused = self.served > 0
        try:
            sock.sendall(head)
            if body is not None:
                view = memoryview(body)
                if rate is None:
                    # h11 passes the body through without copying it (its type says bytes; any
                    # buffer works, it only takes len() and hands it back).
                    event = h11.Data(data=view)  # type: ignore[arg-type]
                    for data in self.conn.send_with_data_passthrough(event) or ():
                        sock.sendall(data)
                else:
                    started = time.monotonic()
                    for offset in range(0, len(view), piece):
                        sock.sendall(self.conn.send(h11.Data(data=bytes(view[offset : offset + piece]))) or b'')
                        paced(rate, started, offset + piece)
                self.bytes += len(view)
            sock.sendall(self.conn.send(h11.EndOfMessage()) or b'')
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The server closed the connection while we were writing. If it answered nothing
            # (no early error answer waits to be read), the caller may retry.
            if self._nothing_received():
                self.close()
                raise ServerClosed(reused, f'{type(exc).__name__} while sending') from None
            raise
        except BaseException:
            self.close()
            raise

    def _nothing_received(self) -> bool:
        assert self.sock is not None
        try:
            return not self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:  # a reset, or nothing to read yet
            return True

    def read_response(
        self,
        *,
        rate: float | None = None,
        recv_size: int = _RECV,
        on_body: Callable[[bytes], None] | None = None,
    ) -> Response:
        """Read one answer (``rate`` bytes per second at most, when given).

        ``on_body`` sees each piece of the body as it comes (it may raise to stop reading); the
        body is kept only when it is None. On any error the connection is closed: its state is
        unknown, the next request opens a new one.
        """
        try:
            return self._read_response(rate, recv_size, on_body)
        except BaseException:
            self.close()
            raise

    def _read_response(self, rate: float | None, recv_size: int, on_body: Callable[[bytes], None] | None) -> Response:
        assert self.sock is not None
        conn = self.conn
        reused = self.served > 0
        got_any = bool(conn.trailing_data[0])
        head: h11.Response | None = None
        first_byte_at = time.monotonic()
        chunks: list[bytes] = []
        started = time.monotonic()
        received = 0
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                if not got_any:
                    raise ServerClosed(reused, f'closed before the answer ({exc})') from None
                raise
            if event is h11.NEED_DATA:
                try:
                    data = self.sock.recv(recv_size)
                except ConnectionResetError:
                    if not got_any:
                        raise ServerClosed(reused, 'reset before the answer') from None
                    raise
                if data and not got_any:
                    got_any = True
                    first_byte_at = time.monotonic()
                conn.receive_data(data)
                if rate is not None and data:
                    received += len(data)
                    paced(rate, started, received)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                self.bytes += len(event.data)
                if on_body is not None:
                    on_body(bytes(event.data))
                else:
                    chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                if not got_any:
                    raise ServerClosed(reused, 'closed before the answer')
                raise ConnectionError('closed mid-answer')
        assert head is not None
        self.served += 1
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            self.close()  # the server said it closes (or did): the next request opens a new one
        return Response(head.status_code, list(head.headers), b''.join(chunks), first_byte_at)

    def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | memoryview | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Response:
        self.send_request(method, target, body=body, headers=headers)
        return self.read_response()

    def pipeline(self, targets: Sequence[str]) -> list[Response]:
        """GET every target with one write, then read the answers in order.

        h11 handles one request at a time, so the later requests are written by hand and h11 is
        told about each once the previous answer is complete; their answers wait in its buffer.
        """
        sock = self.connect()
        host = f'{self.address[0]}:{self.address[1]}'
        wire = b''.join(f'GET {target} HTTP/1.1\r\nhost: {host}\r\n\r\n'.encode() for target in targets)
        reused = self.served > 0
        try:
            sock.sendall(wire)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ServerClosed(reused, f'{type(exc).__name__} while sending') from None
        answers: list[Response] = []
        for target in targets:
            # The bytes went out already; this only moves h11's state to "request sent".
            self.conn.send(h11.Request(method='GET', target=target, headers=[('host', host)]))
            self.conn.send(h11.EndOfMessage())
            try:
                answers.append(self.read_response())
            except ServerClosed as exc:
                # Answers to the first requests came; the server closed before the rest.
                if answers:
                    raise PipelineCut(answers, str(exc)) from None
                raise
            if self.sock is None:
                if len(answers) < len(targets):
                    raise PipelineCut(answers, 'the server closed after an answer')
                break
        return answers


class PipelineCut(ServerClosed):
    """The server closed a pipelined connection after answering only the first requests."""

    def __init__(self, answers: list[Response], detail: str) -> None:
        super().__init__(True, detail)
        self.answers = answers
