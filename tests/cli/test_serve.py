"""End to end: the real ``granian`` command serving examples.hello in a subprocess, stopped by SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
LISTENING = re.compile(r'Listening at: (http://\S+)')


def environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without GRANIAN_* variables, plus ``env``."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith('GRANIAN_')}
    environ.update(env or {}, PYTHONUNBUFFERED='1')
    return environ


class GranianProcess:
    """A ``python -m granian`` process whose output is read line by line on a thread."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'granian', *args],
            cwd=REPO_ROOT,
            env=environment(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_url(self) -> str:
        while True:
            try:
                line = self.lines.get(timeout=STARTUP_TIMEOUT)
            except queue.Empty:
                raise AssertionError(f'no "Listening at:" line; output so far: {self.seen}') from None
            if line is None:
                raise AssertionError(f'granian exited early with {self.proc.wait()}: {self.seen}')
            self.seen.append(line)
            match = LISTENING.search(line)
            if match:
                return match.group(1)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=STARTUP_TIMEOUT)


@contextmanager
def granian(args: Sequence[str], env: dict[str, str] | None = None) -> Iterator[GranianProcess]:
    process = GranianProcess(args, env)
    try:
        yield process
    finally:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()


def test_serves_asgi_app_and_exits_0_on_sigterm() -> None:
    with granian(['--interface', 'asgi', 'examples.hello:app', '--port', '0', '--workers', '1']) as server:
        url = server.wait_for_url()
        assert url.startswith('http://127.0.0.1:')
        response = httpx.get(url, timeout=10)
        assert response.status_code == 200
        assert response.text == 'Hello, world!'
        assert response.headers['server'] == 'granian'
        assert server.stop() == 0


def test_interface_from_env_var() -> None:
    env = {'GRANIAN_INTERFACE': 'asgi', 'GRANIAN_PORT': '0', 'GRANIAN_HOST': '127.0.0.1'}
    with granian(['examples.hello:app'], env=env) as server:
        url = server.wait_for_url()
        assert httpx.get(f'{url}/anything', timeout=10).text == 'Hello, world!'
        assert server.stop() == 0


def test_configuration_error_exits_1_without_traceback() -> None:
    # Upstream refuses more than one blocking thread outside WSGI before binding anything.
    result = subprocess.run(
        [sys.executable, '-m', 'granian', '--interface', 'asgi', '--blocking-threads', '2', 'examples.hello:app'],
        cwd=REPO_ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )
    assert result.returncode == 1
    assert result.stderr.startswith('Error: --blocking-threads: ')
    assert 'Traceback' not in result.stdout + result.stderr
    assert 'Listening at:' not in result.stdout


def test_console_script_prints_the_version() -> None:
    script = Path(sys.executable).with_name('granian')
    result = subprocess.run([str(script), '--version'], capture_output=True, text=True, timeout=STARTUP_TIMEOUT)
    assert result.returncode == 0
    assert re.fullmatch(r'granian \S+\n', result.stdout)
