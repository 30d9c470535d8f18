"""Reloader mode: watch the source tree with watchfiles and report changes to the supervisor.

The watching runs in a child process of its own, so the supervisor stays single-threaded (it forks
workers, and forking next to a running thread is unsafe). The child sends ``('ready', None)`` once
its watches are in place, then ``('changes', [(change, path), ...])`` for each debounced batch. It
ends with the main process: on SIGTERM, or by itself when its parent is gone.

The filter is upstream's: ``reload_filter`` (default :class:`watchfiles.DefaultFilter`) extended at
class level with ``reload_ignore_dirs``, ``reload_ignore_patterns`` and ``reload_ignore_paths``.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

__all__ = ['ChangeWatcher', 'ReloadOptions', 'build_filter']

#: How often the child wakes without changes, to notice an orphaned state (and to report ready).
_IDLE_TIMEOUT_MS = 1000


@dataclass(frozen=True)
class ReloadOptions:
    paths: Sequence[str]
    ignore_dirs: Sequence[str] = ()
    ignore_patterns: Sequence[str] = ()
    ignore_paths: Sequence[str] = ()
    filter_class: type[Any] | None = None
    tick_ms: int = 50
    ignore_worker_failure: bool = False


def build_filter(options: ReloadOptions) -> Any:
    """An instance of the filter class, extended with the ignore options (the user's class is not modified)."""
    import watchfiles

    base: type[Any] = options.filter_class or watchfiles.DefaultFilter
    extended = type(
        base.__name__,
        (base,),
        {
            'ignore_dirs': (*base.ignore_dirs, *options.ignore_dirs),
            'ignore_entity_patterns': (*base.ignore_entity_patterns, *options.ignore_patterns),
            'ignore_paths': (*base.ignore_paths, *(str(path) for path in options.ignore_paths)),
        },
    )
    return extended()


class _ParentGone:
    """watchfiles' stop event: set once the process that started us has exited."""

    def __init__(self, parent: int) -> None:
        self._parent = parent

    def is_set(self) -> bool:
        return os.getppid() != self._parent


def _watch(options: ReloadOptions, writer: Connection, parent: int) -> None:
    # A forked child inherits the supervisor's handlers: Ctrl-C is the supervisor's to handle,
    # SIGTERM from the supervisor ends us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, 'SIGHUP'):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    import watchfiles

    ready = False
    try:
        for changes in watchfiles.watch(
            *options.paths,
            watch_filter=build_filter(options),
            step=options.tick_ms,
            stop_event=_ParentGone(parent),
            rust_timeout=_IDLE_TIMEOUT_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            if not ready:
                # The first yield (a timeout, usually) means every watch is in place.
                writer.send(('ready', None))
                ready = True
            if changes:
                writer.send(('changes', sorted((change.raw_str(), path) for change, path in changes)))
    except (BrokenPipeError, EOFError, OSError):
        pass


class ChangeWatcher:
    """The supervisor's handle on the watching process."""

    def __init__(self, options: ReloadOptions, ctx: BaseContext) -> None:
        self.options = options
        reader, writer = ctx.Pipe(duplex=False)
        self.reader: Connection = reader
        self._proc: BaseProcess = ctx.Process(  # type: ignore[attr-defined]
            name='granian-reloader', target=_watch, args=(options, writer, os.getpid()), daemon=True
        )
        self._writer: Connection | None = writer

    @property
    def sentinel(self) -> int:
        return self._proc.sentinel

    def start(self) -> None:
        self._proc.start()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def receive(self) -> list[tuple[str, Any]]:
        """The messages waiting on the pipe; an empty list once the watcher is gone."""
        messages: list[tuple[str, Any]] = []
        try:
            while self.reader.poll():
                messages.append(self.reader.recv())
        except (EOFError, OSError):
            pass
        return messages

    def stop(self) -> None:
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self.reader.close()
