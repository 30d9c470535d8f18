"""Starting one task per request, eagerly.

A task normally starts on the next loop turn: the request waits for one more turn of the loop
(its ``select``, its callbacks), and a simple app that answers without ever waiting pays for the
scheduling without needing it. Started *eagerly*, the app runs inside ``data_received`` until it
first has to wait; a simple app answers before control returns to the loop, and its response
leaves in the same loop turn as the request arrived.

* Python 3.12+ does this natively (``asyncio.Task(..., eager_start=True)``).
* Python 3.10 and 3.11 have no eager start. There an :class:`_EagerTask` is used: asyncio's own
  pure-Python ``Task`` (``asyncio.tasks._PyTask``), whose first step is run at construction instead
  of being scheduled. It is a real task from the first instruction on, so ``current_task()``,
  cancellation, context variables and ``all_tasks()`` behave as for any task (frameworks built on
  anyio depend on that); the only difference from asyncio's C task is speed: later steps run the
  Python implementation. Measured with ``benchmarks/callgrind.py`` (see the commit that made this
  choice): the saved scheduling outweighs that for apps that answer in a step or two.

On 3.10 and 3.11 the trade only pays on the stdlib loop, whose extra turn runs in Python. A loop
written in C or Rust (uvloop, rloop) turns for a fraction of what the pure-Python task's steps
cost: there a request's task is asyncio's C task, scheduled as usual (callgrind, ``h1-get-httptools``
on uvloop: 176,037 instructions per request with the eager Python task, 169,400 with the C task;
on the stdlib loop the other way round, 287,446 against 298,538).

``_EagerTask`` copies the few lines of ``_PyTask.__init__`` and ``_PyFuture.__init__`` that set
its fields (all but the scheduling of the first step), calls its name-mangled step method, and
reads two fields in ``__del__`` to skip asyncio's two finalizers when they have nothing to report:
CPython internals, touched here only, for the two Python versions that need it, and checked by
``tests/server/test_tasks.py``.

Every request's task is named ``granian-request`` (a WebSocket's ``granian-session``) on every
version and loop: before 3.12 asyncio formats a ``Task-<n>`` name per task otherwise.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine
from typing import Any

__all__ = ['TaskSet']

_NATIVE_EAGER = sys.version_info >= (3, 12)
_Task = asyncio.Task
# Before 3.12 asyncio's C task formats a ``Task-<n>`` name for every task it is not given a
# name for (3.12 defers that until the name is read): ~1,450 instructions per request, 1 % of a
# small one on uvloop. A fixed name says what the task is instead. The loop's create_task is
# skipped for the same reason (uvloop's formats the default name, then sets ours on top), as the
# 3.12 path already does; a task factory set on the server's loop is not used for requests. The
# same names on every version and loop.
_REQUEST = 'granian-request'
_SESSION = 'granian-session'

if not _NATIVE_EAGER:
    from asyncio import format_helpers
    from asyncio import tasks as _asyncio_tasks
    from asyncio.futures import _PENDING  # type: ignore[attr-defined]

    class _EagerTask(_asyncio_tasks._PyTask):  # type: ignore[name-defined,misc]
        """A task whose first step runs when it is created (Python 3.10 and 3.11)."""

        def __init__(self, coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> None:
            # _PyTask.__init__ without scheduling the first step, and _PyFuture.__init__ written
            # out (one Python call less per request); the names are asyncio's.
            self._loop = loop
            self._callbacks: list[Any] = []
            if loop.get_debug():
                self._source_traceback = format_helpers.extract_stack(sys._getframe(0))
            self._name = _REQUEST  # as the C task's on these versions (see _REQUEST)
            self._num_cancels_requested = 0
            self._must_cancel = False
            self._fut_waiter = None
            self._coro = coro
            self._context = contextvars.copy_context()
            _asyncio_tasks._register_task(self)
            # The first step, now, in the task's own context (as the loop would run it). Spawned
            # from inside another task (not the protocols' case, but possible), that task steps
            # aside while this one runs, as 3.12's eager start does.
            outer = asyncio.current_task(loop)
            if outer is not None:
                _asyncio_tasks._leave_task(loop, outer)
            try:
                self._context.run(self._Task__step)
            finally:
                if outer is not None:
                    _asyncio_tasks._enter_task(loop, outer)

        def __del__(self) -> None:
            # A task collected while pending, or with an exception nobody retrieved, is reported
            # by _PyTask's and _PyFuture's __del__; a request's task nearly always ends done with
            # nothing to report, and asking both would be two Python calls per request.
            if self._state == _PENDING or self._Future__log_traceback:
                super().__del__()


class TaskSet:
    """Starts tasks and keeps a strong reference to each until it is done (asyncio keeps none)."""

    __slots__ = ('_discard', '_loop', '_python_eager', 'tasks')

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.tasks: set[asyncio.Task[Any]] = set()
        self._discard = self.tasks.discard
        # Before 3.12, the eager Python task only where the loop's own turn is Python too (see
        # the module's docstring): the stdlib loops are BaseEventLoops, uvloop and rloop are not.
        self._python_eager = not _NATIVE_EAGER and isinstance(loop, asyncio.BaseEventLoop)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Start a request's task: eagerly, unless a compiled loop on Python < 3.12 runs it sooner
        on its next turn than a Python task could now."""
        task: asyncio.Task[Any]
        if _NATIVE_EAGER:
            task = _Task(coro, loop=self._loop, eager_start=True, name=_REQUEST)  # type: ignore[call-arg,unused-ignore]
        elif self._python_eager:
            task = _EagerTask(coro, self._loop)
        else:
            task = _Task(coro, loop=self._loop, name=_REQUEST)
        # _keep, written out: once per request, and a call costs more than its three lines.
        if not task.done():
            self.tasks.add(task)
            task.add_done_callback(self._discard)

    def spawn_session(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Start a task that lives for a session (a WebSocket) and steps once per message.

        Eager where asyncio starts tasks eagerly itself (3.12+). On 3.10 and 3.11 an ordinary C
        task: the pure-Python eager task's every later step costs more than its scheduling saved
        once (callgrind, WebSocket echo: +2.9 % per message with it).
        """
        if _NATIVE_EAGER:
            task: asyncio.Task[Any] = _Task(coro, loop=self._loop, eager_start=True, name=_SESSION)  # type: ignore[call-arg,unused-ignore]
        else:
            task = _Task(coro, loop=self._loop, name=_SESSION)
        self._keep(task)

    def _keep(self, task: asyncio.Task[Any]) -> None:
        if task.done():
            return  # answered within its first step: nothing to keep
        self.tasks.add(task)
        task.add_done_callback(self._discard)

    async def wait(self) -> None:
        """Wait for the tasks running now (and any they start) to finish."""
        while self.tasks:
            await asyncio.wait(list(self.tasks))
