"""Real server processes serving the WSGI apps under ``apps/``.

A server is started through the public API (``granian.Granian(...).serve()``) in a child process
bound to port 0; the address comes from its ``Listening at:`` log line and the worker's PID from
``Spawning worker-1 with PID:``. Output is drained by a thread so the child never blocks on a full
pipe, and every server is stopped by PID when its fixture ends.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

APPS = Path(__file__).parent / 'apps'


class WSGIServer:
    def __init__(self, target: str, shared: Path, env: dict[str, str], options: dict[str, Any]) -> None:
        #: A directory the test and the app share (``WSGI_TEST_DIR``).
        self.shared = shared
        options = {'interface': 'wsgi', 'address': '127.0.0.1', 'port': 0, 'working_dir': str(APPS), **options}
        args = ', '.join(f'{key}={value!r}' for key, value in options.items())
        code = f'from granian import Granian\nGranian({target!r}, {args}).serve()\n'
        self.proc = subprocess.Popen(
            [sys.executable, '-c', code],
            env={**os.environ, 'PYTHONUNBUFFERED': '1', 'WSGI_TEST_DIR': str(shared), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self.wait_for(r'Listening at: (\S+)').group(1)
        self.worker_pid = int(self.wait_for(r'Spawning worker-1 with PID: (\d+)').group(1))
        self.wait_for(r'Started worker-1')

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip('\n'))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return '\n'.join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    match = regex.search(line)
                    if match:
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f'no line matching {pattern!r}; output:\n' + '\n'.join(self.lines))
                self._changed.wait(min(left, 0.2))

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.url.removeprefix('http://').rsplit(':', 1)
        return host, int(port)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError('server did not stop in time; output:\n' + self.output) from None
        self._reader.join(5)
        return code


@pytest.fixture(scope='module')
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., WSGIServer]]:
    """Start servers for a module: ``start_server(target, **granian_options)``; stops them all at the end.

    Each server gets its own shared directory, ``server.shared`` (``WSGI_TEST_DIR`` for the app).
    """
    started: list[WSGIServer] = []

    def start(target: str, env: dict[str, str] | None = None, **options: Any) -> WSGIServer:
        server = WSGIServer(target, tmp_path_factory.mktemp('wsgi'), env or {}, options)
        started.append(server)
        return server

    yield start
    for server in started:
        assert server.stop() == 0, server.output


def _wait_until(predicate: Callable[[], Any], timeout: float = 15.0, message: str = 'condition') -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out waiting for {message}')
        time.sleep(0.02)


@pytest.fixture(scope='session')
def wait_until() -> Callable[..., Any]:
    """``wait_until(predicate, timeout=15, message=...)``: poll until ``predicate()`` is truthy."""
    return _wait_until
