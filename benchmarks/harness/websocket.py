"""The WebSocket echo load: the Node.js client in benchmarks/wsload, and a one-message check.

The client is ``wsload/echo.js`` on the ``ws`` npm package, installed with ``npm ci`` from the
checked-in lock into ``benchmarks/.venvs/node`` (gitignored with the venvs) and found through
``NODE_PATH``. Node's ws does a round trip for a fraction of the CPU time any Python server here
needs, so the numbers are the server's; each run also reports the client's own CPU use, and a
client that was busy most of the time is called out in the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from . import wsframes
from .results import LoadSettings, Measurement
from .scenarios import Scenario

__all__ = ['CLIENT_BUSY', 'WebSocketError', 'client_version', 'echo_once', 'ensure_client', 'measure', 'parse']

_BENCH_DIR = Path(__file__).resolve().parent.parent
_CLIENT_DIR = _BENCH_DIR / 'wsload'
_NODE_ENV = _BENCH_DIR / '.venvs' / 'node'
_SCRIPT = _CLIENT_DIR / 'echo.js'
_MANIFESTS = ('package.json', 'package-lock.json')

# Above this share of one core the client itself may have set the pace.
CLIENT_BUSY = 0.85


class WebSocketError(RuntimeError):
    pass


def ensure_client(*, reinstall: bool = False) -> None:
    """``npm ci`` the client's lock into benchmarks/.venvs/node unless it is there already."""
    stamp = hashlib.sha256(b''.join((_CLIENT_DIR / name).read_bytes() for name in _MANIFESTS)).hexdigest()
    stamp_file = _NODE_ENV / '.bench-stamp'
    if not reinstall and stamp_file.exists() and stamp_file.read_text() == stamp:
        return
    print(f'installing the WebSocket client (npm ci) into {_NODE_ENV} ...', file=sys.stderr)
    _NODE_ENV.mkdir(parents=True, exist_ok=True)
    for name in _MANIFESTS:
        shutil.copyfile(_CLIENT_DIR / name, _NODE_ENV / name)
    npm = ['npm', 'ci', '--no-audit', '--no-fund', '--loglevel=error']
    # npm's summary goes to stderr with the harness's other progress lines, not into the report.
    subprocess.run(npm, cwd=_NODE_ENV, check=True, timeout=300, stdout=sys.stderr)
    stamp_file.write_text(stamp)


def client_version() -> str:
    """Node's version and the installed ws package's, for the report header."""
    node = subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()
    try:
        ws = json.loads((_NODE_ENV / 'node_modules' / 'ws' / 'package.json').read_text())['version']
    except (OSError, ValueError, KeyError):
        ws = 'absent'
    return f'node {node} ws {ws} (benchmarks/wsload/echo.js)'


def parse(output: str) -> Measurement:
    try:
        result = json.loads(output.strip().splitlines()[-1])
        rate, messages, errors = result['rate'], result['messages'], result['errors']
        p50, p99 = result['p50_ms'], result['p99_ms']
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise WebSocketError(f'cannot read the WebSocket client output:\n{output}') from exc
    return Measurement(
        rps=float(rate),
        p50_ms=float('nan') if p50 is None else float(p50),
        p99_ms=float('nan') if p99 is None else float(p99),
        requests=int(messages),
        errors=int(errors),
        raw=output,
        client_cpu=result.get('client_cpu'),
    )


def measure(scenario: Scenario, url: str, settings: LoadSettings) -> Measurement:
    duration = max(1.0, settings.duration)
    argv = ['taskset', '-c', settings.cpu, 'node', str(_SCRIPT), '--url', url]
    argv += [
        '--connections',
        str(settings.connections),
        '--duration',
        f'{duration:g}',
        '--size',
        str(len(scenario.body)),
    ]
    env = {**os.environ, 'NODE_PATH': str(_NODE_ENV / 'node_modules')}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, env=env)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise WebSocketError(f'WebSocket client exited with {done.returncode}:\n{output}')
    result = parse(done.stdout)
    if result.errors > settings.max_error_rate * max(result.requests, 1):
        raise WebSocketError(f'{result.errors} errors in {result.requests} messages:\n{output}')
    return result


def echo_once(host: str, port: int, path: str, message: bytes, timeout: float = 30.0) -> bytes:
    """Open a WebSocket, send ``message`` as one binary frame, return the payload of the reply.

    Raises ConnectionError when the handshake is refused or the reply is not one binary frame.
    """
    request, accept = wsframes.handshake(host, port, path)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b''
        while b'\r\n\r\n' not in data:
            data += _receive(sock, data)
        head, data = data.split(b'\r\n\r\n', 1)
        wsframes.check_upgrade(head, accept)
        sock.sendall(wsframes.client_frame(wsframes.BINARY, message))
        while (frame := wsframes.read_frame(data)) is None:
            data += _receive(sock, data)
        final, opcode, payload, _ = frame
        if opcode != wsframes.BINARY or not final:
            raise ConnectionError(f'expected one binary frame, got opcode {opcode:#x} (final: {final})')
        sock.sendall(wsframes.close_frame())
        return payload


def _receive(sock: socket.socket, so_far: bytes) -> bytes:
    chunk = sock.recv(4096)
    if not chunk:
        raise ConnectionError(f'connection closed after {so_far!r}')
    return chunk
