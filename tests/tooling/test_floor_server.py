"""The benchmark's floor rows (benchmarks/harness/floor_server.py) serve the benchmark apps.

Each ``floor-*`` row of benchmarks/harness/servers.py is started as the harness starts it (its own
argv, the benchmark apps on PYTHONPATH) on a free port of 127.0.0.1, then answers real requests:
httpx's GET and 1 KiB POST echo, then two pipelined requests on one raw socket, answered in order,
the connection closed after the one that asked for it. A floor that broke would otherwise show up
only as a FAILED row in a benchmark run nobody is watching.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
import pytest

from testkit.process import ROOT, ServerProcess

sys.path.insert(0, str(ROOT / 'benchmarks'))
from harness.servers import APPS, SERVERS, ServerSpec, expand_argv

APPS_DIR = ROOT / 'benchmarks' / 'apps'
FLOOR_ROWS = [spec for spec in SERVERS if spec.floor]
ECHO = bytes(range(256)) * 4  # the post-echo-1k scenario's size


def _start(row: ServerSpec) -> tuple[ServerProcess, str]:
    values: dict[str, str | list[str]] = {
        'python': sys.executable,
        'host': '127.0.0.1',
        'port': '0',
        'app': APPS[row.interface],
    }
    server = ServerProcess(expand_argv(row.argv, values), cwd=APPS_DIR, env={'PYTHONPATH': str(APPS_DIR)})
    return server, server.wait_for(r'Listening at: (\S+)').group(1)


def _read_response(sock: socket.socket, pending: bytes) -> tuple[bytes, bytes, bytes]:
    """One response off ``sock``: (status line, body by its content-length, what follows)."""
    while b'\r\n\r\n' not in pending:
        chunk = sock.recv(65536)
        assert chunk, f'connection closed mid-head after {pending!r}'
        pending += chunk
    head, _, rest = pending.partition(b'\r\n\r\n')
    lines = head.split(b'\r\n')
    length = next(int(line.split(b':', 1)[1]) for line in lines if line.lower().startswith(b'content-length:'))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, 'connection closed mid-body'
        rest += chunk
    return lines[0], rest[:length], rest[length:]


def test_there_are_the_three_floor_rows() -> None:
    assert {row.name for row in FLOOR_ROWS} == {'floor-asyncio', 'floor-uvloop-httptools', 'floor-wsgi'}


@pytest.mark.parametrize('row', FLOOR_ROWS, ids=lambda row: row.name)
def test_floor_row_serves_the_benchmark_app(row: ServerSpec) -> None:
    server, url = _start(row)
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            short = client.get('/b')
            echo = client.post('/echo', content=ECHO)
        assert (short.status_code, short.content) == (200, b'Hello, world!')
        assert short.headers['content-length'] == '13'
        assert (echo.status_code, echo.content) == (200, ECHO)

        with socket.create_connection(('127.0.0.1', int(url.rsplit(':', 1)[1])), timeout=10) as sock:
            sock.sendall(
                b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst'
                b'GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
            )
            first_status, first, rest = _read_response(sock, b'')
            second_status, second, rest = _read_response(sock, rest)
            assert rest == b'' and sock.recv(1) == b'', 'the connection stays open after Connection: close'
        assert (first_status, first) == (b'HTTP/1.1 200 OK', b'first')
        assert (second_status, second) == (b'HTTP/1.1 200 OK', b'Hello, world!')
    finally:
        server.stop()
    assert 'Traceback' not in server.output, server.output


def test_an_app_it_cannot_load_is_one_line() -> None:
    script = ROOT / 'benchmarks' / 'harness' / 'floor_server.py'
    done = subprocess.run(
        [sys.executable, str(script), '--port', '0', 'no_such_module:app'], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "floor_server: cannot load the app 'no_such_module:app': No module named 'no_such_module'"
    ]
