"""Real server processes serving the WSGI apps under ``apps/``.

A server is started through the public API (``granian.Granian(...).serve()``) in a child process
bound to port 0; the address comes from its ``Listening at:`` log line and the worker's PID from
``Spawning worker-1 with PID:``. Output is drained by a thread so the child never blocks on a full
pipe, and every server is stopped by PID when its fixture ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.process import ServerProcess, api_command

APPS = Path(__file__).parent / 'apps'


class WSGIServer(ServerProcess):
    """A WSGI server process with a directory it shares with its app (``WSGI_TEST_DIR``)."""

    def __init__(self, target: str, shared: Path, env: dict[str, str], options: dict[str, Any]) -> None:
        self.shared = shared
        options = {'interface': 'wsgi', 'working_dir': str(APPS), **options}
        super().__init__(api_command(target, **options), env={'WSGI_TEST_DIR': str(shared), **env})
        self.ready()
        self.worker_pid = self.worker_pids()[0]

    @property
    def address(self) -> tuple[str, int]:
        return '127.0.0.1', self.port


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
