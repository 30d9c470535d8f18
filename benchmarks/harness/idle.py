"""Memory per idle connection: the servers, the two kinds of connection, and one measured row.

One row is one server and one kind: a fresh server (one worker, pinned), its memory once it has
served a request of the kind and settled, then N idle connections held by ``idle_client`` in a
process of its own on the other core, the memory once it has settled again, and the proof that
all N were really open at that moment. See benchmarks/README.md ("Memory per connection").
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import session
from .process import GroupMemory, ServerError, ServerProcess, free_port
from .scenarios import SCENARIOS, Scenario
from .servers import SERVERS, ServerSpec, expand_argv

__all__ = ['KINDS', 'MEMORY_SERVERS', 'HoldSettings', 'Kind', 'MemoryServer', 'Row', 'RowError', 'measure_row']


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    # The scenario whose path and bodies one exchange uses (its one-request check is the warm-up).
    scenario: Scenario
    # The target for ours-asyncio, KiB per connection.
    target_kib: float

    @property
    def payload(self) -> bytes:
        return self.scenario.body if self.scenario.transport == 'ws' else self.scenario.expect


def _scenario(name: str) -> Scenario:
    return next(sc for sc in SCENARIOS if sc.name == name)


# Issue 12, target 5: "go further: <= 2.5 KiB and <= 8 KiB".
KINDS: tuple[Kind, ...] = (
    Kind('keepalive', 'idle HTTP/1.1 keep-alive connections, each after one GET /b', _scenario('get-short'), 2.5),
    Kind('ws', 'idle WebSockets, each after the handshake and one 32 B echo on /ws', _scenario('ws-echo'), 8.0),
)


@dataclass(frozen=True)
class MemoryServer:
    """A row of servers.SERVERS (its command), plus what lets it hold N idle connections.

    ``limits`` may use ``{limit}``, a connection count above N. ``ws`` is what the command needs
    added to serve WebSockets at all.
    """

    name: str
    limits: tuple[str, ...]
    ws: tuple[str, ...] = ()

    @property
    def spec(self) -> ServerSpec:
        return next(s for s in SERVERS if s.name == self.name)

    def extra_args(self, kind: str, n: int) -> list[str]:
        """What the row's command gets added to hold ``n`` idle connections of ``kind``."""
        added = [*self.limits, *(self.ws if kind == 'ws' else ())]
        return expand_argv(added, {'limit': str(n + _LIMIT_MARGIN)})


# Each server's own defaults would close an idle keep-alive connection within seconds (uvicorn and
# hypercorn after 5 s, the Granians after 30 s: their header-read timeout also times the wait for
# the next request) or refuse connections past a cap (the Granians' backpressure defaults to
# backlog/workers = 1024 connections, hypercorn's listen backlog is 100): raised, so that all N
# are still open when the memory is read. uvicorn has no connection cap by default; its
# --limit-concurrency is set above N anyway, so a future default cannot cut the row short.
_GRANIAN = ('--backlog', '2048', '--backpressure', '{limit}', '--http1-header-read-timeout', '60000')
_UVICORN = ('--backlog', '2048', '--limit-concurrency', '{limit}', '--timeout-keep-alive', '3600')
_HYPERCORN = ('--backlog', '2048', '--keep-alive', '3600')

MEMORY_SERVERS: tuple[MemoryServer, ...] = (
    MemoryServer('ours-asyncio', _GRANIAN),
    MemoryServer('ours-uvloop', _GRANIAN),
    # uvicorn's WebSocket implementation is its default (--ws auto: websockets, which
    # uvicorn[standard] installs), with its default keepalive pings, which the client answers.
    MemoryServer('uvicorn-h11-asyncio', _UVICORN),
    MemoryServer('uvicorn-httptools-uvloop', _UVICORN),
    MemoryServer('hypercorn-asyncio', _HYPERCORN),
    # The Rust rows say --no-ws for the HTTP scenarios; the last flag wins.
    MemoryServer('granian-rust-asyncio', _GRANIAN, ws=('--ws',)),
)

# Room above N for the connections the checks open, under a cap such as --backpressure.
_LIMIT_MARGIN = 1024
# Reads this far apart that differ by less than this share mean the memory has settled.
_SETTLE_INTERVAL = 1.0
_SETTLE_TOLERANCE = 0.01


class RowError(RuntimeError):
    pass


@dataclass(frozen=True)
class Row:
    """One measured row: the group's memory before and after, and how the connections were held.

    The figure per connection is the growth of Rss: the pages the server made resident for the
    connections. Pss growth is shown beside it but can exceed it in a server that forks its worker
    (ours does): a write to a page the fork left shared with the main process, such as Python's
    cycle collector walking objects that came from the parent, makes that page private, which adds
    to Pss once, however many connections there are, and adds nothing to Rss.
    """

    connections: int
    before: GroupMemory
    after: GroupMemory
    open_seconds: float
    settle_seconds: float

    @property
    def kib_per_connection(self) -> float:
        return (self.after.rss - self.before.rss) / self.connections

    @property
    def pss_kib_per_connection(self) -> float:
        return (self.after.pss - self.before.pss) / self.connections


def _close(a: int, b: int) -> bool:
    return abs(a - b) < _SETTLE_TOLERANCE * max(a, 1)


def settle(read: Callable[[], GroupMemory], timeout: float) -> tuple[GroupMemory, float]:
    """Poll ``read`` once a second until two reads differ by under 1 % (Rss and Pss); the last one, seconds taken."""
    started = time.monotonic()
    previous = read()
    while True:
        time.sleep(_SETTLE_INTERVAL)  # the poll interval itself: reads must be this far apart
        current = read()
        if _close(previous.rss, current.rss) and _close(previous.pss, current.pss):
            return current, time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise RowError(f'memory did not settle within {timeout:.0f} s: {previous} then {current} (KiB)')
        previous = current


class _Client:
    """The idle_client process: pinned, holding the sockets, answering the harness in JSON lines."""

    def __init__(self, argv: list[str], cpu: str, log_path: Path) -> None:
        self._log = log_path.open('wb')
        self._proc = subprocess.Popen(
            ['taskset', '-c', cpu, sys.executable, '-m', 'harness.idle_client', *argv],
            cwd=session.BENCH_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self._pending = b''

    def read(self, timeout: float) -> dict[str, object]:
        """The client's next JSON line, or RowError when it dies or says nothing in time."""
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self._proc.stdout.fileno()
        while b'\n' not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RowError(f'the idle client said nothing within {timeout:.0f} s')
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RowError(f'the idle client exited ({self._proc.wait()}): {self.log_tail()}')
                self._pending += chunk
        line, self._pending = self._pending.split(b'\n', 1)
        answer: dict[str, object] = json.loads(line)
        return answer

    def send(self, command: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(command.encode() + b'\n')
        self._proc.stdin.flush()

    def log_tail(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors='replace')[-2000:]

    def close(self) -> None:
        """Ask it to drop every connection and exit; kill it if it does not within 30 s."""
        try:
            self.send('close')
        except OSError:
            pass  # already gone
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()


@dataclass(frozen=True)
class HoldSettings:
    """What every row shares: how many connections, the two cores, how long memory may take to settle."""

    connections: int
    server_cpu: str
    client_cpu: str
    settle_timeout: float


def measure_row(server: MemoryServer, kind: Kind, command: list[str], settings: HoldSettings, logs: Path) -> Row:
    """Start ``server`` fresh, hold idle connections of ``kind``, return its memory growth.

    Raises RowError or ServerError with the reason when any step or check fails.
    """
    n = settings.connections
    port = free_port(session.HOST)
    argv = expand_argv([*command, *server.extra_args(kind.name, n)], {'port': str(port)})
    log_path = logs / f'{server.name}-{kind.name}.log'
    proc = session.start_server(argv, cpu=settings.server_cpu, log_path=log_path, port=port)
    client: _Client | None = None
    try:
        proc.wait_ready()
        _check_fresh(proc, kind)
        before, _ = settle(proc.memory_kib, settings.settle_timeout)
        client_argv = ['--host', session.HOST, '--port', str(port), '--kind', kind.name]
        client_argv += ['--path', kind.scenario.path, '--payload', kind.payload.decode(), '--connections', str(n)]
        client = _Client(client_argv, settings.client_cpu, logs / f'client-{server.name}-{kind.name}.log')
        # Generous: a few thousand connections a second is slow for any of these servers.
        opened = client.read(timeout=60 + n / 100)
        if opened['opened'] != n:
            raise RowError(f'{opened["opened"]} of {n} connections opened in {opened["seconds"]} s: {opened["errors"]}')
        after, settle_seconds = settle(proc.memory_kib, settings.settle_timeout)
        # Measured; now prove that all n were open at that moment, and the server still serves.
        client.send('check')
        checked = client.read(timeout=60 + n / 100)
        if checked['open'] != n or checked['answered'] != n:
            raise RowError(
                f'at measurement {checked["open"]} of {n} connections were open and {checked["answered"]} '
                f'answered one more exchange: {checked["errors"]}'
            )
        _check_fresh(proc, kind)
        proc.check_healthy()
        return Row(n, before, after, float(str(opened['seconds'])), settle_seconds)
    except RowError as exc:
        raise RowError(f'{exc}\ncommand: {" ".join(proc.argv)}\nserver log tail:\n{proc.log_tail()}') from exc
    finally:
        if client is not None:
            client.close()
        try:
            proc.stop()
        except ServerError as exc:
            print(f'!! {exc}', file=sys.stderr)


def _check_fresh(proc: ServerProcess, kind: Kind) -> None:
    """One exchange of ``kind`` on a new connection: the server serves (and has warmed that path)."""
    sc = kind.scenario
    if sc.transport == 'ws':
        proc.check_websocket_echo(sc.path, sc.body)
    else:
        proc.check_response(sc.method, sc.path, sc.body, sc.expect)
