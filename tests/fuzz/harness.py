"""What every fuzz target shares: the target record, reading fuzzer bytes, running async checks.

A target is a *property check*: a function from bytes to nothing that raises
:class:`PropertyFailure` (or lets any other exception out) when the code under test misbehaves on
that input. The same function serves two callers:

* ``scripts/fuzz`` hands it to atheris, which mutates inputs to reach new code
  (:mod:`fuzz.__main__`);
* the test suite replays every saved crasher and every seed through it
  (``tests/fuzz/test_fuzz_regressions.py``), without atheris installed.

So nothing here imports atheris, and fuzzer bytes are decoded by our own :class:`Reader` rather
than atheris' ``FuzzedDataProvider``: a saved input must mean the same thing on replay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .virtualtime import VirtualClockLoop

__all__ = [
    'KnownBug',
    'PropertyFailure',
    'Reader',
    'Target',
    'cut',
    'encode',
    'expect',
    'finish_tasks',
    'hang_up',
    'quiet_logs',
    'raised_in',
    'read_plan',
    'run_async',
    'serve_and_hang_up',
    'settle',
]

T = TypeVar('T')


class PropertyFailure(AssertionError):
    """The code under test answered an input in a way the target's property forbids."""


def expect(condition: object, message: str) -> None:
    """Like ``assert``, but not removed under ``python -O`` and always a :class:`PropertyFailure`."""
    if not condition:
        raise PropertyFailure(message)


@dataclass(frozen=True)
class KnownBug:
    """A failure already reported and not fixed yet.

    While fuzzing, an exception that ``matches`` is counted and passed over, so the fuzzer keeps
    exploring past a bug we know instead of stopping at it every run. Its saved ``crashers`` are
    replayed by the test suite as ``xfail(strict=True)``: once the bug is fixed they pass, the
    strict xfail fails, and whoever fixed it removes this entry.
    """

    reason: str
    matches: Callable[[BaseException], bool]
    crashers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """One fuzz target: a property check over bytes and where its seed corpus comes from."""

    name: str
    check: Callable[[bytes], None]
    #: Inputs to start from (the test suite's own requests, frames, paths, headers).
    seeds: Callable[[], Iterable[bytes]]
    known: tuple[KnownBug, ...] = field(default=())

    def known_bug(self, exc: BaseException) -> KnownBug | None:
        for bug in self.known:
            if bug.matches(exc):
                return bug
        return None


def raised_in(exc: BaseException, function: str) -> bool:
    """Whether ``exc`` was raised from inside a function of that name (for :class:`KnownBug`)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False


class Reader:
    """Decodes fuzzer bytes into choices, deterministically (a saved input replays the same way).

    Reading past the end yields zeros, so every input is valid for every target: the fuzzer never
    wastes executions on inputs that are merely too short to mean something.
    """

    __slots__ = ('data', 'pos')

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def uint(self, size: int = 1) -> int:
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return int.from_bytes(chunk, 'big')

    def below(self, bound: int) -> int:
        """An integer in ``range(bound)`` (``bound`` > 0)."""
        size = 1 if bound <= 256 else 2 if bound <= 65536 else 4
        return self.uint(size) % bound

    def flag(self) -> bool:
        return bool(self.uint() & 1)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def take(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk

    def chunk(self, max_size: int = 255) -> bytes:
        """A length-prefixed byte string of at most ``max_size`` bytes."""
        return self.take(self.below(max_size + 1))

    def text(self, max_size: int = 255) -> str:
        return self.chunk(max_size).decode('utf-8', 'surrogateescape')

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


def encode(payload: bytes, config: int = 0, points: Sequence[int] = ()) -> bytes:
    """An input for the protocol targets: ``[config][n][n cut points, 2 bytes each][payload]``."""
    return bytes((config, len(points))) + b''.join(point.to_bytes(2, 'big') for point in points) + payload


def read_plan(reader: Reader) -> tuple[int, list[int]]:
    """The config byte and the raw cut points of a protocol target's input (see :func:`encode`)."""
    config = reader.uint()
    return config, [reader.uint(2) for _ in range(reader.below(8))]


def cut(payload: bytes, raw_points: Iterable[int]) -> list[bytes]:
    """``payload`` cut at the fuzzer's points: the reads a client's bytes arrive in."""
    points = sorted(point % len(payload) for point in raw_points) if payload else []
    pieces, start = [], 0
    for point in points:
        if point > start:
            pieces.append(payload[start:point])
            start = point
    pieces.append(payload[start:])
    return [piece for piece in pieces if piece]


# One event loop per process (and per kind of clock), reused by every input: creating a loop
# costs more than most checks.
_loops: dict[bool, asyncio.AbstractEventLoop] = {}
_loop_errors: list[dict[str, Any]] = []


def _record(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    _loop_errors.append(context)


def run_async(coroutine: Coroutine[Any, Any, T], *, virtual_clock: bool = False) -> T:
    """Run one input's check on the shared loop (with ``virtual_clock``, on one whose time jumps to
    the next timer instead of waiting for it: see :mod:`.virtualtime`).

    An exception raised in a loop callback (a scheduled pipeline step, a timer) never reaches the
    caller on its own: the loop only logs it. Here every one of them fails the property, since it
    is exactly an exception escaping to the loop.
    """
    loop = _loops.get(virtual_clock)
    if loop is None or loop.is_closed():
        loop = _loops[virtual_clock] = VirtualClockLoop() if virtual_clock else asyncio.new_event_loop()
        loop.set_exception_handler(_record)
    asyncio.set_event_loop(loop)
    _loop_errors.clear()
    result = loop.run_until_complete(coroutine)
    if _loop_errors:
        context = _loop_errors[0]
        exc = context.get('exception')
        raise PropertyFailure(f'exception escaped to the event loop: {context.get("message")}: {exc!r}') from exc
    return result


@contextmanager
def quiet_logs(names: Sequence[str] = ('_granian', 'granian.access')) -> Iterator[None]:
    """The server's loggers off for one input: the apps under fuzz fail on purpose, and a traceback
    logged per execution would cost more than the check (and fill the fuzz log)."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [each.disabled for each in loggers]
    for each in loggers:
        each.disabled = True
    try:
        yield
    finally:
        for each, disabled in zip(loggers, saved, strict=True):
            each.disabled = disabled


async def settle(limit: int = 10_000) -> None:
    """Let whatever the code under test scheduled (tasks, ``call_soon`` callbacks) run, until
    nothing is left to run but timers.

    A fixed number of loop turns is not enough: a pipeline of N requests takes about N turns. The
    loop's ready queue (a private attribute of asyncio's base loop, read only here) tells when the
    work has run dry; ``limit`` bounds a loop that never does (a property failure of its own).
    """
    loop = asyncio.get_running_loop()
    ready = getattr(loop, '_ready', None)
    for _ in range(limit):
        await asyncio.sleep(0)
        if ready is not None and not ready:
            return
    if ready is not None:
        raise PropertyFailure(f'still busy after {limit} loop turns')


async def serve_and_hang_up(
    transport: Any, pieces: Iterable[bytes], tasks: Iterable[asyncio.Task[Any]]
) -> tuple[bool, bytes]:
    """Deliver the client's reads, let the server answer, then hang up and wait for the handlers.

    Returns whether the server had closed the transport, and everything it wrote, both as they
    were before the hang-up.
    """
    for piece in pieces:
        if transport.closing:
            break  # a closed transport delivers nothing more
        transport.receive(piece)
        await settle()
    await settle()
    server_closed, written = transport.closing, bytes(transport.written)
    hang_up(transport)
    await finish_tasks(tasks, 'a handler')
    return server_closed, written


def hang_up(transport: Any) -> None:
    """The client closes the connection: the transport reports it lost at once (a memory transport
    from ``testkit.h1``). Not ``transport.close()``, which is the server's way to close and would
    give work still queued on the loop one more turn to write."""
    if not transport.lost:
        transport.closing = True
        transport.lost = True
        transport.protocol.connection_lost(None)


async def finish_tasks(tasks: Iterable[asyncio.Task[Any]], what: str) -> None:
    """Every task must be over once the connection is gone; re-raise what a task raised."""
    await settle()
    for task in tasks:
        if not task.done():
            task.cancel()
            raise PropertyFailure(f'{what} still running after the connection was lost')
        exc = task.exception()
        if exc is not None:
            raise exc
