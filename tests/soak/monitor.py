"""Watching the server's processes from outside: RSS, open fds and client connections, over time.

Every sample reads ``/proc`` for the main process and each of its children. A child is a worker
once its process title says ``<name> worker-N`` (the server sets it first thing after the fork), so
a sample never mistakes a process still being born for a worker. Each worker process is one
*generation* of its slot ``N``: a SIGHUP replaces every slot's process, and the samples of each
generation are kept apart, so that respawns neither hide a worker's growth (a fresh process starts
small again) nor fake one (a fresh process warms up, and two generations overlap during a
hand-over).

File descriptors are counted in two parts: TCP connections on the server's port (they come and go
with the clients) and everything else (listening socket, event loop, pipes), which must not grow.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ['Generation', 'Monitor', 'ProcessSample', 'read_process']

_RSS = re.compile(r'^VmRSS:\s+(\d+) kB', re.MULTILINE)
_LISTEN = '0A'


@dataclass(frozen=True)
class ProcessSample:
    #: Seconds since the soak began.
    at: float
    rss_kib: int
    fds: int
    #: TCP connections (not listening sockets) on the server's port among ``fds``.
    connections: int
    #: Whether the process was serving (a worker that has logged ``Started``; the main process always).
    serving: bool = True

    @property
    def own_fds(self) -> int:
        """The fds that are not client connections."""
        return self.fds - self.connections


@dataclass
class Generation:
    slot: int
    #: 1 for the slot's first process, 2 after the first respawn, ...
    index: int
    pid: int
    samples: list[ProcessSample] = field(default_factory=list)
    #: Seconds since the soak began when it was first seen gone (None while it lives).
    gone_at: float | None = None

    def base_fds(self) -> int | None:
        """The fewest fds other than client connections it had while serving: what it holds for
        itself. A sample can only count too many of them: a connection accepted between the look
        at the TCP table and the look at the fds counts as one."""
        return min((s.own_fds for s in self.serving()), default=None)

    def serving(self, until: float | None = None) -> list[ProcessSample]:
        """The samples taken while it served (up to ``until`` seconds, when given)."""
        return [s for s in self.samples if s.serving and (until is None or s.at <= until)]


def _connection_inodes(port: int) -> set[str]:
    """Socket inodes of the TCP connections (not listeners) whose local port is ``port``."""
    inodes: set[str] = set()
    suffix = f':{port:04X}'
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[1].endswith(suffix) and parts[3] != _LISTEN:
                inodes.add(parts[9])
    return inodes


def read_process(pid: int, at: float, connection_inodes: set[str], serving: bool = True) -> ProcessSample | None:
    """One sample of ``pid``, or None if it is gone (or went while being read)."""
    try:
        status = Path(f'/proc/{pid}/status').read_text()
        links = []
        for name in os.listdir(f'/proc/{pid}/fd'):
            try:
                links.append(os.readlink(f'/proc/{pid}/fd/{name}'))
            except FileNotFoundError:
                continue  # closed between the listing and the look
    except (FileNotFoundError, ProcessLookupError):
        return None
    match = _RSS.search(status)
    if match is None:  # a zombie has no memory left to report
        return None
    connections = sum(1 for link in links if link.startswith('socket:[') and link[8:-1] in connection_inodes)
    return ProcessSample(at, int(match.group(1)), len(links), connections, serving)


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f'/proc/{pid}/task/{pid}/children').read_text().split()]
    except FileNotFoundError:
        return []


def title(pid: int) -> str:
    try:
        return Path(f'/proc/{pid}/cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace').strip()
    except (FileNotFoundError, ProcessLookupError):
        return ''


class Monitor:
    """Samples of the main process and of every worker generation, taken when :meth:`sample` is called."""

    def __init__(
        self, main_pid: int, port: int, process_name: str, started: float, serving: Callable[[int], bool]
    ) -> None:
        """``serving(pid)`` tells whether a worker has started serving (it logged ``Started``):
        the samples taken while it still sets itself up are kept but not judged."""
        self.main_pid = main_pid
        self.serving = serving
        self.port = port
        self.started = started
        self._worker_title = re.compile(rf'^{re.escape(process_name)} worker-(\d+)$')
        self.main: list[ProcessSample] = []
        #: Every generation ever seen, by pid, in the order they appeared.
        self.generations: dict[int, Generation] = {}

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def workers(self) -> dict[int, int]:
        """The live workers now, pid -> slot."""
        found = {}
        for pid in children(self.main_pid):
            match = self._worker_title.match(title(pid))
            if match:
                found[pid] = int(match.group(1))
        return found

    def sample(self) -> None:
        at = self.elapsed()
        inodes = _connection_inodes(self.port)
        main = read_process(self.main_pid, at, inodes)
        if main is not None:
            self.main.append(main)
        live = self.workers()
        for pid, slot in live.items():
            generation = self.generations.get(pid)
            if generation is None:
                index = 1 + sum(1 for known in self.generations.values() if known.slot == slot)
                generation = self.generations[pid] = Generation(slot, index, pid)
            taken = read_process(pid, at, inodes, self.serving(pid))
            if taken is not None:
                generation.samples.append(taken)
        for pid, generation in self.generations.items():
            if generation.gone_at is None and pid not in live:
                generation.gone_at = at

    def live(self) -> list[Generation]:
        return [generation for generation in self.generations.values() if generation.gone_at is None]

    def latest(self, pid: int) -> ProcessSample | None:
        """A fresh sample of one process (main or worker), outside the periodic series."""
        serving = pid == self.main_pid or self.serving(pid)
        return read_process(pid, self.elapsed(), _connection_inodes(self.port), serving)
