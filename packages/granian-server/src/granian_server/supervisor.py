"""The main process: spawn the workers, watch them and the signals, stop them gracefully.

The supervisor is single-threaded. Signal handlers only note the signal (``set_wakeup_fd`` wakes
the wait); the loop blocks on the worker sentinels and the wake-up pipe, so there is no watcher
thread and ``fork`` stays safe.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys
from collections.abc import Callable
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from .log import logger
from .worker import WorkerSpec, run_worker

__all__ = ['Supervisor', 'WorkerProcess', 'mp_context']

_INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def mp_context() -> BaseContext:
    # fork keeps scripts without a __main__ guard working, as upstream does on Linux; elsewhere
    # fork is unsafe (macOS) or missing (Windows).
    return multiprocessing.get_context('fork' if sys.platform == 'linux' else 'spawn')


class WorkerProcess:
    """One worker process and its identity (``worker-N``) across respawns."""

    def __init__(self, idx: int, spec: WorkerSpec, sockets: list[socket.socket], ctx: BaseContext) -> None:
        self.idx = idx
        self._spec = spec
        self._sockets = sockets
        self._ctx = ctx
        self.proc: BaseProcess = self._new_process()

    def _new_process(self) -> BaseProcess:
        return self._ctx.Process(  # type: ignore[attr-defined,no-any-return]
            name='granian-worker', target=run_worker, args=(self._spec, self.idx, self._sockets)
        )

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    @property
    def sentinel(self) -> int:
        return self.proc.sentinel

    def start(self) -> None:
        self.proc.start()
        logger.info(f'Spawning worker-{self.idx} with PID: {self.proc.pid}')

    def terminate(self) -> None:
        if self.proc.is_alive():
            self.proc.terminate()

    def join(self, timeout: float | None) -> None:
        self.proc.join(timeout)
        if self.proc.is_alive():
            logger.warning(f'Killing worker-{self.idx} after it refused to gracefully stop')
            self.proc.kill()
            self.proc.join()


class Supervisor:
    def __init__(
        self,
        spec: WorkerSpec,
        sockets: list[socket.socket],
        *,
        workers: int,
        kill_timeout: float | None,
    ) -> None:
        self.spec = spec
        self.sockets = sockets
        self.kill_timeout = kill_timeout
        self._ctx = mp_context()
        self.workers = [WorkerProcess(idx + 1, spec, sockets, self._ctx) for idx in range(workers)]
        self._signals: list[int] = []
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self.exit_code = 0
        self.on_reload: Callable[[], None] | None = None

    # -- signals -------------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals.append(signum)

    def _install_signals(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}
        self._wakeup_w.setblocking(False)
        signal.set_wakeup_fd(self._wakeup_w.fileno(), warn_on_full_buffer=False)
        for sig in (*_INTERRUPT_SIGNALS, *((signal.SIGHUP,) if hasattr(signal, 'SIGHUP') else ())):
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
            for worker in self.workers:
                worker.start()
            self._watch()
            self.shutdown()
        finally:
            self._restore_signals(previous)
        return self.exit_code

    def _watch(self) -> None:
        while True:
            by_sentinel = {worker.sentinel: worker for worker in self.workers}
            ready = multiprocessing.connection.wait([self._wakeup_r, *by_sentinel])
            if self._wakeup_r in ready:
                try:
                    self._wakeup_r.recv(4096)
                except BlockingIOError:
                    pass
            while self._signals:
                signum = self._signals.pop(0)
                if signum in _INTERRUPT_SIGNALS:
                    return
                if signum == getattr(signal, 'SIGHUP', None):
                    self._rolling_respawn()
            for sentinel in ready:
                worker = by_sentinel.get(sentinel) if isinstance(sentinel, int) else None
                if worker is not None:
                    worker.proc.join()
                    logger.error(f'Unexpected exit from worker-{worker.idx}')
                    self.exit_code = 1
                    return

    def _rolling_respawn(self) -> None:
        """Replace every worker, one at a time, the new one serving before the old one stops."""
        logger.info('HUP signal received, gracefully respawning workers..')
        if self.on_reload is not None:
            self.on_reload()
        for pos, old in enumerate(self.workers):
            new = WorkerProcess(old.idx, self.spec, self.sockets, self._ctx)
            new.start()
            self.workers[pos] = new
            old.terminate()
            old.join(self.kill_timeout)

    def shutdown(self) -> None:
        logger.info('Shutting down granian')
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.join(self.kill_timeout)
