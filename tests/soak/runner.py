"""Running one soak: the server, the loads, the SIGHUPs, the samples, then the end checks.

The server is the real ``granian`` command (``--workers 2 --http auto``), serving
:mod:`soak.app` on 127.0.0.1 with a port of its choosing, a pid file and a process name (which is
how :class:`~soak.monitor.Monitor` tells workers from other children). The loads run in threads of
this process until the deadline, a SIGHUP goes to the main process every ``sighup_every`` seconds,
and :class:`~soak.monitor.Monitor` samples the processes every ``sample_every`` seconds. At the
end: the loads stop, the last rolling restart is let finish, fds are counted once every client
has gone, the server gets SIGTERM and must exit with 0. :mod:`soak.report` judges the outcome.
"""

from __future__ import annotations

import math
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from soak.h2load import h2c
from soak.loads import LoadContext, Plan, keep_alive, pipelined, slow_reader, slow_writer, upload, websocket
from soak.monitor import Monitor, ProcessSample
from soak.record import Recorder
from soak.resets import resets
from testkit.process import TESTS, ServerProcess, cli_server

__all__ = ['LOADS', 'Options', 'Outcome', 'run']

Load = Callable[[LoadContext, str, int], None]

#: Every load kind, with how many client threads run it.
LOADS: dict[str, tuple[Load, int]] = {
    'keep-alive': (keep_alive, 2),
    'pipelined': (pipelined, 1),
    'upload': (upload, 1),
    'h2c': (h2c, 1),
    'websocket': (websocket, 2),
    'slow-reader': (slow_reader, 1),
    'slow-writer': (slow_writer, 1),
    'reset': (resets, 1),
}
#: A client thread that broke (a bug of the soak itself) is reported under this kind.
CLIENT = 'client'
#: The server process ending before its time is reported under this kind.
SERVER = 'server'
PROCESS_NAME = 'granian-soak'
TARGETS = {'asgi': 'soak.app:app', 'rsgi': 'soak.app:rsgi_app'}


@dataclass(frozen=True)
class Options:
    duration: float = 600.0
    #: Seconds between SIGHUPs; the last one goes at least this long before the end.
    sighup_every: float = 60.0
    sample_every: float = 5.0
    interface: str = 'asgi'
    loop: str = 'auto'
    plan: Plan = field(default_factory=Plan)
    seed: int = 1
    #: Bounds the waits after the load: the last rolling restart, the clients' connections closing.
    settle_timeout: float = 120.0

    @classmethod
    def for_minutes(cls, minutes: float, **overrides: object) -> Options:
        """The options of a soak this long: time-bound knobs scale down for runs under 3 minutes,
        so a short run still sees two SIGHUPs, generations that outlive their warm-up, and slow
        requests that fit between the SIGHUPs."""
        duration = minutes * 60
        sighup = min(60.0, duration / 3)
        plan = Plan(slow_seconds=min(20.0, sighup / 4))
        values: dict[str, object] = {
            'duration': duration,
            'sighup_every': sighup,
            'sample_every': min(5.0, sighup / 12),  # 5 s from 3 minutes on; more often when shorter
            'plan': plan,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class Outcome:
    options: Options
    record: Recorder
    monitor: Monitor
    sighups: int
    #: Samples once the load stopped and every client had gone (the fd check).
    main_start: ProcessSample
    main_end: ProcessSample | None
    workers_start: dict[int, ProcessSample]
    workers_end: dict[int, ProcessSample]
    rolled: bool
    exit_code: int | None
    log_problems: list[str]


def _start_server(options: Options, pid_file: Path) -> ServerProcess:
    args = [
        '--interface', options.interface,
        '--http', 'auto',
        '--workers', '2',
        '--loop', options.loop,
        '--port', '0',
        '--process-name', PROCESS_NAME,
        '--pid-file', str(pid_file),
        '--working-dir', str(TESTS),
        TARGETS[options.interface],
    ]  # fmt: skip
    server = cli_server(*args).ready()
    server.wait_for('Started worker-', more_than=1)
    return server


def _wait(condition: Callable[[], bool], timeout: float, step: Callable[[], None]) -> bool:
    """Poll ``condition`` (calling ``step`` between looks) until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        step()
        time.sleep(0.2)
    return True


def _log_problems(output: str) -> list[str]:
    """The server's log lines other than INFO (warnings, errors, tracebacks, asyncio's own lines)."""
    return [line for line in output.splitlines() if line and not line.startswith('[INFO]')]


def _serving(server: ServerProcess) -> Callable[[int], bool]:
    """Whether a worker pid has logged ``Started``: the first ``Started worker-N`` after its spawn line."""
    known: set[int] = set()

    def serving(pid: int) -> bool:
        if pid in known:
            return True
        lines = list(server.lines)
        spawn = next((i for i, line in enumerate(lines) if line.endswith(f' with PID: {pid}')), None)
        if spawn is None:
            return False
        slot = lines[spawn].split('Spawning worker-')[1].split()[0]
        if any(line.endswith(f'Started worker-{slot}') for line in lines[spawn + 1 :]):
            known.add(pid)
            return True
        return False

    return serving


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Outcome:
    with tempfile.TemporaryDirectory(prefix='granian-soak-') as scratch:
        pid_file = Path(scratch) / 'granian.pid'
        server = _start_server(options, pid_file)
        try:
            return _soak(options, server, pid_file, progress)
        finally:
            server.kill()


def _soak(options: Options, server: ServerProcess, pid_file: Path, progress: Callable[[str], None]) -> Outcome:
    main_pid = int(pid_file.read_text().strip())
    assert main_pid == server.proc.pid, f'the pid file names {main_pid}, the server is {server.proc.pid}'
    started = time.monotonic()
    monitor = Monitor(main_pid, server.port, PROCESS_NAME, started, _serving(server))
    if not _wait(lambda: len(monitor.workers()) == 2, 30, lambda: None):
        raise RuntimeError(f'the workers never took their titles; output:\n{server.output}')
    monitor.sample()
    main_start = monitor.main[-1]
    workers_start = {g.slot: g.samples[-1] for g in monitor.live()}

    record = Recorder(started)
    stop = threading.Event()
    ctx = LoadContext('127.0.0.1', server.port, record, options.plan, stop, started + options.duration)
    threads = []
    for kind, (load, count) in LOADS.items():
        record.declare(kind)
        for idx in range(count):
            thread = threading.Thread(
                target=_guarded,
                args=(load, ctx, kind, options.seed * 100 + idx),
                name=f'soak-{kind}-{idx}',
                daemon=True,  # an interrupted soak must not wait for its clients
            )
            thread.start()
            threads.append(thread)

    sighups = 0
    next_sample = started + options.sample_every
    next_sighup = started + options.sighup_every
    # The last SIGHUP goes at least one interval before the end, so its rolling restart happens
    # under load too.
    last_sighup = started + options.duration - options.sighup_every + 0.5
    while (now := time.monotonic()) < ctx.deadline:
        if server.proc.poll() is not None:
            record.failed(SERVER, f'the server exited with {server.proc.returncode} during the soak')
            break
        if now >= next_sample:
            monitor.sample()
            next_sample += options.sample_every
        if now >= next_sighup:
            server.send_signal(signal.SIGHUP)
            sighups += 1
            progress(
                f'{monitor.elapsed():6.0f} s  SIGHUP #{sighups}; ok {record.total_ok}, failed {record.total_failed}'
            )
            next_sighup += options.sighup_every
            if next_sighup > last_sighup:
                next_sighup = math.inf
        stop.wait(max(0.0, min(next_sample, next_sighup, ctx.deadline) - time.monotonic()))
    stop.set()
    progress(f'{monitor.elapsed():6.0f} s  load stopped; ok {record.total_ok}, failed {record.total_failed}')
    for thread in threads:
        thread.join(options.plan.slow_seconds + 60)
        if thread.is_alive():
            record.failed(CLIENT, f'{thread.name} still running after the deadline')

    # Every SIGHUP replaces both workers, one at a time: wait for the last replacement to finish.
    # Then, the clients being gone, for the connections to close and the fds to come back.
    generations = 2 * (1 + sighups)
    alive = server.proc.poll() is None
    rolled = alive and _wait(
        lambda: len(monitor.generations) >= generations and len(monitor.live()) == 2,
        options.settle_timeout,
        monitor.sample,
    )
    if alive:
        _wait(lambda: _settled(monitor, main_start), min(30.0, options.settle_timeout), lambda: None)
    monitor.sample()
    main_end = monitor.latest(main_pid)
    workers_end = {g.slot: g.samples[-1] for g in monitor.live() if g.samples}
    try:
        exit_code: int | None = server.stop(signal.SIGTERM, timeout=60)
    except AssertionError:  # it did not stop in time (and was killed)
        exit_code = None
    return Outcome(
        options=options,
        record=record,
        monitor=monitor,
        sighups=sighups,
        main_start=main_start,
        main_end=main_end,
        workers_start=workers_start,
        workers_end=workers_end,
        rolled=rolled,
        exit_code=exit_code,
        log_problems=_log_problems(server.output),
    )


def _settled(monitor: Monitor, main_start: ProcessSample) -> bool:
    """Whether the fds are back where :func:`soak.report` wants them (it says why)."""
    main = monitor.latest(monitor.main_pid)
    if main is None or main.fds != main_start.fds:
        return False
    for generation in monitor.live():
        now = monitor.latest(generation.pid)
        if now is None or now.connections or now.own_fds != generation.base_fds():
            return False
    return True


def _guarded(load: Load, ctx: LoadContext, kind: str, seed: int) -> None:
    """Run a load; a crash of the client is a failure of the soak, reported with its traceback."""
    try:
        load(ctx, kind, seed)
    except BaseException:
        ctx.record.failed(CLIENT, f'{kind} client crashed: {traceback.format_exc(limit=4)}')
