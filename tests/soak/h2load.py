"""The h2c load: HTTP/2 by prior knowledge, ``h2_streams`` streams in flight on one connection.

The client is the test suite's h2 client (:class:`testkit.h2.Client`) on a non-blocking socket:
reading and writing interleave, so a large request body never blocks the client while the server
waits for it to read. It lets the streams a GOAWAY leaves open finish (RFC 9113 §6.8; httpx's h2
stack fails them instead, which would charge the server for a client limitation): a server that
stops sends GOAWAY with the last stream it accepted, must answer every stream up to it, and may
ignore the later ones, which the client sends again on a new connection (RFC 9113 §8.7, counted
as retried). A stream refused with ``REFUSED_STREAM`` is retried the same way.
"""

from __future__ import annotations

import random
import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass

import h2.errors
import h2.exceptions

from soak.loads import TRANSPORT_ERRORS, KiB, LoadContext, Wrong, check, describe
from soak.payload import digest, expected_stream, upload_answer
from testkit.h2 import Client, Response

__all__ = ['H2Session', 'h2c']

_SILENCE = 30.0


@dataclass
class _Request:
    method: str
    path: str
    body: bytes | None
    expected: bytes
    began: float
    retried: bool = False

    def verify(self, response: Response) -> int:
        check(response.status == 200, f'h2 {self.method} {self.path}: status {response.status}')
        check(bytes(response.body) == self.expected, f'h2 {self.method} {self.path}: body differs')
        return len(response.body) + len(self.body or b'')


class H2Session:
    """One h2c connection: the h2 client's bytes go out as the socket takes them, answers come in."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=_SILENCE)
        self.sock.setblocking(False)
        self.client = Client(finish_after_goaway=True)
        self.out = bytearray(self.client.preface())
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.closed = False
        #: Why the connection ended, when it did.
        self.end = ''

    def step(self, timeout: float = _SILENCE) -> bool:
        """Move bytes both ways once; False when nothing happened for ``timeout`` seconds."""
        self.out += self.client.take()
        self.selector.modify(self.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if self.out else 0))
        ready = self.selector.select(timeout)
        try:
            for _, mask in ready:
                if mask & selectors.EVENT_WRITE and self.out:
                    sent = self.sock.send(self.out)
                    del self.out[:sent]
                if mask & selectors.EVENT_READ:
                    data = self.sock.recv(256 * KiB)
                    if not data:
                        self.closed, self.end = True, 'connection closed before the answer'
                    else:
                        self.client.feed(data)
        except BlockingIOError:
            pass
        except OSError as exc:
            self.closed, self.end = True, f'{type(exc).__name__} before the answer'
        return bool(ready)

    def refused(self, stream_id: int) -> bool:
        """Whether the server's GOAWAY left ``stream_id`` unprocessed (above its last-stream-id)."""
        goaway = self.client.goaway
        return goaway is not None and stream_id > (goaway.last_stream_id or 0)

    def describe(self) -> str:
        """What the server sent, for a failure's message."""
        goaway = self.client.goaway
        sent = 'no GOAWAY'
        if goaway is not None:
            sent = f'GOAWAY last-stream-id {goaway.last_stream_id} ({goaway.error_code!r})'
        answers = sum(1 for r in self.client.responses.values() if r.headers)
        return f'{sent}, {answers} answers begun, {len(self.client.events)} events'

    def flush(self, timeout: float = _SILENCE) -> None:
        deadline = time.monotonic() + timeout
        self.out += self.client.take()
        while self.out and not self.closed and time.monotonic() < deadline:
            self.step(deadline - time.monotonic())

    def close(self) -> None:
        self.selector.close()
        self.sock.close()


def _new_request(rng: random.Random, ctx: LoadContext, index: int) -> _Request:
    now = time.monotonic()
    choice = index % 4
    if choice == 2:
        size = ctx.plan.stream_size
        return _Request('GET', f'/stream?size={size}&chunk={8 * KiB}', None, expected_stream(size), now)
    if choice == 3:
        body = rng.randbytes(rng.randint(KiB, 256 * KiB))
        return _Request('POST', '/upload', body, upload_answer(len(body), digest(body)), now)
    return _Request('GET', f'/small?i={index}', None, f'small {index}'.encode(), now)


def h2c(ctx: LoadContext, kind: str, seed: int) -> None:
    rng = random.Random(seed)
    again: deque[_Request] = deque()
    index = 0
    while ctx.running():
        try:
            session = H2Session(ctx.address)
        except OSError as exc:
            ctx.fail(kind, f'connect: {describe(exc)}')
            continue
        streams: dict[int, _Request] = {}
        try:
            while True:
                client = session.client
                while client.goaway is None and not session.closed and ctx.running():
                    if len(streams) >= ctx.plan.h2_streams:
                        break
                    if again:
                        request = again.popleft()
                    else:
                        index += 1
                        request = _new_request(rng, ctx, index)
                    streams[client.request(request.method, request.path, body=request.body)] = request
                if not streams:
                    break
                if not session.step():
                    raise TimeoutError(f'no frame for {_SILENCE:.0f} s with {len(streams)} streams open')
                _settle(ctx, kind, session, streams, again)
                if session.closed:
                    break
        except (h2.exceptions.ProtocolError, TimeoutError, *TRANSPORT_ERRORS) as exc:
            for request in streams.values():
                ctx.fail(kind, f'h2 {request.method} {request.path}: {describe(exc)}')
            streams.clear()
        finally:
            session.close()


def _settle(
    ctx: LoadContext, kind: str, session: H2Session, streams: dict[int, _Request], again: deque[_Request]
) -> None:
    """Record the streams that ended, were refused or were left unanswered by a close."""
    client = session.client
    for stream_id, request in list(streams.items()):
        response = client.responses[stream_id]
        refused = session.refused(stream_id) or response.reset == h2.errors.ErrorCodes.REFUSED_STREAM
        if response.ended:
            try:
                nbytes = request.verify(response)
            except Wrong as exc:
                ctx.fail(kind, str(exc))
            else:
                ctx.record.ok(kind, request.began, nbytes)
        elif refused and not request.retried:
            ctx.record.retried(kind, 'stream refused (above GOAWAY last-stream-id, or REFUSED_STREAM)')
            request.retried = True
            again.append(request)
            client.outbox.pop(stream_id, None)
        elif refused or response.reset is not None:
            ctx.fail(kind, f'h2 {request.method} {request.path}: reset {response.reset} (refused twice?)')
        elif session.closed:
            ctx.fail(kind, f'h2 {request.method} {request.path}: {session.end} ({session.describe()})')
        else:
            continue
        del streams[stream_id]
        del client.responses[stream_id]
