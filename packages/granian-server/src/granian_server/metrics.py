"""Prometheus metrics: what is measured, how a worker's values travel, the text exposition format.

Workers send one fixed-size record of their values to the main process every scrape interval, over
a pipe of their own (:mod:`.metrics_worker`); the main process keeps the latest record of each
worker, counts spawns and respawns itself, and renders everything on request
(:mod:`.metrics_exporter`). Names and labels are upstream's: a ``granian_`` prefix, global counters,
and per-worker values labelled ``worker="N"``.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterable, Mapping
from multiprocessing.connection import Connection

__all__ = [
    'CONTENT_TYPE',
    'GLOBAL_COUNTERS',
    'RECORD',
    'WORKER_FIELDS',
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

RECORD = struct.Struct(f'<{len(WORKER_FIELDS)}Q')
_ZEROS = (0,) * len(WORKER_FIELDS)


def render(
    counters: Mapping[str, int], lifetimes: Mapping[int, float], records: Mapping[int, tuple[int, ...]]
) -> bytes:
    """The text exposition format (version 0.0.4) of every metric."""
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
    lines.append('')
    return '\n'.join(lines).encode()


class MetricsHub:
    """The main process's side of the worker pipes: the latest record of each worker."""

    def __init__(self) -> None:
        self._by_reader: dict[Connection, int] = {}
        self._reader_of: dict[int, Connection] = {}
        self.records: dict[int, tuple[int, ...]] = {}

    def attach(self, worker_id: int, reader: Connection) -> None:
        """A new process serves as ``worker_id``: its values start from zero."""
        self._drop(worker_id)
        self._by_reader[reader] = worker_id
        self._reader_of[worker_id] = reader
        self.records[worker_id] = _ZEROS

    def _drop(self, worker_id: int) -> None:
        reader = self._reader_of.pop(worker_id, None)
        if reader is not None:
            del self._by_reader[reader]
            reader.close()

    def readers(self) -> list[Connection]:
        return list(self._by_reader)

    def receive(self, ready: Iterable[object]) -> None:
        for reader in ready:
            if not isinstance(reader, Connection) or reader not in self._by_reader:
                continue
            worker_id = self._by_reader[reader]
            try:
                while reader.poll():
                    data = reader.recv_bytes()
                    if len(data) == RECORD.size:
                        self.records[worker_id] = RECORD.unpack(data)
            except (EOFError, OSError):
                # The worker is gone; its last values stay until a new process takes its place.
                del self._by_reader[reader]
                del self._reader_of[worker_id]
                reader.close()

    def close(self) -> None:
        for reader in self._by_reader:
            with contextlib.suppress(OSError):
                reader.close()
        self._by_reader.clear()
        self._reader_of.clear()
