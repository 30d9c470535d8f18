"""The per-worker pool of blocking threads that runs WSGI apps.

Upstream runs each WSGI request on a thread of its runtime's blocking pool: at most
``blocking_threads`` threads, started when there is work and no idle thread to take it, each
ending after ``blocking_threads_idle_timeout`` seconds without work. This pool does the same.

Why not :class:`concurrent.futures.ThreadPoolExecutor`: its threads never end while idle, and
every submission builds a :class:`~concurrent.futures.Future` the adapter has no use for (replies
go back to the loop through ``call_soon_threadsafe``). Here a submission is one
:class:`queue.SimpleQueue` put and one short critical section.

Bookkeeping: ``_spare`` is the number of idle threads minus the number of queued jobs. A job put
on the queue lowers it; a thread that finishes a job (or starts) raises it. When it goes negative
a job has no thread waiting for it, so a new thread starts (unless the pool is full, and then the
job waits for the next thread to come free). A thread may end on its idle timeout only while
``_spare`` is positive, so no queued job is ever left without a thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from ..log import logger

__all__ = ['BlockingPool']

Job = Callable[[], None]


class BlockingPool:
    """Runs jobs on up to ``max_threads`` threads, started on demand, ended when idle."""

    __slots__ = (
        '_busy_ns',
        '_idle_ns',
        '_idle_timeout',
        '_lock',
        '_max_threads',
        '_name',
        '_queue',
        '_serial',
        '_spare',
        '_threads',
    )

    def __init__(self, max_threads: int, idle_timeout: float, name: str = 'granian-wsgi') -> None:
        self._max_threads = max(1, max_threads)
        self._idle_timeout = idle_timeout
        self._name = name
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._spare = 0
        self._serial = 0
        self._threads: set[threading.Thread] = set()
        # Cumulative time the threads spent running jobs and waiting for one (metrics).
        self._busy_ns = 0
        self._idle_ns = 0

    @property
    def size(self) -> int:
        """The number of threads alive now."""
        return len(self._threads)

    @property
    def queued(self) -> int:
        """Jobs waiting for a thread (the pool is full)."""
        return max(0, -self._spare)

    @property
    def busy_us(self) -> int:
        return self._busy_ns // 1000

    @property
    def idle_us(self) -> int:
        return self._idle_ns // 1000

    def submit(self, job: Job) -> None:
        """Queue ``job``; a thread runs it as soon as one is free. Exceptions are logged."""
        self._queue.put(job)
        with self._lock:
            self._spare -= 1
            if self._spare < 0 and len(self._threads) < self._max_threads:
                self._spare += 1
                self._serial += 1
                thread = threading.Thread(target=self._run, name=f'{self._name}-{self._serial}', daemon=True)
                self._threads.add(thread)
                thread.start()

    def _run(self) -> None:
        get = self._queue.get
        lock = self._lock
        timeout = self._idle_timeout
        me = threading.current_thread()
        clock = time.perf_counter_ns
        while True:
            waited_from = clock()
            try:
                job = get(timeout=timeout)
            except queue.Empty:
                with lock:
                    if self._spare > 0:
                        self._spare -= 1
                        self._threads.discard(me)
                        return
                # A job was queued just as we timed out and counts on us: take it.
                continue
            if job is None:
                with lock:
                    self._threads.discard(me)
                return
            started = clock()
            try:
                job()
            except BaseException:
                # Jobs handle their own errors; this only keeps a bug from killing the thread.
                logger.error('WSGI worker thread job failed', exc_info=True)
            del job
            finished = clock()
            with lock:
                self._spare += 1
                self._idle_ns += started - waited_from
                self._busy_ns += finished - started

    def shutdown(self, wait: float | None = None) -> None:
        """End every thread once the jobs queued so far are done; wait up to ``wait`` seconds."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        if wait:
            for thread in threads:
                thread.join(wait)
