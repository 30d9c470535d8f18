"""What keeps one HTTP/2 connection cheap for us whatever the client sends.

The attacks and their answers (each costs the attacker the connection):

* **Rapid reset** (CVE-2023-44487): opening streams and resetting them at once makes us start
  work the client never waits for. Client resets of streams still being answered draw from a
  :class:`Budget`; when it runs dry the connection gets GOAWAY ``ENHANCE_YOUR_CALM``.
* **SETTINGS, PING and empty-frame floods** (CVE-2019-9512/9515/9518): each such frame draws from
  a second budget. What we owe in reply (PING and SETTINGS acknowledgements) is bounded as well:
  the connection stops reading while the transport's write buffer is above its high-water mark.
* **CONTINUATION floods** (CVE-2024-27316 and kin): h2 refuses more than 64 CONTINUATION frames
  per header block; the frame buffer of :mod:`._lean` also caps the bytes of an unfinished block
  at the header list limit, whatever the frame size setting.
* **HPACK bombs and oversized header lists**: the decoder stops at ``max_headers_size`` decoded
  bytes (h2 answers with GOAWAY ``ENHANCE_YOUR_CALM``), and the dynamic table stays at 4 KiB.
* **Zero-window stalls**: a stream whose response cannot move because the client keeps its flow
  control window shut is reset (``CANCEL``) after ``keep_alive_timeout`` seconds; its app sees a
  disconnect. Memory for the stalled response is bounded by ``max_send_buffer_size``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    'BDP_PING',
    'CONTROL_BURST',
    'CONTROL_RATE',
    'AdaptiveWindow',
    'Budget',
    'reset_budget',
]

#: Frames that cost work but carry no request (PING, SETTINGS, empty DATA, unknown types): a burst
#: of this many, then this many per second.
CONTROL_BURST = 1000
CONTROL_RATE = 100.0
#: The PING payload of the adaptive window's round-trip probe.
BDP_PING = b'granbdp\x00'


class Budget:
    """A token bucket refilled from the loop clock only when it is spent from (no timer)."""

    __slots__ = ('_capacity', '_clock', '_rate', '_stamp', '_tokens')

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float]) -> None:
        self._capacity = capacity
        self._rate = rate
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()

    def spend(self) -> bool:
        """Take one token; ``False`` once the bucket is empty."""
        now = self._clock()
        tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if tokens < 1:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1
        return True


def reset_budget(max_concurrent_streams: int, clock: Callable[[], float]) -> Budget:
    """Client resets of streams in progress: a burst of twice the stream limit (at least 200),
    refilled over ten seconds. A browser cancelling now and then never comes close."""
    capacity = max(200, 2 * max_concurrent_streams)
    return Budget(capacity, capacity / 10, clock)


class AdaptiveWindow:
    """Grows the receive windows to the connection's bandwidth-delay product.

    While data arrives, one PING at a time measures the round trip; when the bytes received in
    that time reach two thirds of the window, the window doubles (up to 16 MiB). Starts at the
    RFC's 64 KiB, so a slow client never gets more buffer than it can fill.
    """

    LIMIT = 16 * 1024 * 1024
    START = 65535

    __slots__ = ('_probe_bytes', '_probing', 'window')

    def __init__(self) -> None:
        self.window = self.START
        self._probing = False
        self._probe_bytes = 0

    def received(self, size: int) -> bool:
        """Count received DATA; ``True`` when a probe PING should be sent now."""
        if self._probing:
            self._probe_bytes += size
            return False
        if self.window >= self.LIMIT:
            return False
        self._probing = True
        self._probe_bytes = size
        return True

    def probe_answered(self) -> int:
        """The probe came back: the new window size, or 0 to keep the current one."""
        self._probing = False
        if self._probe_bytes * 3 >= self.window * 2:
            self.window = min(self.LIMIT, self.window * 2)
            return self.window
        return 0
