"""The HTTP/1.1 and WebSocket loads: each runs in its own thread until the soak's end.

Every request checks what it asked for (status, body byte for byte or by checksum, order of
pipelined answers) and lands in the :class:`~soak.record.Recorder` as ok, failed or retried (see
there for when a retry is allowed). A load that takes long per request (slow readers and writers)
starts no request it could not finish before the deadline, so the soak ends on time without
cutting its own requests short.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import h11
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import connect as ws_connect

from soak.h1 import H1Client, PipelineCut, Response, ServerClosed
from soak.payload import digest, expected_stream, upload_answer
from soak.record import Recorder

__all__ = ['KiB', 'LoadContext', 'MiB', 'Plan', 'Wrong', 'check']

KiB = 1024
MiB = 1024 * KiB
#: Errors a request can end with that are the server's (or the network's) doing.
TRANSPORT_ERRORS = (OSError, h11.ProtocolError, ConnectionError)


class Wrong(Exception):
    """An answer that is not what the request asked for."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Wrong(what)


@dataclass(frozen=True)
class Plan:
    """Sizes and paces of the loads."""

    upload_min: int = 1 * MiB
    upload_max: int = 50 * MiB
    #: The streamed response of the keep-alive loop (every 8th request) and of h2c.
    stream_size: int = 64 * KiB
    pipeline_depth: int = 8
    h2_streams: int = 16
    #: Slow readers and writers move their bodies at this pace, for this long per request.
    slow_rate: int = 8 * KiB
    slow_seconds: float = 20.0
    #: Messages per WebSocket session before the client closes it and opens another.
    ws_session: int = 200
    ws_max_message: int = 64 * KiB
    #: Pause between two provoked resets.
    reset_pause: float = 0.05

    @property
    def slow_size(self) -> int:
        return int(self.slow_rate * self.slow_seconds)


@dataclass
class LoadContext:
    host: str
    port: int
    record: Recorder
    plan: Plan
    stop: threading.Event
    #: time.monotonic() at which the soak ends.
    deadline: float

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def can_finish(self, seconds: float) -> bool:
        """Whether a request that takes ``seconds`` would end before the deadline."""
        return self.running() and time.monotonic() + seconds * 1.5 + 2 < self.deadline

    def fail(self, kind: str, what: str) -> None:
        self.record.failed(kind, what)
        self.stop.wait(0.1)  # a dead server must not turn into a flood of failures


def describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, Wrong) else f'{type(exc).__name__}: {exc}'


def h1_exchange(ctx: LoadContext, kind: str, client: H1Client, attempt: Callable[[H1Client], int]) -> None:
    """Run one request (``attempt`` returns its body bytes) and record it; retried once when the
    server closed a reused keep-alive connection before answering."""
    began = time.monotonic()
    for first in (True, False):
        try:
            nbytes = attempt(client)
        except ServerClosed as exc:
            if exc.reused and first:
                ctx.record.retried(kind, 'idle keep-alive connection closed as the request went out')
                continue
            ctx.fail(kind, f'{"reused" if exc.reused else "new"} connection: {exc}')
        except (Wrong, *TRANSPORT_ERRORS) as exc:
            client.close()
            ctx.fail(kind, describe(exc))
        else:
            ctx.record.ok(kind, began, nbytes)
        return


def _expect_small(response: Response, index: int) -> int:
    check(response.status == 200, f'/small?i={index}: status {response.status}')
    check(response.body == f'small {index}'.encode(), f'/small?i={index}: body {response.body[:40]!r}')
    return len(response.body)


def _expect_stream(response: Response, size: int) -> int:
    check(response.status == 200, f'/stream: status {response.status}')
    check(len(response.body) == size, f'/stream: {len(response.body)} bytes instead of {size}')
    check(response.body == expected_stream(size), '/stream: the body differs from the pattern')
    return size


def keep_alive(ctx: LoadContext, kind: str, _seed: int) -> None:
    """GETs one after the other on one keep-alive connection; every 8th is a streamed (chunked) body."""
    client = H1Client(ctx.address)
    size = ctx.plan.stream_size
    index = 0

    def small(c: H1Client) -> int:
        return _expect_small(c.request('GET', f'/small?i={index}'), index)

    def streamed(c: H1Client) -> int:
        return _expect_stream(c.request('GET', f'/stream?size={size}&chunk={4 * KiB}'), size)

    while ctx.running():
        index += 1
        h1_exchange(ctx, kind, client, streamed if index % 8 == 0 else small)
    client.close()


def pipelined(ctx: LoadContext, kind: str, _seed: int) -> None:
    """``pipeline_depth`` GETs in one write, answers checked in order; the unanswered ones are sent
    again once (a server may close after any answer, RFC 9112 §9.3.2)."""
    client = H1Client(ctx.address)
    index = 0
    #: (index, began, already retried) of the requests to send next.
    pending: list[tuple[int, float, bool]] = []
    while ctx.running():
        while len(pending) < ctx.plan.pipeline_depth:
            index += 1
            pending.append((index, time.monotonic(), False))
        answers: list[Response] = []
        try:
            answers = client.pipeline([f'/small?i={i}' for i, _, _ in pending])
        except PipelineCut as cut:
            answers = cut.answers
        except ServerClosed as exc:
            if not exc.reused:
                ctx.fail(kind, f'new connection: {exc}')
                pending = []
                continue
        except TRANSPORT_ERRORS as exc:
            for _ in pending:
                ctx.fail(kind, f'pipelined: {describe(exc)}')
            pending = []
            continue
        for (i, began, _), answer in zip(pending[: len(answers)], answers, strict=True):
            try:
                nbytes = _expect_small(answer, i)
            except Wrong as exc:
                ctx.fail(kind, f'pipelined: {exc}')
            else:
                ctx.record.ok(kind, began, nbytes)
        unanswered = pending[len(answers) :]
        pending = []
        for i, began, retried in unanswered:
            if retried:
                ctx.fail(kind, f'pipelined /small?i={i}: unanswered twice')
            else:
                ctx.record.retried(kind, 'pipelined request unanswered when the server closed')
                pending.append((i, began, True))
    client.close()


def upload(ctx: LoadContext, kind: str, seed: int) -> None:
    """POSTs of ``upload_min`` to ``upload_max`` bytes on a keep-alive connection; the app answers
    size and SHA-256."""
    rng = random.Random(seed)
    data = memoryview(os.urandom(ctx.plan.upload_max))
    client = H1Client(ctx.address, timeout=60)
    while ctx.running():
        size = rng.randint(ctx.plan.upload_min, ctx.plan.upload_max)
        offset = rng.randint(0, ctx.plan.upload_max - size)
        body = data[offset : offset + size]
        expected = upload_answer(size, digest(body))

        def attempt(c: H1Client, body: memoryview = body, expected: bytes = expected) -> int:
            response = c.request('POST', '/upload', body=body)
            check(response.status == 200, f'upload of {len(body)} bytes: status {response.status}')
            check(response.body == expected, f'upload of {len(body)} bytes: answer {response.body!r}')
            return len(body) + len(response.body)

        h1_exchange(ctx, kind, client, attempt)
    client.close()


class _StreamCheck:
    """Checks a streamed body piece by piece as it arrives."""

    def __init__(self) -> None:
        self.position = 0

    def verify(self, piece: bytes) -> None:
        check(piece == expected_stream(len(piece), self.position), f'slow read: wrong bytes at {self.position}')
        self.position += len(piece)


def slow_reader(ctx: LoadContext, kind: str, _seed: int) -> None:
    """A streamed response read at ``slow_rate`` through a 4 KiB receive buffer, so the server's
    writes back up; one request per connection, every byte checked as it comes."""
    plan = ctx.plan
    target = f'/stream?size={plan.slow_size}&chunk={16 * KiB}'

    def attempt(c: H1Client) -> int:
        read = _StreamCheck()
        c.send_request('GET', target, headers=[('connection', 'close')])
        response = c.read_response(rate=plan.slow_rate, recv_size=KiB, on_body=read.verify)
        check(response.status == 200, f'slow read: status {response.status}')
        check(read.position == plan.slow_size, f'slow read: {read.position} bytes instead of {plan.slow_size}')
        return read.position

    while ctx.can_finish(plan.slow_seconds):
        client = H1Client(ctx.address, rcvbuf=4 * KiB, timeout=plan.slow_seconds + 30)

        h1_exchange(ctx, kind, client, attempt)
        client.close()


def slow_writer(ctx: LoadContext, kind: str, _seed: int) -> None:
    """An upload trickled at ``slow_rate`` in 512-byte writes; one request per connection."""
    plan = ctx.plan
    body = os.urandom(plan.slow_size)
    expected = upload_answer(len(body), digest(body))

    def attempt(c: H1Client) -> int:
        c.send_request('POST', '/upload', body=body, headers=[('connection', 'close')], rate=plan.slow_rate)
        response = c.read_response()
        check(response.status == 200, f'slow upload: status {response.status}')
        check(response.body == expected, f'slow upload: answer {response.body!r}')
        return len(body) + len(response.body)

    while ctx.can_finish(plan.slow_seconds):
        client = H1Client(ctx.address, timeout=plan.slow_seconds + 30)

        h1_exchange(ctx, kind, client, attempt)
        client.close()


@dataclass
class _InFlight:
    message: str | bytes
    began: float
    retried: bool = False


def websocket(ctx: LoadContext, kind: str, seed: int) -> None:
    """Echo sessions of ``ws_session`` messages, text and binary of random sizes, one in flight.

    A server that stops closes its sessions with 1001 (going away); a message still waiting for
    its echo then is sent again on a new session (retried, once); any other close, a wrong echo or
    a silence is a failure.
    """
    rng = random.Random(seed)
    url = f'ws://{ctx.host}:{ctx.port}/ws'
    waiting: _InFlight | None = None
    while ctx.running():
        try:
            with ws_connect(url, open_timeout=30, close_timeout=10, max_size=None) as ws:
                for _ in range(ctx.plan.ws_session):
                    if not ctx.running():
                        break
                    if waiting is None:
                        size = rng.randint(1, ctx.plan.ws_max_message)
                        message = rng.randbytes(size) if rng.random() < 0.5 else 'é' * max(1, size // 2)
                        waiting = _InFlight(message, time.monotonic())
                    ws.send(waiting.message)
                    echo = ws.recv(timeout=30)
                    sent, waiting = waiting, None
                    if echo != sent.message:
                        ctx.fail(kind, f'echo of a {type(sent.message).__name__} of {len(sent.message)} differs')
                        break
                    ctx.record.ok(kind, sent.began, 2 * len(sent.message))
        except ConnectionClosed as exc:
            going_away = exc.rcvd is not None and exc.rcvd.code == 1001
            if not going_away:
                ctx.fail(kind, f'session closed: {exc}')
                waiting = None
            elif waiting is not None and waiting.retried:
                ctx.fail(kind, 'a message unanswered on two sessions closed with 1001')
                waiting = None
            elif waiting is not None:
                ctx.record.retried(kind, 'session closed with 1001 while a message waited for its echo')
                waiting.retried = True
        except (TimeoutError, WebSocketException, OSError) as exc:
            ctx.fail(kind, f'session: {describe(exc)}')
            waiting = None
