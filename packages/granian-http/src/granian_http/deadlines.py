"""Coarse deadlines for many connections of one worker, on a single loop timer.

Why: a worker may hold tens of thousands of idle keep-alive connections, each waiting for the next
request head under ``http1_settings.header_read_timeout``. An asyncio ``TimerHandle`` per
connection costs ~270 bytes (the handle, its bound method, its context) and a heap entry; here a
connection costs a slot in a set. The deadlines are grouped in *ticks* of ``resolution`` seconds,
and the loop is woken once per non-empty tick, not once per connection.

Rules:

* :meth:`Deadlines.arm` registers ``owner`` for a moment and returns the tick it was filed under;
  the owner keeps that tick and gives it back to :meth:`Deadlines.disarm` to forget the deadline
  (it closed, or was handed over). Both are O(1). An owner arms at most one deadline at a time.
* ``owner.on_deadline()`` is called once the moment has passed: never early, at most
  ``resolution`` seconds late (plus the loop's own lateness). The call consumes the deadline: an
  owner that must wait longer arms again (that is how a deadline that moved is followed, lazily,
  rather than re-filed on every request).
* A failing ``on_deadline`` is reported to the loop's exception handler, as a failing timer
  callback would be; the other owners of the tick are still called.
* Nothing is scheduled while nothing is armed; :meth:`Deadlines.close` forgets everything (the
  worker is done).
"""

from __future__ import annotations

import asyncio
import heapq
import math
from typing import Protocol

__all__ = ['DeadlineOwner', 'Deadlines', 'resolution_for']


class DeadlineOwner(Protocol):
    def on_deadline(self) -> None: ...


def resolution_for(timeout: float) -> float:
    """The tick for deadlines ``timeout`` seconds away: a sixteenth of it (a timeout is honoured
    within ~6 %), at most half a second (a 30 s keep-alive ends within 0.5 s) and at least 5 ms
    (shorter would wake the loop for nothing a person or a test could tell apart)."""
    return min(0.5, max(0.005, timeout / 16))


class Deadlines:
    """The armed deadlines of one worker, grouped by tick (see the module's rules)."""

    __slots__ = ('_buckets', '_handle', '_handle_tick', '_loop', '_resolution', '_ticks')

    def __init__(self, loop: asyncio.AbstractEventLoop, resolution: float) -> None:
        self._loop = loop
        self._resolution = resolution
        #: tick -> owners due then. A set, so that disarming is O(1) and a closed connection is not
        #: kept alive until its tick.
        self._buckets: dict[int, set[DeadlineOwner]] = {}
        #: The ticks of the buckets, as a heap: the next one to fire is first.
        self._ticks: list[int] = []
        self._handle: asyncio.TimerHandle | None = None
        self._handle_tick = 0

    def arm(self, owner: DeadlineOwner, when: float) -> int:
        # Rounded up: the owner is called at or after its moment, never before.
        tick = math.ceil(when / self._resolution)
        bucket = self._buckets.get(tick)
        if bucket is None:
            bucket = self._buckets[tick] = set()
            heapq.heappush(self._ticks, tick)
            if self._handle is None or tick < self._handle_tick:
                self._schedule(tick)
        bucket.add(owner)
        return tick

    def disarm(self, owner: DeadlineOwner, tick: int) -> None:
        bucket = self._buckets.get(tick)
        if bucket is not None:
            # An emptied bucket stays until its tick: taking it out of the heap would cost more
            # than the one wake-up it saves.
            bucket.discard(owner)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._buckets.clear()
        self._ticks.clear()

    def _schedule(self, tick: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle_tick = tick
        self._handle = self._loop.call_at(tick * self._resolution, self._fire)

    def _fire(self) -> None:
        self._handle = None
        now = self._loop.time()
        ticks = self._ticks
        # asyncio may run a timer a clock resolution early: such a tick is left for the next call.
        while ticks and ticks[0] * self._resolution <= now:
            for owner in self._buckets.pop(heapq.heappop(ticks)):
                try:
                    owner.on_deadline()
                except Exception as exc:
                    self._loop.call_exception_handler(
                        {'message': 'Exception in a deadline callback', 'exception': exc, 'owner': owner}
                    )
        if ticks:
            self._schedule_first()

    def _schedule_first(self) -> None:
        # After _fire's callbacks: an owner may have armed a later tick meanwhile, and scheduled
        # it; the earliest must be.
        if self._handle is None or self._handle_tick != self._ticks[0]:
            self._schedule(self._ticks[0])
