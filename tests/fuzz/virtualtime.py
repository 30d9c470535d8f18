"""An event loop whose clock moves only when the loop has nothing to do but wait for a timer.

Protocols with timers (QUIC's loss detection, ACK delay, idle timeout, draining period) would make
a fuzz input wait in real time for each one: an HTTP/3 connection takes three probe timeouts to
close, a second or more. On this loop, ``loop.time()`` is a number that stands still while
callbacks run and jumps to the next timer when the loop would otherwise sleep, so an input that
ends with "wait until the server has closed" runs in microseconds, and the same input always sees
the same times (a saved crasher replays the same way).

Only the wait for timers is virtual: file descriptors are still polled (without blocking while a
timer is pending), and with no timer at all the loop blocks as usual, so work handed to threads
still completes.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

__all__ = ['VirtualClockLoop']

#: Where the clock starts: any value works; a round one reads well in a debugger.
_START = 1000.0


class _Clock:
    __slots__ = ('now',)

    def __init__(self) -> None:
        self.now = _START


class _VirtualSelector(selectors.BaseSelector):
    """The loop's selector: a wait with a timeout is a poll, and the clock jumps by the timeout."""

    def __init__(self, clock: _Clock) -> None:
        self._real = selectors.DefaultSelector()
        self._clock = clock

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            return self._real.select(None)  # no timer: only I/O (or a thread) can wake us
        ready = self._real.select(0)
        if not ready and timeout > 0:
            self._clock.now += timeout
        return ready

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


class VirtualClockLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._clock = _Clock()
        super().__init__(_VirtualSelector(self._clock))

    def time(self) -> float:
        return self._clock.now
