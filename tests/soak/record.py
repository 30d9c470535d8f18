"""What the loads saw: per load kind, answers that were right, failures, provoked errors, retries.

Four outcomes, kept apart because they mean different things:

- **ok**: the answer came and was checked (status, body, order, checksum);
- **failed**: anything else, with what went wrong and when (seconds since the soak began);
- **provoked**: a request the client broke on purpose (a reset mid-request); the server owes it
  nothing but must survive it;
- **retried**: a request the server had not begun to answer when it ended the connection in a way
  the protocol allows (an idle keep-alive connection closed just as the request went out, a
  pipelined request left unanswered after ``Connection: close``, an HTTP/2 stream the server
  refused, a WebSocket closed with 1001 "going away" while a message waited for its echo). The
  client sent it again, as RFC 9112 §9.3.1, RFC 9113 §8.7 and RFC 6455 §7.1.5 allow, and the
  second attempt is counted as ok or failed. A retry whose first attempt had already received
  part of an answer is not a retry but a failure.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field

__all__ = ['Failure', 'KindStats', 'Recorder']


@dataclass(frozen=True)
class Failure:
    at: float
    kind: str
    what: str


@dataclass
class KindStats:
    ok: int = 0
    failed: int = 0
    provoked: int = 0
    retried: int = 0
    #: Body bytes sent plus received by the requests that were ok.
    bytes: int = 0
    #: Seconds per ok request (an array keeps a long soak's millions of them small).
    latencies: array[float] = field(default_factory=lambda: array('d'))
    retry_reasons: Counter[str] = field(default_factory=Counter)
    provoked_reasons: Counter[str] = field(default_factory=Counter)

    def percentile(self, share: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Recorder:
    """Thread-safe counters for every load kind; ``started`` is the soak's time zero (monotonic)."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.monotonic() if started is None else started
        self.kinds: dict[str, KindStats] = {}
        self.failures: list[Failure] = []
        self._lock = threading.Lock()

    def _stats(self, kind: str) -> KindStats:
        stats = self.kinds.get(kind)
        if stats is None:
            stats = self.kinds[kind] = KindStats()
        return stats

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def declare(self, kind: str) -> None:
        """List a kind in the table even if it never completes a request."""
        with self._lock:
            self._stats(kind)

    def ok(self, kind: str, began: float, nbytes: int) -> None:
        """One request that was right; ``began`` is when it started (monotonic)."""
        latency = time.monotonic() - began
        with self._lock:
            stats = self._stats(kind)
            stats.ok += 1
            stats.bytes += nbytes
            stats.latencies.append(latency)

    def failed(self, kind: str, what: str) -> None:
        with self._lock:
            self._stats(kind).failed += 1
            self.failures.append(Failure(round(self.elapsed(), 1), kind, what))

    def provoked(self, kind: str, how: str) -> None:
        with self._lock:
            stats = self._stats(kind)
            stats.provoked += 1
            stats.provoked_reasons[how] += 1

    def retried(self, kind: str, why: str) -> None:
        with self._lock:
            stats = self._stats(kind)
            stats.retried += 1
            stats.retry_reasons[why] += 1

    @property
    def total_ok(self) -> int:
        with self._lock:
            return sum(stats.ok for stats in self.kinds.values())

    @property
    def total_failed(self) -> int:
        with self._lock:
            return sum(stats.failed for stats in self.kinds.values())
