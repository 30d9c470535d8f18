"""The main process: spawn the workers, watch them, respawn them, stop them gracefully.

The supervisor is single-threaded, so ``fork`` stays safe. Signal handlers only note the signal
(``set_wakeup_fd`` wakes the wait); the loop blocks in one ``multiprocessing.connection.wait`` on
the worker sentinels, the wake-up socket, the metrics pipes and endpoint, and the reloader's pipe.
Every timer (a hand-over, a kill timeout, worker lifetimes, memory sampling, a metrics client's
deadline) is a deadline that bounds that wait.

How workers are replaced:

- **Rolling** (SIGHUP, ``workers_lifetime``, ``workers_max_rss``): one worker at a time. The
  replacement is spawned, both serve for ``respawn_interval`` seconds, then the old one gets SIGTERM
  (it finishes its in-flight requests; SIGKILL after ``workers_kill_timeout``), and the next
  replacement starts once it has exited. By default the listening socket is one socket shared by
  every worker, so a connection waiting in its backlog is accepted by whichever worker comes next:
  a worker that stops loses none (with ``reuse_port`` each worker has its own listener instead,
  see :mod:`.listening`).
- **After an unexpected exit** (``respawn_failed_workers``): at once, unless that worker had been
  respawned less than 5.5 s before; that is a crash loop, and the server exits with code 1.
- **Reloader mode** (files changed): every worker is stopped, then every worker is spawned again.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from .listening import Listeners
from .log import logger
from .metrics import GLOBAL_COUNTERS, MetricsHub, render
from .metrics_exporter import MetricsExporter
from .reloader import ChangeWatcher, ReloadOptions
from .rss import rss_of
from .worker import HANDOFF_SIGNALS, WorkerSpec, block_signals, restore_signal_mask, run_worker

__all__ = ['Supervisor', 'SupervisorOptions', 'WorkerProcess', 'mp_context']

_INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SIGHUP = getattr(signal, 'SIGHUP', None)

#: A worker that fails again this soon after its respawn is in a crash loop (upstream's rule).
_CRASH_LOOP_WINDOW = 5.5
#: Workers are replaced at this share of their lifetime, so the replacement is up in time.
_LIFETIME_SHARE = 0.95
_MIB = 1024 * 1024
#: The longest single wait: a far deadline (a lifetime of years) would overflow the wait's timeout,
#: and waking up once in a while to find nothing due costs nothing.
_MAX_WAIT = 3600.0


def mp_context() -> BaseContext:
    # fork keeps scripts without a __main__ guard working, as upstream does on Linux; elsewhere
    # fork is unsafe (macOS) or missing (Windows).
    return multiprocessing.get_context('fork' if sys.platform == 'linux' else 'spawn')


@dataclass(frozen=True)
class SupervisorOptions:
    workers: int = 1
    kill_timeout: float | None = None
    respawn_failed_workers: bool = False
    respawn_interval: float = 3.5
    #: Seconds; None for no limit.
    lifetime: float | None = None
    #: Bytes; None for no limit.
    max_rss: int | None = None
    rss_sample_interval: float = 30.0
    rss_samples: int = 1
    #: Reloader mode when set.
    reload: ReloadOptions | None = None
    #: The Prometheus exporter's address when it is enabled.
    metrics_address: str | None = None
    metrics_port: int = 9090


class WorkerProcess:
    """One worker process, known as ``worker-N``; a respawn makes a new one with the same N."""

    def __init__(
        self,
        idx: int,
        spec: WorkerSpec,
        listeners: Listeners,
        ctx: BaseContext,
        *,
        metrics_writer: Connection | None = None,
        respawned_at: float | None = None,
    ) -> None:
        self.idx = idx
        self.proc: BaseProcess = ctx.Process(  # type: ignore[attr-defined]
            name='granian-worker', target=run_worker, args=(spec, idx, listeners, metrics_writer)
        )
        #: When this process replaced a predecessor (None for the first of its line).
        self.respawned_at = respawned_at
        self.spawned_at = 0.0
        #: Queued for a rolling replacement, or being replaced: no further decision about it.
        self.retiring = False
        self.rss_strikes = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    @property
    def sentinel(self) -> int:
        return self.proc.sentinel

    def start(self) -> None:
        # A forked child runs with the supervisor's signal handlers until run_worker resets them:
        # a SIGTERM in between (a shutdown right after a respawn) would be noted in the child's
        # copy of the supervisor and lost, and the worker would serve on, never stopped. Blocked
        # across the fork, the signal stays pending until the worker unblocks it (HANDOFF_SIGNALS).
        blocked = block_signals(HANDOFF_SIGNALS)
        try:
            self.proc.start()
        finally:
            restore_signal_mask(blocked)
        self.spawned_at = time.monotonic()
        logger.info(f'Spawning worker-{self.idx} with PID: {self.proc.pid}')

    def terminate(self) -> None:
        if self.proc.is_alive():
            self.proc.terminate()

    def kill(self) -> None:
        logger.warning(f'Killing worker-{self.idx} after it refused to gracefully stop')
        if self.proc.is_alive():
            self.proc.kill()


def stop_processes(workers: Iterable[WorkerProcess], kill_timeout: float | None) -> None:
    """SIGTERM every worker, wait for all of them together, SIGKILL those still there at the deadline."""
    workers = list(workers)
    for worker in workers:
        worker.terminate()
    deadline = None if kill_timeout is None else time.monotonic() + kill_timeout
    for worker in workers:
        worker.proc.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if worker.proc.is_alive():
            worker.kill()
            worker.proc.join()


@dataclass
class _Handover:
    """A rolling replacement: ``old`` serves next to its replacement until ``stop_at``, then stops."""

    old: WorkerProcess
    stop_at: float
    stopping: bool = False
    kill_at: float | None = None


class Supervisor:
    def __init__(
        self,
        spec: WorkerSpec,
        listeners: Listeners,
        options: SupervisorOptions,
        *,
        on_reload: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec
        self.listeners = listeners
        self.options = options
        #: Called before workers are replaced for SIGHUP or a change: reload env files, run hooks.
        self.on_reload = on_reload
        self.exit_code = 0
        self.workers: dict[int, WorkerProcess] = {}
        self.counters = dict.fromkeys(GLOBAL_COUNTERS, 0)
        self._ctx = mp_context()
        self._signals: list[int] = []
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self._queue: deque[tuple[int, int | None, str]] = deque()
        self._handover: _Handover | None = None
        self._lifetime = options.lifetime or None
        self._rss_due = 0.0
        self._metrics = MetricsHub() if options.metrics_address is not None else None
        self._exporter: MetricsExporter | None = None
        self._watcher: ChangeWatcher | None = None

    # -- signals -------------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals.append(signum)

    def _install_signals(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}
        self._wakeup_w.setblocking(False)
        signal.set_wakeup_fd(self._wakeup_w.fileno(), warn_on_full_buffer=False)
        for sig in (*_INTERRUPT_SIGNALS, *((_SIGHUP,) if _SIGHUP is not None else ())):
            previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    def _restore_signals(self, previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(-1)
        self._wakeup_r.close()
        self._wakeup_w.close()

    # -- lifecycle -----------------------------------------------------------------------------

    def run(self) -> int:
        """Spawn the workers and supervise them until an interrupt or a failure; return the exit code."""
        previous = self._install_signals()
        try:
            if self.options.metrics_address is not None:
                self._exporter = MetricsExporter(self.options.metrics_address, self.options.metrics_port, self._render)
            for idx in range(1, self.options.workers + 1):
                self._spawn(idx)
            if self._exporter is not None:
                logger.info(f'Metrics exporter listening at: {self._exporter.url}')
            if self.options.reload is not None:
                self._watcher = ChangeWatcher(self.options.reload, self._ctx)
                self._watcher.start()
            self._rss_due = time.monotonic() + self.options.rss_sample_interval
            self._watch()
            self.shutdown()
        finally:
            self._restore_signals(previous)
        return self.exit_code

    def shutdown(self) -> None:
        logger.info('Shutting down granian')
        if self._exporter is not None:
            self._exporter.close()
            self._exporter = None
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        workers = list(self.workers.values())
        if self._handover is not None:
            workers.append(self._handover.old)
            self._handover = None
        stop_processes(workers, self.options.kill_timeout)
        if self._metrics is not None:
            self._metrics.close()

    def _spawn(self, idx: int, *, respawned: bool = False) -> WorkerProcess:
        reader = writer = None
        if self._metrics is not None:
            reader, writer = self._ctx.Pipe(duplex=False)
        worker = WorkerProcess(
            idx,
            self.spec,
            self.listeners,
            self._ctx,
            metrics_writer=writer,
            respawned_at=time.monotonic() if respawned else None,
        )
        worker.start()
        if reader is not None and writer is not None and self._metrics is not None:
            writer.close()  # the worker has its own copy; ours would hide its exit from the reader
            self._metrics.attach(idx, reader)
        self.workers[idx] = worker
        self.counters['workers_spawns'] += 1
        return worker

    # -- the loop ------------------------------------------------------------------------------

    def _waitables(self) -> list[Any]:
        waitables: list[Any] = [self._wakeup_r, *(worker.sentinel for worker in self.workers.values())]
        if self._handover is not None:
            waitables.append(self._handover.old.sentinel)
        if self._metrics is not None:
            waitables.extend(self._metrics.readers())
        if self._exporter is not None:
            waitables.extend(self._exporter.waitables())
        if self._watcher is not None:
            waitables.extend((self._watcher.reader, self._watcher.sentinel))
        return waitables

    def _timeout(self) -> float | None:
        deadlines: list[float] = []
        handover = self._handover
        if handover is not None:
            if not handover.stopping:
                deadlines.append(handover.stop_at)
            elif handover.kill_at is not None:
                deadlines.append(handover.kill_at)
        if self._lifetime is not None:
            ttl = self._lifetime * _LIFETIME_SHARE
            deadlines.extend(w.spawned_at + ttl for w in self.workers.values() if not w.retiring)
        if self.options.max_rss is not None:
            deadlines.append(self._rss_due)
        if self._exporter is not None and (client_deadline := self._exporter.next_deadline()) is not None:
            deadlines.append(client_deadline)
        if self._queue and handover is None:
            return 0.0
        if not deadlines:
            return None
        return min(_MAX_WAIT, max(0.0, min(deadlines) - time.monotonic()))

    def _watch(self) -> None:
        while True:
            ready = set(multiprocessing.connection.wait(self._waitables(), self._timeout()))
            if self._wakeup_r in ready:
                try:
                    self._wakeup_r.recv(4096)
                except BlockingIOError:
                    pass
            if not self._handle_signals():
                return
            now = time.monotonic()
            if self._metrics is not None:
                self._metrics.receive(ready)
            if self._exporter is not None:
                self._exporter.handle(ready, now)
            if not self._reap(ready, now) or not self._handle_watcher(ready):
                return
            self._check_lifetimes(now)
            self._sample_rss(now)
            self._advance_handover(time.monotonic())

    def _handle_signals(self) -> bool:
        """Act on the signals received; False on an interrupt."""
        while self._signals:
            signum = self._signals.pop(0)
            if signum in _INTERRUPT_SIGNALS:
                return False
            if signum == _SIGHUP:
                logger.info('HUP signal received, gracefully respawning workers..')
                self._run_reload_hooks()
                for idx in range(1, self.options.workers + 1):
                    worker = self.workers.get(idx)
                    if worker is None:
                        self._queue.append((idx, None, 'reload'))
                    elif not worker.retiring:
                        self._enqueue(worker, 'reload')
        return True

    def _run_reload_hooks(self) -> None:
        if self.on_reload is not None:
            self.on_reload()

    # -- exits ---------------------------------------------------------------------------------

    def _reap(self, ready: set[Any], now: float) -> bool:
        """Handle workers that exited; False when the server has to stop."""
        for worker in list(self.workers.values()):
            if worker.sentinel in ready:
                worker.proc.join()
                if not self._on_unexpected_exit(worker, now):
                    return False
        handover = self._handover
        if handover is not None and handover.old.sentinel in ready:
            handover.old.proc.join()
            self._handover = None
        return True

    def _on_unexpected_exit(self, worker: WorkerProcess, now: float) -> bool:
        logger.error(f'Unexpected exit from worker-{worker.idx}')
        del self.workers[worker.idx]
        crash_loop = worker.respawned_at is not None and now - worker.respawned_at < _CRASH_LOOP_WINDOW
        if self.options.respawn_failed_workers and not crash_loop:
            self.counters['workers_respawns_for_err'] += 1
            self._spawn(worker.idx, respawned=True)
            return True
        reload = self.options.reload
        if reload is not None and reload.ignore_worker_failure:
            # The worker stays down until the next change brings every worker back.
            return True
        if crash_loop and self.options.respawn_failed_workers:
            logger.error('Worker crash loop detected, exiting')
        self.exit_code = 1
        return False

    # -- rolling replacements ------------------------------------------------------------------

    def _enqueue(self, worker: WorkerProcess, reason: str) -> None:
        worker.retiring = True
        self._queue.append((worker.idx, worker.pid, reason))

    def _check_lifetimes(self, now: float) -> None:
        if self._lifetime is None:
            return
        ttl = self._lifetime * _LIFETIME_SHARE
        for worker in list(self.workers.values()):
            if not worker.retiring and now >= worker.spawned_at + ttl:
                logger.info(f'worker-{worker.idx} lifetime expired, gracefully respawning..')
                self._enqueue(worker, 'lifetime')

    def _sample_rss(self, now: float) -> None:
        limit = self.options.max_rss
        if limit is None or now < self._rss_due:
            return
        self._rss_due = now + self.options.rss_sample_interval
        candidates = [w for w in self.workers.values() if not w.retiring and w.pid is not None]
        sizes = rss_of(w.pid for w in candidates if w.pid is not None)
        for worker in candidates:
            size = sizes.get(worker.pid)  # type: ignore[arg-type]
            if size is None:
                continue
            worker.rss_strikes = worker.rss_strikes + 1 if size > limit else 0
            if worker.rss_strikes >= self.options.rss_samples:
                logger.info(
                    f'worker-{worker.idx} memory usage ({size / _MIB:.1f} MiB) exceeded the limit '
                    f'({limit / _MIB:.0f} MiB), gracefully respawning..'
                )
                self._enqueue(worker, 'rss')

    def _advance_handover(self, now: float) -> None:
        handover = self._handover
        if handover is not None:
            if not handover.stopping and now >= handover.stop_at:
                handover.old.terminate()
                handover.stopping = True
                if self.options.kill_timeout is not None:
                    handover.kill_at = now + self.options.kill_timeout
            elif handover.kill_at is not None and now >= handover.kill_at:
                handover.old.kill()
                handover.kill_at = None
            return  # the old worker's exit (seen by _reap) ends the hand-over
        while self._queue and self._handover is None:
            idx, pid, reason = self._queue.popleft()
            old = self.workers.get(idx)
            if pid is not None and (old is None or old.pid != pid):
                continue  # replaced meanwhile (it failed and was respawned)
            if reason in ('lifetime', 'rss'):
                self.counters[f'workers_respawns_for_{reason}'] += 1
            self._spawn(idx, respawned=True)
            if old is not None:
                self._handover = _Handover(old, time.monotonic() + self.options.respawn_interval)

    # -- reloader ------------------------------------------------------------------------------

    def _handle_watcher(self, ready: set[Any]) -> bool:
        watcher = self._watcher
        if watcher is None:
            return True
        if watcher.reader in ready:
            for kind, payload in watcher.receive():
                if kind == 'ready':
                    logger.info(f'Watching for changes in: {", ".join(watcher.options.paths)}')
                elif kind == 'changes':
                    self._reload_all(payload)
        if watcher.sentinel in ready:
            logger.error('The reloader stopped unexpectedly')
            self.exit_code = 1
            return False
        return True

    def _reload_all(self, changes: list[tuple[str, str]]) -> None:
        logger.info('Changes detected, reloading workers..')
        for change, path in changes:
            logger.info(f'{change}: {path}')
        self._run_reload_hooks()
        workers = list(self.workers.values())
        if self._handover is not None:
            workers.append(self._handover.old)
            self._handover = None
        self._queue.clear()
        stop_processes(workers, self.options.kill_timeout)
        self.workers.clear()
        for idx in range(1, self.options.workers + 1):
            self._spawn(idx)

    # -- metrics -------------------------------------------------------------------------------

    def _render(self) -> bytes:
        now = time.monotonic()
        lifetimes = {idx: now - worker.spawned_at for idx, worker in self.workers.items()}
        if self._metrics is None:
            return render(self.counters, lifetimes, {})
        return render(self.counters, lifetimes, self._metrics.records, self._metrics.durations())
