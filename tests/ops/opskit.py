"""Helpers for the process-management tests: steady client traffic, polling, process facts."""

from __future__ import annotations

import collections
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from testkit.process import ServerProcess

APPS = Path(__file__).parent / 'apps'


class Load:
    """Steady traffic from client threads until stopped; counts every response and every failure.

    Half the clients keep one keep-alive connection (reconnecting when the server closes it), the
    other half open a new connection per request, so both ways a request can be lost while a worker
    stops are exercised: on an idle keep-alive connection, and on a connection just accepted.
    """

    def __init__(self, url: str, *, clients: int = 4, path: str = '/', uds: str | None = None) -> None:
        """``uds``: connect to this Unix socket (``url`` then only gives the Host header and path)."""
        self.url = url + path
        self._uds = uds
        self.ok = 0
        self.failures: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(idx % 2 == 1,), daemon=True) for idx in range(clients)
        ]

    def _run(self, fresh_connections: bool) -> None:
        limits = httpx.Limits(max_keepalive_connections=0 if fresh_connections else 1)
        transport = httpx.HTTPTransport(uds=self._uds, limits=limits) if self._uds else None
        with httpx.Client(timeout=20, limits=limits, transport=transport) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(self.url)
                    outcome = 'ok' if response.status_code == 200 else f'status {response.status_code}'
                except httpx.HTTPError as exc:
                    kind = 'fresh connection' if fresh_connections else 'keep-alive connection'
                    outcome = f'{type(exc).__name__} on a {kind}: {exc}'
                with self._lock:
                    if outcome == 'ok':
                        self.ok += 1
                    else:
                        self.failures[outcome] += 1

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        self.wait_for_requests(20)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def wait_for_requests(self, count: int, timeout: float = 30) -> None:
        """Wait until ``count`` more requests have succeeded (traffic really flows)."""
        target = self.ok + count
        wait_until(lambda: self.ok >= target or bool(self.failures), timeout, f'{count} requests')

    @property
    def total(self) -> int:
        return self.ok + sum(self.failures.values())


def wait_until(
    condition: Callable[[], bool], timeout: float = 30, what: str = 'condition', output: Callable[[], str] | None = None
) -> None:
    """Poll ``condition``; on timeout fail with ``what`` (and ``output()``, a server's log, say)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out waiting for {what}' + (f'; output:\n{output()}' if output else ''))
        time.sleep(0.05)


def wait_gone(pids: list[int], timeout: float = 60) -> None:
    wait_until(lambda: not any(pid_alive(pid) for pid in pids), timeout, f'workers {pids} to exit')


def rolling_restarts(server: ServerProcess, load: Load, *, rounds: int, workers: int = 2) -> None:
    """SIGHUP ``rounds`` times; each time wait until the old workers are gone and requests flow again."""
    for _ in range(rounds):
        old = server.worker_pids()[-workers:]
        server.send_signal(signal.SIGHUP)
        wait_gone(old)
        load.wait_for_requests(20)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def cmdline(pid: int) -> str:
    with open(f'/proc/{pid}/cmdline', 'rb') as fh:
        return fh.read().replace(b'\0', b' ').decode().strip()
