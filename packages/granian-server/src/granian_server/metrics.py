"""Prometheus metrics: what is measured, how a worker's values travel, the text exposition format.

Workers send one fixed-size record of their values to the main process every scrape interval, over
a pipe of their own (:mod:`.metrics_worker`); the main process keeps the latest record of each
worker, counts spawns and respawns itself, and renders everything on request
(:mod:`.metrics_exporter`). Names and labels are upstream's: a ``granian_`` prefix, global counters,
and per-worker values labelled ``worker="N"``.

``request_duration_seconds`` (upstream's open pull request #872) is a histogram: each worker
counts its requests per bucket, the record carries the counts and their sum, and the exporter adds
up every worker's, those of processes that have exited included, so the exposed counts only grow
(a respawned worker starting from zero would otherwise read as a counter reset of the whole
server). See :class:`Durations` for what is measured.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterable, Mapping, Sequence
from multiprocessing.connection import Connection

__all__ = [
    'CONTENT_TYPE',
    'DURATION_BUCKETS',
    'GLOBAL_COUNTERS',
    'RECORD',
    'WORKER_FIELDS',
    'Durations',
    'MetricsHub',
    'render',
]

CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

#: Counted by the main process.
GLOBAL_COUNTERS: dict[str, str] = {
    'workers_spawns': 'Number of worker processes spawned',
    'workers_respawns_for_err': 'Number of workers respawned after an unexpected exit',
    'workers_respawns_for_lifetime': 'Number of workers respawned at the end of their lifetime',
    'workers_respawns_for_rss': 'Number of workers respawned for exceeding the memory limit',
}

#: Sent by each worker, in this order (one unsigned 64-bit integer each).
WORKER_FIELDS: dict[str, tuple[str, str]] = {
    'connections_active': ('gauge', 'Connections open now'),
    'connections_handled': ('counter', 'Connections accepted'),
    'connections_err': ('counter', 'Connections that ended in an error'),
    'requests_handled': ('counter', 'Requests handled'),
    'static_requests_handled': ('counter', 'Static file requests handled'),
    'static_requests_err': ('counter', 'Static file requests that failed'),
    'blocking_threads': ('gauge', 'Blocking threads alive'),
    'blocking_queue': ('gauge', 'Jobs waiting for a blocking thread'),
    'blocking_idle_cumulative': ('counter', 'Time blocking threads spent idle, in microseconds'),
    'blocking_busy_cumulative': ('counter', 'Time blocking threads spent working, in microseconds'),
    'py_wait_cumulative': ('counter', 'Time the event loop ran late on its timers, in microseconds'),
}

_LIFETIME = ('worker_lifetime', 'counter', 'Seconds since the worker was spawned')

#: Upper bounds of the duration buckets, in seconds: the Prometheus clients' defaults (5 ms to
#: 10 s, so dashboards written for them work), with 1 and 2.5 ms below (a small response here takes
#: well under 5 ms, and would all land in the first bucket) and 30 and 60 s above (slow uploads,
#: long polls).
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_DURATION = (
    'request_duration_seconds',
    'Time from a request reaching the app to its response being complete (static files and WebSockets excluded)',
)

_FIELDS = len(WORKER_FIELDS)
#: A worker's record: its values in WORKER_FIELDS order, then a count per duration bucket (the last
#: one above every bound, not cumulative) and the sum of the durations.
RECORD = struct.Struct(f'<{_FIELDS}Q{len(DURATION_BUCKETS) + 1}Qd')
_ZEROS = (0,) * _FIELDS
#: Bucket counts and sum of no request at all.
_NO_DURATIONS: tuple[float, ...] = (0,) * (len(DURATION_BUCKETS) + 1) + (0.0,)


class Durations:
    """A worker's request durations, counted per bucket.

    Measured by the interface adapters with the clock that times the access log: from the moment
    the exchange reaches the adapter to the moment the app's call is over with its response
    complete (its last byte handed to the protocol, so a streamed body is timed to its end, as
    upstream's review of the pull request asks). Work an ASGI app does after its last body message
    (Starlette's background tasks) is inside, as in the access log. Requests the static files
    handler answers never reach an adapter, as upstream's pull request proposes. WebSockets are not
    counted: a session lasts as long as the client stays, which says nothing of how fast the server
    answers and would fill the top bucket.

    Its cost, counted by ``benchmarks/callgrind.py --metrics`` against the same run without: about
    3,000 instructions per request (under 1 % of a small GET's ~370,000-450,000). Measured apart,
    each ``perf_counter()`` costs ~350-550 under valgrind, the call that ends the request ~400, the
    bisection ~800 and the bucket's integer ~400 (past 256 it is a new int object). An inline tree
    of comparisons would save most of the bisection's share for fifteen hand-written
    branches that must follow the bounds; not worth it. Without the exporter nothing is counted
    and no clock is read.
    """

    __slots__ = ('counts', 'total')

    def __init__(self) -> None:
        #: Requests per bucket: ``counts[i]`` took at most ``DURATION_BUCKETS[i]`` and more than the
        #: bound before; the last is for those above every bound. The adapters add to it directly.
        self.counts = [0] * (len(DURATION_BUCKETS) + 1)
        #: Seconds, all requests together.
        self.total = 0.0

    def snapshot(self) -> tuple[float, ...]:
        return (*self.counts, self.total)


def _add(left: Sequence[float], right: Sequence[float]) -> tuple[float, ...]:
    return tuple(a + b for a, b in zip(left, right, strict=True))


def render(
    counters: Mapping[str, int],
    lifetimes: Mapping[int, float],
    records: Mapping[int, tuple[int, ...]],
    durations: Sequence[float] = _NO_DURATIONS,
) -> bytes:
    """The text exposition format (version 0.0.4) of every metric; ``durations`` is the server's
    duration histogram, as :meth:`MetricsHub.durations` adds it up."""
    lines: list[str] = []

    def family(name: str, kind: str, text: str, samples: Iterable[tuple[str, float | int]]) -> None:
        lines.append(f'# HELP granian_{name} {text}')
        lines.append(f'# TYPE granian_{name} {kind}')
        lines.extend(f'granian_{name}{labels} {value}' for labels, value in samples)

    for name, text in GLOBAL_COUNTERS.items():
        family(name, 'counter', text, [('', counters.get(name, 0))])
    workers = sorted(lifetimes)
    name, kind, text = _LIFETIME
    family(name, kind, text, [(f'{{worker="{idx}"}}', int(lifetimes[idx])) for idx in workers])
    for pos, (name, (kind, text)) in enumerate(WORKER_FIELDS.items()):
        family(name, kind, text, [(f'{{worker="{idx}"}}', records.get(idx, _ZEROS)[pos]) for idx in workers])
    name, text = _DURATION
    lines.append(f'# HELP granian_{name} {text}')
    lines.append(f'# TYPE granian_{name} histogram')
    cumulative = 0
    for bound, count in zip((*DURATION_BUCKETS, '+Inf'), durations[:-1], strict=True):
        # Buckets are cumulative on the wire (each counts everything up to its bound); the bound
        # is written as Python's prometheus_client writes it (0.005, 1.0, +Inf).
        cumulative += int(count)
        lines.append(f'granian_{name}_bucket{{le="{bound}"}} {cumulative}')
    lines.append(f'granian_{name}_sum {durations[-1]!r}')
    lines.append(f'granian_{name}_count {cumulative}')
    lines.append('')
    return '\n'.join(lines).encode()


class MetricsHub:
    """The main process's side of the worker pipes: the latest record of each worker.

    A pipe is read until its process exits, also once a replacement serves under the same worker
    id (a rolling restart: the old process still finishes its requests); from then on it only adds
    to the duration histogram, and its last histogram joins the retired totals when it exits.
    """

    def __init__(self) -> None:
        #: Reader -> the worker id whose values it reports, None once a replacement took the id.
        self._worker_of: dict[Connection, int | None] = {}
        self._reader_of: dict[int, Connection] = {}
        #: The values of each worker id's current process (its last one's, after a crash).
        self.records: dict[int, tuple[int, ...]] = {}
        #: The latest duration histogram of every process still reporting.
        self._durations: dict[Connection, tuple[float, ...]] = {}
        #: Processes that have exited, their last histograms added up.
        self._retired = _NO_DURATIONS

    def attach(self, worker_id: int, reader: Connection) -> None:
        """A new process serves as ``worker_id``: its values start from zero."""
        previous = self._reader_of.get(worker_id)
        if previous is not None:
            self._worker_of[previous] = None  # still read, for the requests it finishes
        self._worker_of[reader] = worker_id
        self._reader_of[worker_id] = reader
        self.records[worker_id] = _ZEROS
        self._durations[reader] = _NO_DURATIONS

    def readers(self) -> list[Connection]:
        return list(self._worker_of)

    def receive(self, ready: Iterable[object]) -> None:
        for reader in ready:
            if not isinstance(reader, Connection) or reader not in self._worker_of:
                continue
            worker_id = self._worker_of[reader]
            try:
                while reader.poll():
                    data = reader.recv_bytes()
                    if len(data) == RECORD.size:
                        values = RECORD.unpack(data)
                        if worker_id is not None:
                            self.records[worker_id] = values[:_FIELDS]
                        self._durations[reader] = values[_FIELDS:]
            except (EOFError, OSError):
                # The process is gone; its last values stay until a new process takes its place,
                # and its durations stay counted for good.
                self._retire(reader)

    def _retire(self, reader: Connection) -> None:
        self._retired = _add(self._retired, self._durations.pop(reader))
        worker_id = self._worker_of.pop(reader)
        if worker_id is not None:
            del self._reader_of[worker_id]
        reader.close()

    def durations(self) -> tuple[float, ...]:
        """The server's duration histogram: every process's counts per bucket and sum, added up."""
        total = self._retired
        for values in self._durations.values():
            total = _add(total, values)
        return total

    def close(self) -> None:
        for reader in self._worker_of:
            with contextlib.suppress(OSError):
                reader.close()
        self._worker_of.clear()
        self._reader_of.clear()
