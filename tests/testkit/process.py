"""Real server processes for end-to-end tests.

A server is started through the public API (``granian.Granian(...).serve()``) or the CLI in a child
process with port 0; the bound address is read from its ``Listening at:`` log line. Output is
collected by a thread so the child never blocks on a full pipe, and ``stop()`` sends a signal and
returns the exit code.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / 'tests'

_LISTENING = re.compile(r'Listening at: (\S+)')
_WORKER = re.compile(r'Spawning worker-(\d+) with PID: (\d+)')


class ServerProcess:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path = ROOT,
        env: dict[str, str] | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        """``pass_fds``: descriptors the server inherits (a listening socket for ``--fd``, say)."""
        full_env = {**os.environ, 'PYTHONUNBUFFERED': '1', **(env or {})}
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = ''

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

    def count(self, pattern: str) -> int:
        """How many log lines so far match ``pattern``: take it before an action, then
        ``wait_for(pattern, more_than=count)``, so that an earlier identical line cannot pass."""
        regex = re.compile(pattern)
        with self._changed:
            return sum(1 for line in self.lines if regex.search(line))

    def wait_for(self, pattern: str, timeout: float = 20.0, *, more_than: int = 0) -> re.Match[str]:
        """Wait until more than ``more_than`` log lines match ``pattern`` and return the match of the
        next one; fail with the output so far if they never do."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = matched = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    match = regex.search(line)
                    if match:
                        matched += 1
                        if matched > more_than:
                            return match
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    output = '\n'.join(self.lines)
                    raise AssertionError(f'no line matching {pattern!r} after {more_than} such; output:\n{output}')
                self._changed.wait(min(left, 0.2))

    def ready(self, timeout: float = 20.0) -> ServerProcess:
        self.url = self.wait_for(_LISTENING.pattern, timeout).group(1)
        self.wait_for(r'Started worker-', timeout)
        return self

    @property
    def port(self) -> int:
        return int(self.url.rsplit(':', 1)[1])

    def worker_pids(self) -> list[int]:
        return [int(match.group(2)) for match in (_WORKER.search(line) for line in self.lines) if match]

    def send_signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        self.send_signal(signum)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait()
            raise AssertionError('server did not stop in time; output:\n' + self.output) from None
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def api_command(target: str, *, server_class: str | None = None, **options: Any) -> list[str]:
    """The command line that runs ``Granian(target, **options).serve()`` (port 0 unless given).

    ``server_class`` (``'module:Class'``, importable from ``tests/``) serves with a test-only
    subclass of ``Granian`` instead, e.g. ``'ops.short_lifetime:ShortLifetimeGranian'``.
    """
    options.setdefault('port', 0)
    # The stdlib loop is the reference every test must pass on; tests/e2e/test_loops.py covers
    # the others ('auto' would pick rloop or uvloop, which the test environment has).
    options.setdefault('loop', 'asyncio')
    if 'uds' not in options:
        options.setdefault('address', '127.0.0.1')
    args = ', '.join(f'{key}={value!r}' for key, value in options.items())
    if server_class is None:
        server_import = 'from granian import Granian\n'
    else:
        module, name = server_class.split(':')
        server_import = f'import sys\nsys.path.insert(0, {str(TESTS)!r})\nfrom {module} import {name} as Granian\n'
    code = (
        'from pathlib import PosixPath\n'
        f'{server_import}'
        'from granian.http import HTTP1Settings, HTTP2Settings, HTTP3Settings\n'
        f'Granian({target!r}, {args}).serve()\n'
    )
    return [sys.executable, '-c', code]


def api_server(
    target: str,
    *,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    server_class: str | None = None,
    pass_fds: Sequence[int] = (),
    **options: Any,
) -> ServerProcess:
    """Start ``Granian(target, **options).serve()`` in a child process (port 0 unless given)."""
    return ServerProcess(api_command(target, server_class=server_class, **options), cwd=cwd, env=env, pass_fds=pass_fds)


def cli_server(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, pass_fds: Sequence[int] = ()
) -> ServerProcess:
    """Start ``python -m granian ARGS`` in a child process."""
    return ServerProcess([sys.executable, '-m', 'granian', *args], cwd=cwd, env=env, pass_fds=pass_fds)


def run_command(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m granian ARGS`` to its end (a start-up that must fail, say) and return it.

    ``timeout`` bounds a server that starts when it should not have.
    """
    return subprocess.run(
        [sys.executable, '-m', 'granian', *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
