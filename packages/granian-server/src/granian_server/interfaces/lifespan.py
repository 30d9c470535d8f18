"""The ASGI lifespan protocol, as upstream runs it.

* The app runs as one task for the worker's lifetime; ``receive`` yields ``lifespan.startup``,
  then (at shutdown) ``lifespan.shutdown``.
* An app that raises before reporting anything does not support lifespan: we warn and serve
  without it (Django is the common case; ``asginl`` avoids the call altogether).
* An app that returns without reporting is taken as started.
* ``lifespan.startup.failed`` makes :meth:`Lifespan.startup` return ``False``; the worker exits
  with code 1.
* Shutdown runs after the last connection closed; it clears the shared state first, as upstream
  does, and waits for the app without a timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..log import logger
from .asgi_spec import LIFESPAN_VERSION, ASGIApp, Message

__all__ = ['Lifespan']

_UNSUPPORTED_WARNING = (
    'ASGI Lifespan errored, continuing without Lifespan support (to avoid Lifespan completely use "asginl" interface)'
)


class Lifespan:
    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        #: The app does not speak lifespan; shutdown is skipped.
        self.unsupported = False
        #: The app reported ``lifespan.startup.failed``.
        self.failed = False
        self._events: asyncio.Queue[Message] = asyncio.Queue()
        self._startup: asyncio.Future[None] | None = None
        self._shutdown: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> bool:
        """Run the startup half; return ``False`` when the app reported a failure."""
        loop = asyncio.get_running_loop()
        self._startup = loop.create_future()
        self._events.put_nowait({'type': 'lifespan.startup'})
        self._task = loop.create_task(self._run())
        await self._startup
        return not self.failed

    async def shutdown(self) -> None:
        if self.unsupported or self.failed or self._task is None or self._task.done():
            return
        self.state.clear()
        self._shutdown = asyncio.get_running_loop().create_future()
        self._events.put_nowait({'type': 'lifespan.shutdown'})
        await self._shutdown

    async def _run(self) -> None:
        scope = {'type': 'lifespan', 'asgi': LIFESPAN_VERSION, 'state': self.state}
        try:
            await self.app(scope, self.receive, self.send)
        except Exception:
            if self._startup is not None and not self._startup.done():
                self.unsupported = True
                logger.warning(_UNSUPPORTED_WARNING)
            elif not self.failed:
                logger.error('ASGI lifespan raised an exception', exc_info=True)
        finally:
            for waiter in (self._startup, self._shutdown):
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    async def receive(self) -> Message:
        return await self._events.get()

    async def send(self, message: Message) -> None:
        kind = message.get('type')
        if kind == 'lifespan.startup.complete' or kind == 'lifespan.startup.failed':
            if self._startup is None or self._startup.done():
                raise RuntimeError(f'ASGI lifespan flow error: unexpected {kind!r}')
            if kind == 'lifespan.startup.failed':
                self.failed = True
                logger.error('ASGI lifespan startup failed', exc_info=True)
                if message.get('message'):
                    logger.error(message['message'])
            self._startup.set_result(None)
        elif kind == 'lifespan.shutdown.complete' or kind == 'lifespan.shutdown.failed':
            if self._shutdown is None or self._shutdown.done():
                raise RuntimeError(f'ASGI lifespan flow error: unexpected {kind!r}')
            if kind == 'lifespan.shutdown.failed' and message.get('message'):
                logger.error(message['message'])
            self._shutdown.set_result(None)
        else:
            raise RuntimeError('Unsupported ASGI message')
