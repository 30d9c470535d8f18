"""The body of a worker process: set up logging and the loop, load the app, serve, exit.

Exit codes tell the supervisor what happened: 0 after a requested stop, 1 when the app could not
be loaded or ASGI lifespan startup failed (an uncaught exception exits with 1 as well).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from .errors import FatalError
from .interfaces import make_interface
from .listening import Listeners
from .log import configure_logging, logger
from .loops import loops
from .metrics_worker import MetricsPusher
from .process_title import set_process_title, worker_title
from .serving import ServeConfig, serve_app
from .target import env_loader, load_target

__all__ = ['HANDOFF_SIGNALS', 'WorkerSpec', 'block_signals', 'restore_signal_mask', 'run_worker']

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The signals the supervisor handles: blocked while it forks a worker, unblocked by the worker
#: once its own handling is in place, so that none is lost to the inherited handlers in between.
HANDOFF_SIGNALS = frozenset({*_STOP_SIGNALS, *([signal.SIGHUP] if hasattr(signal, 'SIGHUP') else [])})
# Windows has no signal masks (and spawns its workers, so inherits no handlers either).
_MASKS = hasattr(signal, 'pthread_sigmask')


def block_signals(signals: frozenset[signal.Signals]) -> set[int | signal.Signals]:
    """Block ``signals`` in this thread; the previous mask, for :func:`restore_signal_mask`."""
    if not _MASKS:
        return set()
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, signals))


def restore_signal_mask(previous: set[int | signal.Signals]) -> None:
    if _MASKS:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@dataclass
class WorkerSpec:
    """Everything a worker process needs; built once by the server for every worker."""

    target: str
    serve: ServeConfig
    loop: str = 'auto'
    factory: bool = False
    working_dir: str | None = None
    env_files: list[str] = field(default_factory=list)
    log_enabled: bool = True
    log_level: str = 'info'
    log_dictconfig: dict[str, Any] | None = None
    process_name: str | None = None
    target_loader: Callable[..., Any] | None = None
    #: Seconds between two metrics records sent to the main process (with a metrics pipe).
    metrics_interval: float = 15.0


def _load(spec: WorkerSpec) -> Any:
    if spec.target_loader is not None:
        return spec.target_loader()
    return load_target(spec.target, wd=spec.working_dir, factory=spec.factory)


def run_worker(
    spec: WorkerSpec, worker_id: int, listeners: Listeners, metrics_writer: Connection | None = None
) -> None:
    """Entry point of a worker process; exits the process when serving ends.

    ``metrics_writer`` is this worker's end of its metrics pipe, when the exporter is enabled.
    """
    # A forked child inherits the supervisor's signal plumbing: drop it before anything else.
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    if hasattr(signal, 'SIGHUP'):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    if _MASKS:
        # Blocked by the supervisor across the fork: a stop signal sent meanwhile is delivered
        # now, to the default action, and ends a worker that has not started serving.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDOFF_SIGNALS)
    if spec.process_name:
        set_process_title(worker_title(spec.process_name, worker_id))
    configure_logging(spec.log_level, spec.log_dictconfig, spec.log_enabled)
    env_loader(spec.env_files)()

    loop = loops.get(spec.loop)
    asyncio.set_event_loop(loop)
    try:
        interface = make_interface(spec.serve.interface.value, _load(spec))
    except BaseException:
        logger.error(f'Worker-{worker_id} failed to load the application', exc_info=True)
        loop.close()
        sys.exit(1)

    stop: asyncio.Future[None] = loop.create_future()

    def request_stop(*_: Any) -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in _STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, request_stop)
        except (NotImplementedError, RuntimeError):
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(request_stop))

    metrics = MetricsPusher(metrics_writer, spec.metrics_interval) if metrics_writer is not None else None
    code = 0
    interface.setup(loop)
    try:
        loop.run_until_complete(serve_app(interface, spec.serve, listeners, stop, worker_id=worker_id, metrics=metrics))
    except FatalError:
        code = 1
    finally:
        try:
            interface.teardown(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
    sys.exit(code)
