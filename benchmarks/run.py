"""Benchmark our server against its peers on the same app, in the same run, on pinned cores.

    python benchmarks/run.py [--duration 8] [--connections 64] [--only 'ours-*,uvicorn-*']
                             [--scenarios get-short] [--markdown out.md]

Each (server, scenario) pair gets a fresh server process pinned to one core, a response check,
a warm-up and a measured run of the load generator (wrk, h2load, or the Node.js WebSocket client)
pinned to the other core. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from harness import certs, envs, h2load, h3load, session, websocket, wrk
from harness.process import ServerError, free_port
from harness.report import Outcome, check_targets, render_scenario, render_targets
from harness.results import LoadSettings, Measurement
from harness.scenarios import SCENARIOS, Scenario
from harness.servers import APPS, BASELINE, SERVERS, ServerSpec, before_rows, expand_argv
from harness.targets import TARGETS

HOST = session.HOST

# Load generators by Scenario.tool; each returns a Measurement or raises with the reason.
TOOLS: dict[str, Callable[[Scenario, str, LoadSettings], Measurement]] = {
    'wrk': wrk.measure,
    'h2load': h2load.measure,
    'ws': websocket.measure,
    'h3': h3load.measure,
}
# The command-line tools (keys of envs.TOOLS) each load generator needs, beyond openssl and taskset.
TOOL_COMMANDS: dict[str, tuple[str, ...]] = {'wrk': ('wrk',), 'h2load': ('h2load',), 'ws': ('node', 'npm'), 'h3': ()}
_SCHEMES = {'h1': 'http', 'https': 'https', 'h2c': 'http', 'ws': 'ws', 'h3': 'https'}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--duration', type=float, default=8, help='seconds measured per run (default 8)')
    parser.add_argument('--warmup', type=float, default=2, help='seconds of load before measuring (default 2)')
    parser.add_argument('--connections', type=int, default=64, help='wrk and WebSocket client connections (default 64)')
    parser.add_argument('--threads', type=int, default=1, help='wrk threads (default 1)')
    parser.add_argument(
        '--repeat', type=int, default=1, help='rounds over all pairs; each pair keeps its median (default 1)'
    )
    parser.add_argument('--scenarios', help='scenarios to run, comma-separated globs (e.g. "get-*")')
    parser.add_argument(
        '--before',
        type=Path,
        help='a checkout of this repository at another commit: adds before-asyncio, before-rsgi-asyncio '
        'and before-wsgi rows, our server as that checkout has it, measured in the same run',
    )
    parser.add_argument('--interface', help='interfaces to run, comma-separated (e.g. "asgi")')
    parser.add_argument(
        '--max-error-rate',
        type=float,
        default=0.001,
        help='socket errors + non-2xx allowed per request (default 0.001)',
    )
    session.add_common_arguments(parser, client='the load generator', listed='servers and scenarios')
    return parser.parse_args(argv)


def _wrk_version() -> str:
    done = subprocess.run(['wrk', '-v'], capture_output=True, text=True)
    return (done.stdout + done.stderr).split('\n', 1)[0].split(' [')[0].strip()


def run_one(
    server: ServerSpec,
    scenario: Scenario,
    argv: list[str],
    settings: LoadSettings,
    warmup: float,
    args: argparse.Namespace,
    logs: Path,
    tls_files: tuple[Path, Path],
) -> Outcome:
    port = free_port(HOST)
    extra = server.transport_args(scenario.transport) or ()
    # A transport's arguments may name the address too (hypercorn's --quic-bind {host}:{port}).
    files = {'cert': str(tls_files[0]), 'key': str(tls_files[1]), 'host': HOST, 'port': str(port)}
    argv = expand_argv([*argv, *expand_argv(extra, files)], {'port': str(port)})
    log_path = logs / f'{server.name}-{scenario.name}.log'
    proc = session.start_server(argv, cpu=args.server_cpu, log_path=log_path, port=port, pythonpath=server.pythonpath)
    measure = TOOLS[scenario.tool]
    tls = scenario.transport in ('https', 'h3')  # an HTTP/3 server serves TLS over TCP too
    url = f'{_SCHEMES[scenario.transport]}://{HOST}:{port}{scenario.path}'
    try:
        proc.wait_ready()
        if scenario.transport == 'ws':
            proc.check_websocket_echo(scenario.path, scenario.body)
        else:
            proc.check_response(scenario.method, scenario.path, scenario.body, scenario.expect, tls=tls)
        if warmup > 0:
            measure(scenario, url, replace(settings, duration=warmup))
        cpu_before = proc.cpu_seconds()
        measurement = measure(scenario, url, settings)
        measurement = replace(measurement, server_cpu_s=proc.cpu_seconds() - cpu_before)
        proc.check_healthy()
        return Outcome(measurement=measurement)
    except (
        ServerError,
        wrk.WrkError,
        h2load.H2loadError,
        h3load.H3LoadError,
        websocket.WebSocketError,
        subprocess.TimeoutExpired,
    ) as exc:
        return Outcome(failure=str(exc))
    finally:
        try:
            proc.stop()
        except ServerError as exc:
            print(f'!! {exc}', file=sys.stderr)


def _all_servers(args: argparse.Namespace) -> tuple[ServerSpec, ...]:
    return SERVERS + before_rows(args.before) if args.before else SERVERS


def _pairs(args: argparse.Namespace) -> tuple[list[tuple[Scenario, ServerSpec]], set[str], set[str]]:
    """The (scenario, server) pairs to run, and the server and scenario names the options selected."""
    candidates = _all_servers(args)
    wanted_servers = session.select([s.name for s in candidates], session.patterns(args.only))
    wanted_interfaces = set(session.patterns(args.interface)) or set(APPS)
    servers = [s for s in candidates if s.name in wanted_servers and s.interface in wanted_interfaces]
    wanted_scenarios = session.select([s.name for s in SCENARIOS], session.patterns(args.scenarios))
    scenarios = [s for s in SCENARIOS if s.name in wanted_scenarios]
    pairs = [
        (sc, sv)
        for sc in scenarios
        for sv in servers
        if sv.interface in sc.interfaces and sv.transport_args(sc.transport) is not None
    ]
    if not pairs:
        raise SystemExit('no selected server serves any selected scenario')
    return pairs, {s.name for s in servers}, wanted_scenarios


def _progress(m: Measurement, unit: str) -> str:
    busy = ''
    if m.client_cpu is not None:
        busy = f', client CPU {m.client_cpu:.0%}'
        busy += ' (busy: it may have set the pace)' if m.client_cpu > websocket.CLIENT_BUSY else ''
    cost = f', server {m.server_us_per_request:.0f} µs CPU each' if m.server_us_per_request else ''
    return f'{m.rps:,.0f} {unit}, p50 {m.p50_ms:.2f} ms, p99 {m.p99_ms:.2f} ms{cost}{busy}'


def _measure_all(
    pairs: list[tuple[Scenario, ServerSpec]], commands: dict[str, list[str]], args: argparse.Namespace
) -> dict[tuple[str, str], Outcome]:
    """Every pair ``--repeat`` times; each keeps its median run by rate, or its first failure."""
    settings = LoadSettings(args.duration, args.connections, args.threads, args.client_cpu, args.max_error_rate)
    samples: dict[tuple[str, str], list[Measurement]] = {(sv.name, sc.name): [] for sc, sv in pairs}
    failures: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory(prefix='bench-logs-') as tmp:
        tls_files = certs.make_certificate(Path(tmp), HOST)
        # Whole rounds rather than back-to-back repeats, so a burst of outside load hits every row alike.
        for round_no in range(1, args.repeat + 1):
            for index, (scenario, server) in enumerate(pairs, 1):
                key = (server.name, scenario.name)
                if key in failures:
                    continue
                step = f'round {round_no}/{args.repeat} ' if args.repeat > 1 else ''
                print(f'{step}[{index}/{len(pairs)}] {scenario.name} {server.name} ...', end=' ', file=sys.stderr)
                outcome = run_one(
                    server, scenario, commands[server.name], settings, args.warmup, args, Path(tmp), tls_files
                )
                if outcome.measurement:
                    samples[key].append(outcome.measurement)
                    print(_progress(outcome.measurement, scenario.unit), file=sys.stderr, flush=True)
                else:
                    failures[key] = outcome.failure or 'failed'
                    print(f'FAILED\n{outcome.failure}\n', file=sys.stderr, flush=True)
    return {
        key: Outcome(failure=failures[key])
        if key in failures
        else Outcome(measurement=sorted(runs, key=lambda m: m.rps)[len(runs) // 2])
        for key, runs in samples.items()
    }


def _header(
    args: argparse.Namespace,
    started: datetime.datetime,
    load_start: tuple[float, float, float],
    prepared: session.Prepared,
    ws_run: bool,
) -> str:
    load = (
        f'- load: {_wrk_version()} -t{args.threads} -c{args.connections} (h2load: per scenario'
        + (f'; WebSocket: {websocket.client_version()}, {args.connections} connections' if ws_run else '')
        + f'), {args.duration:g} s measured '
        + (f'in {args.repeat} rounds (median kept) ' if args.repeat > 1 else '')
        + f'after {args.warmup:g} s warm-up; one worker per server, access log off'
    )
    return session.header('Benchmark run', started, (args.server_cpu, args.client_cpu), load, load_start, prepared)


def _commands_section(
    servers: list[ServerSpec], pairs: list[tuple[Scenario, ServerSpec]], commands: dict[str, list[str]]
) -> str:
    lines = []
    for server in servers:
        # What a transport adds to the command, for the transports this run used.
        extra = {sc.transport: server.transport_args(sc.transport) for sc, sv in pairs if sv is server}
        added = '; '.join(f'{t}: `{" ".join(a)}`' for t, a in extra.items() if a)
        command = f'- {server.name}: `{" ".join(commands[server.name])}`' + (f' (+ {added})' if added else '')
        lines.append(command.replace(f'{session.REPO_ROOT}/', ''))
    return '### Commands\n\n' + '\n'.join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.repeat = max(1, args.repeat)
    if args.list:
        for server in _all_servers(args):
            print(f'server   {server.name:28} {server.interface:6} env={server.env:14} {" ".join(server.argv)}')
        for scenario in SCENARIOS:
            print(f'scenario {scenario.title} via {scenario.tool}')
        return 0
    pairs, selected_servers, selected_scenarios = _pairs(args)
    # Only what some pair uses: no empty tables, no unused venvs or tools.
    scenarios = [sc for sc in SCENARIOS if any(sc is p_sc for p_sc, _ in pairs)]
    servers = [sv for sv in _all_servers(args) if any(sv is p_sv for _, p_sv in pairs)]
    cpus = os.sched_getaffinity(0)
    if len(cpus) < 2:
        print(f'!! only {len(cpus)} CPU available: server and load generator will share it', file=sys.stderr)

    tools = {'openssl', 'taskset'} | {cmd for sc in scenarios for cmd in TOOL_COMMANDS[sc.tool]}
    envs.ensure_tools(tools)
    ws_run = any(sc.tool == 'ws' for sc in scenarios)
    if ws_run:
        websocket.ensure_client(reinstall=args.reinstall)
    prepared = session.prepare(servers, reinstall=args.reinstall)

    load_start = session.load_average()
    session.warn_if_busy(load_start)
    started = datetime.datetime.now(datetime.timezone.utc)
    outcomes = _measure_all(pairs, prepared.commands, args)

    checks = check_targets(TARGETS, outcomes, selected_servers, selected_scenarios)
    sections = [_header(args, started, load_start, prepared, ws_run)]
    sections += [render_scenario(sc, servers, outcomes, BASELINE) for sc in scenarios]
    targets = render_targets(checks, outcomes)
    if targets:
        sections.append(targets)
    sections.append(_commands_section(servers, pairs, prepared.commands))
    report = '\n\n'.join(sections) + '\n'
    failed = [f'{sv}/{sc}' for (sv, sc), outcome in outcomes.items() if outcome.measurement is None]
    unmet = [(c.status, c.problem or '') for c in checks if not c.met] if args.check_targets else []
    return session.conclude(report, args.markdown, failed, unmet)


if __name__ == '__main__':
    sys.exit(main())
