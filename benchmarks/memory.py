"""Memory per idle connection: our server against its peers, one worker each, same run.

    python benchmarks/memory.py [--connections 10000] [--kinds keepalive,ws] [--only 'ours-*,uvicorn-*']
                                [--markdown out.md] [--check-targets]

For each (kind, server): a fresh server pinned to one core, its memory (Rss and Pss of its process
group) once settled, then N idle connections of the kind held by a client process on the other core
(HTTP/1.1 keep-alive after one GET, or WebSockets after one echo), the memory once settled
again, and a check that all N were open when it was read. Reports KiB per connection. See
benchmarks/README.md ("Memory per connection").
"""

from __future__ import annotations

import argparse
import datetime
import platform
import resource
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness import envs, session
from harness.idle import KINDS, MEMORY_SERVERS, HoldSettings, MemoryServer, RowError, measure_row
from harness.memory_report import Result, check_memory_targets, render_kind, render_memory_targets
from harness.process import ServerError

# File descriptors a side needs beyond one per connection: the interpreter's own, the listener,
# the checks' connections, log files.
_SPARE_FDS = 256


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--connections', type=int, default=10_000, help='idle connections held per row (default 10000)')
    parser.add_argument('--kinds', help='kinds to run, comma-separated globs: keepalive, ws (default both)')
    parser.add_argument(
        '--settle-timeout', type=float, default=60, help='seconds memory may take to settle (default 60)'
    )
    session.add_common_arguments(parser, client='the idle client', listed='servers and kinds')
    return parser.parse_args(argv)


def raise_fd_limit(connections: int) -> None:
    """Lift this process's soft open-file limit to the hard one; the server and client inherit it.

    Each side holds one socket per connection, so N connections need N descriptors on each side;
    a hard limit below that is the machine's setting, named in the message, not worked around.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = connections + _SPARE_FDS
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(
            f'--connections {connections} needs {needed} open files per process, but the hard limit is {hard}: '
            f'raise it (ulimit -Hn {needed} as root, or LimitNOFILE=) or lower --connections'
        )
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _header(
    args: argparse.Namespace,
    started: datetime.datetime,
    load_start: tuple[float, float, float],
    prepared: session.Prepared,
) -> str:
    method = (
        f'- method: {args.connections:,} idle connections per row, held by benchmarks/harness/idle_client.py '
        f'(Python {platform.python_version()}, asyncio) in its own process; one worker per server; memory is '
        'Rss and Pss summed over the server process group (/proc/<pid>/smaps_rollup), read once settled '
        '(two reads 1 s apart within 1 %), before and after; KiB/conn = (Rss after - Rss before) / connections'
    )
    cpus = (args.server_cpu, args.client_cpu)
    return session.header('Memory benchmark run', started, cpus, method, load_start, prepared)


def _commands_section(servers: Sequence[MemoryServer], commands: dict[str, list[str]], n: int) -> str:
    lines = []
    for server in servers:
        command = ' '.join([*commands[server.name], *server.extra_args('keepalive', n)])
        ws = server.extra_args('ws', n)[len(server.limits) :]
        added = f' (+ ws: `{" ".join(ws)}`)' if ws else ''
        lines.append(f'- {server.name}: `{command}`{added}'.replace(f'{session.REPO_ROOT}/', ''))
    return '### Commands\n\n' + '\n'.join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for server in MEMORY_SERVERS:
            print(f'server {server.name:26} {" ".join(server.spec.argv)} + {" ".join(server.limits + server.ws)}')
        for kind in KINDS:
            print(f'kind   {kind.name:26} {kind.title}; target for ours: <= {kind.target_kib:g} KiB')
        return 0
    if args.connections < 1:
        raise SystemExit('--connections must be at least 1')
    wanted = session.select([s.name for s in MEMORY_SERVERS], session.patterns(args.only))
    servers = [s for s in MEMORY_SERVERS if s.name in wanted]
    wanted_kinds = session.select([k.name for k in KINDS], session.patterns(args.kinds))
    kinds = [k for k in KINDS if k.name in wanted_kinds]
    raise_fd_limit(args.connections)
    envs.ensure_tools({'taskset'})
    prepared = session.prepare((s.spec for s in servers), reinstall=args.reinstall)

    load_start = session.load_average()
    session.warn_if_busy(load_start)
    started = datetime.datetime.now(datetime.timezone.utc)
    settings = HoldSettings(args.connections, args.server_cpu, args.client_cpu, args.settle_timeout)
    results: dict[tuple[str, str], Result] = {}
    steps = [(kind, server) for kind in kinds for server in servers]
    with tempfile.TemporaryDirectory(prefix='bench-memory-') as tmp:
        for index, (kind, server) in enumerate(steps, 1):
            print(f'[{index}/{len(steps)}] {kind.name} {server.name} ...', end=' ', file=sys.stderr, flush=True)
            try:
                row = measure_row(server, kind, prepared.commands[server.name], settings, Path(tmp))
            except (RowError, ServerError) as exc:
                results[(server.name, kind.name)] = str(exc)
                print(f'FAILED\n{exc}\n', file=sys.stderr, flush=True)
                continue
            results[(server.name, kind.name)] = row
            print(
                f'{row.kib_per_connection:.1f} KiB per connection (Pss {row.pss_kib_per_connection:.1f}), '
                f'opened in {row.open_seconds:.1f} s',
                file=sys.stderr,
                flush=True,
            )

    checks = check_memory_targets(kinds, results)
    sections = [_header(args, started, load_start, prepared)]
    sections += [render_kind(kind, servers, results, args.connections) for kind in kinds]
    sections.append(render_memory_targets(checks))
    sections.append(_commands_section(servers, prepared.commands, args.connections))
    report = '\n\n'.join(sections) + '\n'
    failed = [f'{sv}/{kind}' for (sv, kind), result in results.items() if isinstance(result, str)]
    unmet = [(c.status, c.problem or '') for c in checks if not c.met] if args.check_targets else []
    return session.conclude(report, args.markdown, failed, unmet)


if __name__ == '__main__':
    sys.exit(main())
