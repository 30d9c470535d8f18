"""Write-side flow control shared by the protocols: the transport's pause/resume callbacks set a
flag that writers check, and writers await :meth:`WriteFlow.drain` only while it is set."""

from __future__ import annotations

import asyncio

__all__ = ['WriteFlow']


class WriteFlow:
    __slots__ = ('_loop', '_waiters', 'closed', 'paused')

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiters: list[asyncio.Future[None]] = []
        #: True while the transport's buffer is above its high-water mark.
        self.paused = False
        #: True once the transport is gone: nobody waits for it any more.
        self.closed = False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._release()

    def close(self) -> None:
        self.closed = True
        self._release()

    def _release(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def drain(self) -> None:
        if self.paused and not self.closed:
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            await waiter
