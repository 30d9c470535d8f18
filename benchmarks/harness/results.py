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
    p99_ms: float
    requests: int
    errors: int
    # The load tool's own report, kept for failure messages.
    raw: str = ''
    # The load generator's CPU time over the measured time, where the tool reports it (near 1:
    # the client, not the server, may have set the pace).
    client_cpu: float | None = None
