"""Run wrk pinned to the load generator's core and read its ``--latency`` report."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from .results import LoadSettings, Measurement
from .scenarios import Scenario

__all__ = ['WrkError', 'lua_for', 'measure', 'parse']

_LUA_DIR = Path(__file__).resolve().parent.parent / 'lua'

_RPS = re.compile(r'^Requests/sec:\s+([\d.]+)', re.M)
# A line of the --latency distribution, e.g. '     99%    4.62ms'.
_PERCENTILE = r'^\s+{}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$'
_P50 = re.compile(_PERCENTILE.format(50), re.M)
_P99 = re.compile(_PERCENTILE.format(99), re.M)
_TOTAL = re.compile(r'^\s+(\d+) requests in ', re.M)
_SOCKET = re.compile(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)')
_NON2XX = re.compile(r'Non-2xx or 3xx responses: (\d+)')
_TO_MS = {'us': 0.001, 'ms': 1.0, 's': 1000.0, 'm': 60_000.0, 'h': 3_600_000.0}


class WrkError(RuntimeError):
    pass


def _lua_bytes(data: bytes) -> str:
    """A Lua string literal: printable ASCII as it is, any other byte as a decimal escape."""
    return '"' + ''.join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f'\\{b}' for b in data) + '"'


def lua_for(scenario: Scenario) -> str | None:
    """A script setting method, body and headers, for scenarios that are not a plain GET."""
    if scenario.method == 'GET' and not scenario.body:
        return None
    # wrk adds Content-Length for a non-empty body itself.
    return (
        f'wrk.method = "{scenario.method}"\n'
        f'wrk.body = {_lua_bytes(scenario.body)}\n'
        'wrk.headers["Content-Type"] = "application/octet-stream"\n'
    )


def parse(output: str) -> Measurement:
    rps, total = _RPS.search(output), _TOTAL.search(output)
    p50, p99 = _P50.search(output), _P99.search(output)
    if not (rps and p50 and p99 and total):
        raise WrkError(f'cannot read wrk output:\n{output}')
    socket_errors = _SOCKET.search(output)
    non2xx = _NON2XX.search(output)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    errors += int(non2xx.group(1)) if non2xx else 0
    return Measurement(
        rps=float(rps.group(1)),
        p50_ms=float(p50.group(1)) * _TO_MS[p50.group(2)],
        p99_ms=float(p99.group(1)) * _TO_MS[p99.group(2)],
        requests=int(total.group(1)),
        errors=errors,
        raw=output,
    )


def measure(scenario: Scenario, url: str, settings: LoadSettings) -> Measurement:
    duration = max(1, round(settings.duration))
    argv = ['taskset', '-c', settings.cpu, 'wrk', f'-t{settings.threads}', f'-c{settings.connections}']
    argv += [f'-d{duration}s', '--latency', *scenario.wrk_args]
    with tempfile.TemporaryDirectory(prefix='bench-wrk-') as tmp:
        script = _LUA_DIR / scenario.wrk_script if scenario.wrk_script else None
        generated = lua_for(scenario)
        if script is None and generated is not None:
            script = Path(tmp) / 'request.lua'
            script.write_text(generated)
        if script is not None:
            argv += ['-s', str(script)]
        done = subprocess.run([*argv, url], capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise WrkError(f'wrk exited with {done.returncode}:\n{done.stdout}{done.stderr}')
    result = parse(done.stdout)
    if result.errors > settings.max_error_rate * max(result.requests, 1):
        raise WrkError(
            f'{result.errors} errors in {result.requests} requests (socket errors or non-2xx):\n{done.stdout}'
        )
    return result
