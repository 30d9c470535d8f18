"""What one load run yields, and the load settings every run shares."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['LoadSettings', 'Measurement']


@dataclass(frozen=True)
class LoadSettings:
    duration: float
    connections: int
    threads: int
    cpu: str
    max_error_rate: float


@dataclass(frozen=True)
class Measurement:
    rps: float
    # Latency percentiles of the measured run (WebSocket: the message round trip), so a gain in
    # rate that costs the typical or the tail latency shows in the same row.
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    # The load tool's own report, kept for failure messages.
    raw: str = ''
    # The load generator's CPU time over the measured time, where the tool reports it (near 1:
    # the client, not the server, may have set the pace).
    client_cpu: float | None = None
    # CPU seconds the server's processes used during the measured run (not the warm-up).
    server_cpu_s: float | None = None

    @property
    def server_us_per_request(self) -> float | None:
        """The server's CPU cost of one request (message): steadier than the rate on a busy machine."""
        if self.server_cpu_s is None or not self.requests:
            return None
        return self.server_cpu_s / self.requests * 1e6
