"""Upstream's Rust-runtime options in a pure-Python worker: what each one does here, said at start-up.

Upstream Granian does its network I/O on a Tokio runtime inside each worker and runs the app on
one asyncio loop. Four of its options shape that runtime. This server has no Tokio runtime: a
worker is one asyncio loop in one thread that does both the I/O and the app. So:

* ``runtime_blocking_threads`` does what it says: the size of each worker's thread pool for
  blocking file I/O (static files, ``response_file``).
* ``runtime_threads`` (upstream: Tokio threads per worker) would here mean more event loops in more
  threads of the worker, each accepting on the worker's listeners. A prototype of that was
  measured on CPython 3.11 (README, "Runtime options"): with the GIL only one thread runs Python
  code at a time, and a request here is Python from the socket to the app, so a second loop adds
  no capacity; it cost up to 6 % more CPU per request. Only a free-threaded interpreter could gain
  from it, and none could be installed or tested here. It stays one thread; a larger value is a
  warning, pointing at ``workers``.
* ``runtime_mode`` chooses upstream's single- or multi-threaded Tokio runtime; one loop thread is
  what ``st`` means, so ``st`` and ``auto`` are what happens, and an explicit ``mt`` is a warning.
  ``auto`` still resolves on the server object as upstream's does, for code that reads it.
* ``task_impl``: upstream's ``rust`` is a task written in Rust, faster than asyncio's on Python
  3.10 and 3.11 for apps that answer in a step or two (upstream drops it on 3.12+). This server
  starts each request's task eagerly (:mod:`._tasks`) with asyncio's own task classes, which saves
  the scheduling a simple app does not need; ``asyncio`` is what happens, and there is no Rust to
  switch to: ``rust`` is a warning. (Giving ``asyncio`` the meaning "tasks start on the next loop
  turn" would have left ``rust`` something to choose, at the default's expense.)

Each warning is one line naming the option, why it has no effect and what to do instead.
"""

from __future__ import annotations

import sys

from .constants import RuntimeModes, TaskImpl
from .log import logger

__all__ = ['explain_runtime', 'gil_enabled']


def gil_enabled() -> bool:
    """False only on a free-threaded interpreter running with the GIL off."""
    return bool(getattr(sys, '_is_gil_enabled', lambda: True)())


def explain_runtime(
    *, runtime_threads: int, runtime_mode: RuntimeModes, task_impl: TaskImpl, runtime_blocking_threads: int
) -> None:
    """Log what the runtime options do in this server; ``runtime_mode`` as the user gave it."""
    if runtime_threads > 1:
        why = (
            'with the GIL a second loop thread cannot run Python code alongside the first and only '
            'slows it down (README, "Runtime options")'
            if gil_enabled()
            else 'loops in several threads are not built for free-threaded Python yet'
        )
        logger.warning(
            f'runtime_threads: {runtime_threads} has no effect, every worker runs one event-loop thread: '
            f'{why}; use workers={runtime_threads} to serve on more cores'
        )
    if runtime_mode == RuntimeModes.mt:
        logger.warning(
            "runtime_mode: 'mt' has no effect, every worker runs one event-loop thread (what 'st' means); "
            'remove the option'
        )
    if task_impl == TaskImpl.rust:
        logger.warning(
            "task_impl: 'rust' has no effect, this server has no Rust task: every request already runs "
            'as an asyncio task started eagerly (its first step runs as the request arrives); '
            'remove the option'
        )
    logger.info(
        'Runtime: one event-loop thread per worker, request tasks started eagerly, '
        f'{runtime_blocking_threads} blocking I/O threads for files'
    )
