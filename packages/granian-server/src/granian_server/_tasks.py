"""Starting one task per request.

On Python 3.12+ tasks start eagerly: the app runs inside ``data_received`` until it first has to
wait, so a simple app answers before control returns to the loop, and its response leaves in the
same loop turn as the request arrived. Older interpreters schedule the task as usual.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

__all__ = ['TaskSet']

_EAGER = sys.version_info >= (3, 12)


class TaskSet:
    """Starts tasks and keeps a strong reference to each until it is done (asyncio keeps none)."""

    __slots__ = ('_discard', '_loop', 'tasks')

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.tasks: set[asyncio.Task[Any]] = set()
        self._discard = self.tasks.discard

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        if _EAGER:
            task: asyncio.Task[Any] = asyncio.Task(coro, loop=self._loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
            if task.done():
                return
        else:
            task = self._loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._discard)

    async def wait(self) -> None:
        """Wait for the tasks running now (and any they start) to finish."""
        while self.tasks:
            await asyncio.wait(list(self.tasks))
