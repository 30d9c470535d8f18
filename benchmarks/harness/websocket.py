"""The WebSocket echo load: the Node.js client in benchmarks/wsload, and a one-message check.

The client is ``wsload/echo.js`` on the ``ws`` npm package, installed with ``npm ci`` from the
checked-in lock into ``benchmarks/.venvs/node`` (gitignored with the venvs) and found through
``NODE_PATH``. Node's ws does a round trip for a fraction of the CPU time any Python server here
needs, so the numbers are the server's; each run also reports the client's own CPU use, and a
client that was busy most of the time is called out in the report.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

from .results import LoadSettings, Measurement
from .scenarios import Scenario

__all__ = ['CLIENT_BUSY', 'WebSocketError', 'client_version', 'echo_once', 'ensure_client', 'measure', 'parse']

_BENCH_DIR = Path(__file__).resolve().parent.parent
_CLIENT_DIR = _BENCH_DIR / 'wsload'
_NODE_ENV = _BENCH_DIR / '.venvs' / 'node'
_SCRIPT = _CLIENT_DIR / 'echo.js'
_MANIFESTS = ('package.json', 'package-lock.json')

_RFC6455_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

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


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f'connection closed after {len(data)} of {size} bytes')
        data += chunk
    return data


def echo_once(host: str, port: int, path: str, message: bytes, timeout: float = 30.0) -> bytes:
    """Open a WebSocket, send ``message`` as one binary frame, return the payload of the reply.

    Raises ConnectionError when the handshake is refused or the reply is not one binary frame.
    """
    if len(message) > 125:
        raise ValueError('the check sends short messages only')
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f'GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n'
    )
    accept = base64.b64encode(hashlib.sha1((key + _RFC6455_GUID).encode()).digest())
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request.encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError(f'handshake: connection closed after {head!r}')
            head += chunk
        head, rest = head.split(b'\r\n\r\n', 1)
        status_line = head.split(b'\r\n', 1)[0]
        if status_line.split(b' ')[1:2] != [b'101']:
            raise ConnectionError(f'handshake refused: {status_line.decode(errors="replace")}')
        if accept not in head:
            raise ConnectionError(f'handshake: no Sec-WebSocket-Accept {accept.decode()} in {head!r}')
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(message))
        sock.sendall(bytes((0x82, 0x80 | len(message))) + mask + masked)
        frame = rest + _read_exactly(sock, max(0, 2 - len(rest)))
        opcode, size = frame[0] & 0x0F, frame[1] & 0x7F
        header = 2
        if size == 126:
            frame += _read_exactly(sock, max(0, 4 - len(frame)))
            (size,) = struct.unpack('!H', frame[2:4])
            header = 4
        frame += _read_exactly(sock, max(0, header + size - len(frame)))
        if opcode != 0x2 or not frame[0] & 0x80:
            raise ConnectionError(f'expected one binary frame, got opcode {opcode:#x}, first byte {frame[0]:#x}')
        sock.sendall(bytes((0x88, 0x82)) + mask + bytes(b ^ mask[i] for i, b in enumerate(struct.pack('!H', 1000))))
        return frame[header : header + size]
