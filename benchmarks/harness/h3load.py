"""The HTTP/3 load (``h3-*`` scenarios): ``h3load_client.py`` on aioquic, pinned to the load
generator's core, run with the ``ours`` venv's Python (aioquic is installed there).

No HTTP/3 load tool ships in Debian, so the client is Python, and it is slower than any server it
loads: every row's rate is then the client's pace as much as the server's. The server's CPU time
per request (measured by the harness around the run, as for every scenario) is what compares the
servers; the targets for these scenarios are set on it (``Target.by_cpu``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .results import LoadSettings, Measurement
from .scenarios import Scenario

__all__ = ['H3LoadError', 'measure']

_CLIENT = Path(__file__).with_name('h3load_client.py')
_PYTHON = Path(__file__).resolve().parent.parent / '.venvs' / 'ours' / 'bin' / 'python'


class H3LoadError(RuntimeError):
    pass


def measure(scenario: Scenario, url: str, settings: LoadSettings) -> Measurement:
    connections, streams = scenario.h3load_args
    argv = ['taskset', '-c', settings.cpu, str(_PYTHON), str(_CLIENT), url, '--duration', str(settings.duration)]
    argv += ['--connections', str(connections), '--streams', str(streams), '--expect', scenario.expect.decode()]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=settings.duration + 60)
    if done.returncode != 0:
        raise H3LoadError(f'the HTTP/3 client exited with {done.returncode}:\n{done.stdout}{done.stderr}')
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise H3LoadError(f'cannot read the HTTP/3 client output:\n{done.stdout}{done.stderr}') from None
    result = Measurement(
        rps=report['rps'],
        p50_ms=report['p50_ms'],
        p99_ms=report['p99_ms'],
        requests=report['requests'],
        errors=report['errors'],
        raw=done.stdout,
        client_cpu=report['client_cpu'],
    )
    if not result.requests or result.errors > settings.max_error_rate * result.requests:
        raise H3LoadError(f'{result.errors} errors in {result.requests} requests:\n{done.stdout}{done.stderr}')
    return result
