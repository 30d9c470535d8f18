"""A worker's side of the metrics: every scrape interval, one record of its values to the main process.

The values are plain counters the connections keep on the worker's
:class:`~granian_http.context.ServeContext`, the static files handler on itself, and the duration
histogram the interface adapters add to (:class:`~.metrics.Durations`: one more clock read and a
bucket increment per request, only with metrics on); the pusher reads them on a timer of the event
loop, so it costs no task and no thread, and once more when the worker has finished its last
request, so that what a stopping worker served is counted.
The pipe is non-blocking: a record the main process has no room for is dropped, never waited on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from concurrent.futures import Executor, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from granian_http import ServeContext

from .metrics import RECORD, Durations

if TYPE_CHECKING:
    from .static import StaticFiles

__all__ = ['MetricsPusher']


def _executor_load(executor: Executor | None) -> tuple[int, int]:
    if isinstance(executor, ThreadPoolExecutor):
        # The file I/O pool; ThreadPoolExecutor keeps these two private but stable since 3.8.
        return len(executor._threads), executor._work_queue.qsize()
    return 0, 0


class MetricsPusher:
    def __init__(self, writer: Connection, interval: float) -> None:
        self._writer = writer
        self._interval = interval
        self._ctx: ServeContext | None = None
        self._executor: Executor | None = None
        self._pool: Any = None
        self._static: StaticFiles | None = None
        self._durations = Durations()
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._lag_us = 0
        with contextlib.suppress(OSError, ValueError):
            os.set_blocking(writer.fileno(), False)

    def start(
        self,
        ctx: ServeContext,
        executor: Executor | None,
        *,
        blocking_pool: Any = None,
        static: StaticFiles | None = None,
        durations: Durations | None = None,
    ) -> None:
        """Begin pushing; ``blocking_pool`` is the interface's thread pool for the app, if it has one,
        ``durations`` the histogram its adapters count requests in."""
        self._ctx = ctx
        self._executor = executor
        self._pool = blocking_pool
        self._static = static
        if durations is not None:
            self._durations = durations
        self._schedule()

    def _schedule(self) -> None:
        assert self._ctx is not None
        loop = self._ctx.loop
        self._due = loop.time() + self._interval
        self._timer = loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        assert self._ctx is not None
        # How late the timer fired: time the loop was busy and made everything else wait.
        self._lag_us += max(0, int((self._ctx.loop.time() - self._due) * 1_000_000))
        self.push()
        self._schedule()

    def snapshot(self) -> tuple[float, ...]:
        ctx = self._ctx
        assert ctx is not None
        threads, queued = _executor_load(self._executor)
        pool = self._pool
        if pool is not None:
            threads += int(getattr(pool, 'size', 0))
            queued += int(getattr(pool, 'queued', 0))
        static = self._static
        return (
            len(ctx.connections),
            ctx.connections_handled,
            ctx.connections_err,
            ctx.requests_handled,
            static.requests_handled if static is not None else 0,
            static.requests_err if static is not None else 0,
            threads,
            queued,
            int(getattr(pool, 'idle_us', 0)),
            int(getattr(pool, 'busy_us', 0)),
            self._lag_us,
            *self._durations.snapshot(),
        )

    def push(self) -> None:
        if self._ctx is None:
            # Never started: the worker failed before it served (a listener it could not open),
            # and its stop must end with that error, not with one of ours.
            return
        try:
            # One write of a few dozen bytes: atomic on a pipe, so a full pipe writes nothing.
            self._writer.send_bytes(RECORD.pack(*self.snapshot()))
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.stop()  # the main process is gone

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
