"""Run h2load pinned to the load generator's core and read its report (HTTP/2 scenarios).

h2load prints no latency percentiles, so each run writes its per-request log (``--log-file``:
start time, status, microseconds to the end of the response) and p50 and p99 are computed from it.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from .results import LoadSettings, Measurement
from .scenarios import Scenario

__all__ = ['H2loadError', 'measure', 'parse']

_FINISHED = re.compile(r'^finished in [\d.]+s, ([\d.]+) req/s', re.M)
_REQUESTS = re.compile(
    r'^requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout',
    re.M,
)
_STATUS = re.compile(r'^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx', re.M)


class H2loadError(RuntimeError):
    pass


def _percentiles_ms(log: str, *quantiles: float) -> list[float]:
    durations = sorted(int(line.split('\t')[2]) for line in log.splitlines() if line.count('\t') >= 2)
    if not durations:
        return [float('nan')] * len(quantiles)
    return [durations[min(len(durations) - 1, int(len(durations) * q))] / 1000 for q in quantiles]


def parse(output: str, log: str = '') -> Measurement:
    finished, requests, status = _FINISHED.search(output), _REQUESTS.search(output), _STATUS.search(output)
    if not (finished and requests and status):
        raise H2loadError(f'cannot read h2load output:\n{output}')
    done = int(requests.group(2))
    errors = sum(int(n) for n in requests.group(4, 5, 6)) + sum(int(n) for n in status.group(3, 4))
    p50, p99 = _percentiles_ms(log, 0.5, 0.99)
    return Measurement(rps=float(finished.group(1)), p50_ms=p50, p99_ms=p99, requests=done, errors=errors, raw=output)


def measure(scenario: Scenario, url: str, settings: LoadSettings) -> Measurement:
    duration = max(1, round(settings.duration))
    with tempfile.TemporaryDirectory(prefix='bench-h2load-') as tmp:
        log_path = Path(tmp) / 'requests.log'
        argv = ['taskset', '-c', settings.cpu, 'h2load', '-t', str(settings.threads), *scenario.h2load_args]
        argv += ['-D', str(duration), '--log-file', str(log_path), url]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
        log = log_path.read_text() if log_path.exists() else ''
    if done.returncode != 0:
        raise H2loadError(f'h2load exited with {done.returncode}:\n{done.stdout}{done.stderr}')
    result = parse(done.stdout, log)
    if result.errors > settings.max_error_rate * max(result.requests, 1):
        raise H2loadError(f'{result.errors} errors in {result.requests} requests:\n{done.stdout}')
    return result
