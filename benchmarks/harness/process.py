"""One server process under test: started pinned in its own process group, checked, stopped.

The whole group is signalled on stop, so servers that fork workers (hypercorn, Granian) leave
nothing behind. Output goes to a log file that is scanned for errors after the run.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .websocket import echo_once

__all__ = ['GroupMemory', 'ServerError', 'ServerProcess', 'free_port']

# Lines that mean the server reported a failure, whatever its log format.
_ERROR_MARKERS = ('Traceback (most recent call last)', 'ERROR', 'CRITICAL', 'panicked at')


_CLOCK_TICKS = os.sysconf('SC_CLK_TCK')


class ServerError(RuntimeError):
    pass


@dataclass(frozen=True)
class GroupMemory:
    """Memory of a process group in KiB, and how many processes it counted."""

    pss: int
    rss: int
    processes: int


def _kib_fields(path: Path) -> dict[str, int]:
    """The ``Name:  123 kB`` lines of a /proc file, as {name: KiB}."""
    found = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition(':')
        parts = value.split()
        if len(parts) == 2 and parts[1] == 'kB':
            found[name] = int(parts[0])
    return found


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    def __init__(
        self, argv: Sequence[str], *, cpu: str, cwd: Path, env: Mapping[str, str], log_path: Path, host: str, port: int
    ) -> None:
        self.argv = ['taskset', '-c', cpu, *argv]
        self.host = host
        self.port = port
        self.log_path = log_path
        self._log = log_path.open('wb')
        self._proc = subprocess.Popen(
            self.argv, cwd=cwd, env=dict(env), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors='replace').splitlines()
        return '\n'.join(text[-lines:])

    def _fail(self, reason: str) -> ServerError:
        return ServerError(f'{reason}\ncommand: {" ".join(self.argv)}\nlog tail:\n{self.log_tail()}')

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until the port accepts a connection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise self._fail(f'server exited with {self._proc.returncode} before accepting connections')
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=1):
                return
            time.sleep(0.05)
        raise self._fail(f'server did not accept connections on port {self.port} within {timeout:.0f} s')

    def check_response(
        self, method: str, path: str, body: bytes, expect: bytes, timeout: float = 30.0, tls: bool = False
    ) -> None:
        """One real request: status 200 and exactly the expected body, or the run fails."""
        if tls:
            # The harness's own throwaway certificate: checking it would prove nothing.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=context
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            headers = {'Content-Type': 'application/octet-stream'} if body else {}
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            got = response.read()
        except OSError as exc:
            raise self._fail(f'{method} {path} failed: {exc!r}') from exc
        finally:
            conn.close()
        if response.status != 200 or got != expect:
            raise self._fail(
                f'{method} {path}: status {response.status}, {len(got)} B body; expected 200 and {len(expect)} B'
            )

    def check_websocket_echo(self, path: str, message: bytes, timeout: float = 30.0) -> None:
        """One real WebSocket: the handshake succeeds and ``message`` comes back unchanged."""
        try:
            got = echo_once(self.host, self.port, path, message, timeout)
        except OSError as exc:
            raise self._fail(f'WebSocket {path} failed: {exc}') from exc
        if got != message:
            raise self._fail(f'WebSocket {path}: echo of {len(message)} B came back as {got!r}')

    def _group_stats(self) -> list[tuple[int, list[str]]]:
        """(pid, fields of /proc/<pid>/stat after the command name) of each live process in the group."""
        found = []
        for stat in Path('/proc').glob('[0-9]*/stat'):
            try:
                fields = stat.read_text().rsplit(')', 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            # After the command name: state, ppid, pgrp, ...
            if int(fields[2]) == self._proc.pid:
                found.append((int(stat.parent.name), fields))
        return found

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the live processes of the server's group.

        Summed over every process in the group, so forked workers count; it is the server's cost
        per request however much of the core other work on the machine took meanwhile.
        """
        # utime and stime are the 12th and 13th fields after the command name.
        total = sum(int(fields[11]) + int(fields[12]) for _, fields in self._group_stats())
        return total / _CLOCK_TICKS

    def memory_kib(self) -> GroupMemory:
        """Pss and Rss of the server's group, summed over its processes (forked workers count).

        Pss charges each shared page to its sharers in parts, so the sum over a main process and
        the workers it forked counts every page once; Rss would count shared pages per process.
        """
        pss = rss = processes = 0
        for pid, _ in self._group_stats():
            try:
                fields = _kib_fields(Path(f'/proc/{pid}/smaps_rollup'))
                pss, rss = pss + fields['Pss'], rss + fields['Rss']
            except (OSError, KeyError):
                try:  # a kernel without smaps_rollup: the resident set is all there is
                    resident = _kib_fields(Path(f'/proc/{pid}/status'))['VmRSS']
                except (OSError, KeyError):
                    continue  # gone meanwhile
                pss, rss = pss + resident, rss + resident
            processes += 1
        return GroupMemory(pss, rss, processes)

    def check_healthy(self) -> None:
        """Still running and nothing in its log that reads like an error."""
        if self._proc.poll() is not None:
            raise self._fail(f'server exited with {self._proc.returncode} during the run')
        self._log.flush()
        text = self.log_path.read_text(errors='replace')
        marker = next((m for m in _ERROR_MARKERS if m in text), None)
        if marker is not None:
            raise self._fail(f'server logged {marker!r}')

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the process group, SIGKILL if it lingers; waits until the group is gone."""
        pgid = self._proc.pid
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self._proc.poll()
                try:
                    os.killpg(pgid, 0)
                except ProcessLookupError:
                    self._log.close()
                    return
                time.sleep(0.05)
        self._log.close()
        raise ServerError(f'process group {pgid} survived SIGKILL')

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
