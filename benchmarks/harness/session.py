"""What every benchmark entry point shares: paths, server selection, venvs and commands, the report header.

``run.py`` (throughput) and ``memory.py`` (memory per idle connection) start the same server rows
from the same environments, so the steps between the command line and a runnable argv live here
once, as do the facts the header of each report states (machine, load average, software versions).
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import envs
from .process import ServerProcess
from .servers import APPS, ServerSpec, expand_argv, ours_launcher

__all__ = [
    'APPS_DIR',
    'BENCH_DIR',
    'HOST',
    'REPO_ROOT',
    'VENVS_DIR',
    'Prepared',
    'add_common_arguments',
    'conclude',
    'cpu_model',
    'git_revision',
    'header',
    'load_average',
    'load_line',
    'machine_line',
    'patterns',
    'prepare',
    'select',
    'server_env',
    'start_server',
    'warn_if_busy',
]

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
APPS_DIR = BENCH_DIR / 'apps'
VENVS_DIR = BENCH_DIR / '.venvs'
HOST = '127.0.0.1'

# Above this 1-minute load average other work is likely to skew the numbers.
_BUSY_LOAD = 0.5


def add_common_arguments(parser: argparse.ArgumentParser, *, client: str, listed: str) -> None:
    """The options every entry point takes: selection, pinning, output, venvs, targets, listing."""
    parser.add_argument('--only', help='servers to run, comma-separated globs (e.g. "ours-*,uvicorn-*")')
    parser.add_argument('--markdown', type=Path, help='also write the report to this markdown file')
    parser.add_argument('--server-cpu', default='0', help='CPU list the server is pinned to (default 0)')
    parser.add_argument('--client-cpu', default='1', help=f'CPU list {client} is pinned to (default 1)')
    parser.add_argument('--reinstall', action='store_true', help='reinstall the benchmark venvs')
    parser.add_argument(
        '--check-targets',
        action='store_true',
        help='exit 1 when a target is missed, or one of its rows did not run or failed',
    )
    parser.add_argument('--list', action='store_true', help=f'print the {listed}, then exit')


def patterns(text: str | None) -> list[str]:
    return [p.strip() for p in text.split(',') if p.strip()] if text else []


def select(names: Sequence[str], globs: list[str]) -> set[str]:
    """The names matching any glob (all names without globs); none at all is a usage error."""
    if not globs:
        return set(names)
    chosen = {name for name in names if any(fnmatch.fnmatchcase(name, p) for p in globs)}
    if not chosen:
        raise SystemExit(f'no match for {globs} among {", ".join(names)}')
    return chosen


def git_revision() -> str:
    done = subprocess.run(
        ['git', '-C', str(REPO_ROOT), 'describe', '--always', '--dirty'], capture_output=True, text=True
    )
    return done.stdout.strip() or 'unknown'


def cpu_model() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def machine_line(server_cpu: str, client_cpu: str) -> str:
    return (
        f'- machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; '
        f'server pinned to CPU {server_cpu}, load generator to CPU {client_cpu}'
    )


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages, from /proc/loadavg where there is one."""
    try:
        fields = Path('/proc/loadavg').read_text().split()
        return float(fields[0]), float(fields[1]), float(fields[2])
    except (OSError, IndexError, ValueError):
        return os.getloadavg()


def load_line(start: tuple[float, float, float]) -> str:
    """The report's line on other load: the three averages at the start, the 1-minute one now.

    The 5 and 15 minute figures tell whether the start was a quiet moment in a busy period; the
    one at the end mostly shows the run's own load generator.
    """
    one, five, fifteen = start
    return (
        f'- load average at the start (1/5/15 min): {one:.2f} / {five:.2f} / {fifteen:.2f}; '
        f'at the end (1 min): {load_average()[0]:.2f}'
    )


def warn_if_busy(start: tuple[float, float, float]) -> None:
    if start[0] > _BUSY_LOAD:
        note = f'!! load average is {start[0]:.2f}: other work on this machine will skew the numbers'
        print(note, file=sys.stderr, flush=True)


def server_env(pythonpath: Sequence[str] = ()) -> dict[str, str]:
    """The parent's environment without settings that would change a server's behaviour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('GRANIAN_', 'UVICORN_', 'VIRTUAL_ENV', 'PYTHON'))}
    env['PYTHONPATH'] = os.pathsep.join([str(APPS_DIR), *pythonpath])
    return env


def start_server(
    argv: list[str], *, cpu: str, log_path: Path, port: int, pythonpath: Sequence[str] = ()
) -> ServerProcess:
    """A server row's command, started pinned to ``cpu`` in benchmarks/apps on the harness's host."""
    env = server_env(pythonpath)
    return ServerProcess(argv, cpu=cpu, cwd=APPS_DIR, env=env, log_path=log_path, host=HOST, port=port)


def conclude(report: str, markdown: Path | None, failed: Sequence[str], unmet: Sequence[tuple[str, str]]) -> int:
    """Print the report (and write it to ``markdown``), then a line per failed row and unmet target.

    ``unmet`` holds (status, problem) of each target not met; returns the exit status.
    """
    print(report)
    if markdown:
        markdown.write_text(report)
    if failed:
        print(f'!! {len(failed)} row(s) failed: ' + ', '.join(failed), file=sys.stderr)
    for status, problem in unmet:
        # A missed target is a finding; one that could not be checked is a gap in the run.
        label = 'missed' if status == 'NO' else 'not checked'
        print(f'!! target {label}: {problem}', file=sys.stderr)
    return 1 if failed or unmet else 0


def header(
    title: str,
    started: datetime.datetime,
    cpus: tuple[str, str],
    how: str,
    load_start: tuple[float, float, float],
    prepared: Prepared,
) -> str:
    """A report's heading and the facts to read it by: machine, method (``how``), load, software."""
    return '\n'.join(
        [
            f'## {title} {started:%Y-%m-%d %H:%M} UTC',
            '',
            machine_line(*cpus),
            how,
            load_line(load_start),
            prepared.software_line(),
        ]
    )


@dataclass(frozen=True)
class Prepared:
    """The servers' commands (``{port}`` still open), and what the report says about the software."""

    commands: dict[str, list[str]]
    versions: dict[str, str]
    launched_by: str

    def software_line(self) -> str:
        return f'- Python {platform.python_version()}; ours at {git_revision()} started via {self.launched_by}; ' + (
            ', '.join(f'{dist} {version}' for dist, version in self.versions.items())
        )


def prepare(servers: Iterable[ServerSpec], *, reinstall: bool = False) -> Prepared:
    """Create (or reuse) the venvs the ``servers`` run from, and fill in their commands."""
    servers = list(servers)
    VENVS_DIR.mkdir(exist_ok=True)
    uv = envs.find_uv(VENVS_DIR)
    pythons: dict[str, Path] = {}
    versions: dict[str, str] = {}
    for name in sorted({s.env for s in servers}):
        env = envs.ENVS[name]
        pythons[name] = envs.ensure_env(env, VENVS_DIR, REPO_ROOT, uv, reinstall=reinstall)
        for dist, version in envs.installed_versions(pythons[name], env.report).items():
            versions[f'{dist} ({name})'] = version
    launcher = ours_launcher(pythons['ours']) if 'ours' in pythons else []
    launched_by = 'python -m granian' if launcher[1:2] == ['-m'] else 'the granian.Granian API wrapper'
    commands: dict[str, list[str]] = {}
    for server in servers:
        python = pythons[server.env]
        values: dict[str, str | list[str]] = {
            'python': str(python),
            'bin': str(python.parent),
            'app': APPS[server.interface],
            'ours': launcher,
            'host': HOST,
            'port': '{port}',
        }
        commands[server.name] = expand_argv(server.argv, values)
    return Prepared(commands, versions, launched_by)
