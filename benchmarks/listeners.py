"""The two listener models, measured: one shared socket, or a SO_REUSEPORT listener per worker.

    python benchmarks/listeners.py [--rounds 3] [--duration 5] [--connections 64] [--loop auto]
                                   [--migrate-req current|both] [--markdown out.md]

Run it with a Python that has our packages installed (the hatch environment's, say). For each
model (``--no-reuse-port``, ``--reuse-port``), each ``net.ipv4.tcp_migrate_req`` value (``both``
sets 0 and 1 in turn, as root, and puts the old value back) and each client pattern (wrk's
keep-alive connections; a new connection per request), one granian with 2 workers and the
Prometheus exporter serves ``benchmarks/apps/asgi_app.py``, and wrk, bounded in time, measures:

- **steady**: requests/s, p99, and how the requests spread over the two workers (the per-worker
  ``granian_requests_handled`` counters, before and after);
- **SIGHUP**: the failed requests (wrk's socket errors and non-2xx responses) of a run during which
  the server replaces both workers one after the other.

Rounds interleave the configurations, so that a change in the machine's load hits all of them.
Everything runs on 127.0.0.1; the server's process group is stopped by its pid.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from harness.wrk import parse

HOST = '127.0.0.1'
APPS = Path(__file__).resolve().parent / 'apps'
MIGRATE_REQ = Path('/proc/sys/net/ipv4/tcp_migrate_req')
_SAMPLE = re.compile(r'^granian_requests_handled\{worker="(\d+)"\} (\d+)', re.M)


@dataclass
class Config:
    reuse_port: bool
    migrate_req: str
    close: bool

    @property
    def label(self) -> str:
        model = 'SO_REUSEPORT per worker' if self.reuse_port else 'shared socket'
        clients = 'new connection per request' if self.close else 'keep-alive'
        return f'{model} | tcp_migrate_req={self.migrate_req} | {clients}'


@dataclass
class Results:
    rps: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    #: The busier worker's share of the requests, per run.
    share: list[float] = field(default_factory=list)
    steady_errors: list[int] = field(default_factory=list)
    hup_errors: list[int] = field(default_factory=list)
    hup_requests: list[int] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, config: Config, loop: str, log: Path) -> None:
        self.port, self.metrics_port = _free_port(), _free_port()
        argv = [
            sys.executable, '-m', 'granian', '--interface', 'asgi', '--workers', '2', '--loop', loop,
            '--host', HOST, '--port', str(self.port), '--backlog', '2048', '--respawn-interval', '1',
            '--metrics', '--metrics-port', str(self.metrics_port), '--metrics-scrape-interval', '1',
            '--reuse-port' if config.reuse_port else '--no-reuse-port', '--working-dir', str(APPS), 'asgi_app:app',
        ]  # fmt: skip
        self.log_path = log
        self._log = log.open('w')
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_log('Started worker-2', 1)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def wait_log(self, text: str, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f'server: no {count} x {text!r}:\n{self.log()}')
            time.sleep(0.05)

    def handled(self) -> dict[str, int]:
        with urllib.request.urlopen(f'http://{HOST}:{self.metrics_port}/metrics', timeout=10) as response:
            text = response.read().decode()
        return {worker: int(count) for worker, count in _SAMPLE.findall(text)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def _wrk(url: str, duration: int, connections: int, close: bool) -> subprocess.Popen[str]:
    argv = ['wrk', '-t1', f'-c{connections}', f'-d{duration}s', '--latency']
    if close:
        argv += ['-H', 'Connection: close']
    return subprocess.Popen([*argv, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _settled(server: Server, before: dict[str, int], requests: int) -> dict[str, int]:
    """Per-worker requests since ``before``, once the workers' 1 s pushes have caught up with wrk."""
    deadline = time.monotonic() + 10
    while True:
        now = server.handled()
        delta = {worker: now.get(worker, 0) - before.get(worker, 0) for worker in now}
        if sum(delta.values()) >= requests or time.monotonic() > deadline:
            return delta
        time.sleep(0.2)


def measure(config: Config, args: argparse.Namespace, results: Results, log: Path) -> None:
    server = Server(config, args.loop, log)
    try:
        url = f'http://{HOST}:{server.port}/b'
        warm = _wrk(url, 1, args.connections, config.close)
        warm.communicate()
        before = server.handled()
        done = _wrk(url, args.duration, args.connections, config.close)
        output = done.communicate()[0]
        steady = parse(output)
        delta = _settled(server, before, steady.requests)
        results.rps.append(steady.rps)
        results.p99.append(steady.p99_ms)
        results.steady_errors.append(steady.errors)
        results.share.append(max(delta.values()) / max(1, sum(delta.values())))

        hup = _wrk(url, args.duration + 4, args.connections, config.close)
        time.sleep(1)  # wrk's connections are up and busy
        os.kill(server.proc.pid, signal.SIGHUP)
        output = hup.communicate()[0]
        replaced = parse(output)
        server.wait_log('Started worker-', 4)  # both workers were replaced during the run
        results.hup_errors.append(replaced.errors)
        results.hup_requests.append(replaced.requests)
    finally:
        server.stop()


def _set_migrate_req(value: str) -> None:
    MIGRATE_REQ.write_text(value)


def _row(config: Config, r: Results) -> str:
    def spread(values: list[float], fmt: str) -> str:
        return f'{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})'

    hup = ', '.join(f'{e}/{n}' for e, n in zip(r.hup_errors, r.hup_requests, strict=True))
    shares = ', '.join(f'{100 * share:.0f}' for share in r.share)
    return (
        f'| {config.label} | {spread(r.rps, ".0f")} | {spread(r.p99, ".1f")} | '
        f'{shares} | {sum(r.steady_errors)} | {hup} |'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--duration', type=int, default=5, help='seconds of each steady wrk run')
    parser.add_argument('--connections', type=int, default=64)
    parser.add_argument('--loop', default='auto')
    parser.add_argument('--migrate-req', choices=['current', 'both'], default='current')
    parser.add_argument('--markdown', type=Path)
    parser.add_argument('--logs', type=Path, default=Path('/tmp/granian-listeners-bench'))
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)

    original = MIGRATE_REQ.read_text().strip() if MIGRATE_REQ.exists() else 'n/a'
    migrate_values = ['0', '1'] if args.migrate_req == 'both' else [original]
    configs = [
        Config(reuse_port, migrate, close)
        for migrate in migrate_values
        for close in (False, True)
        for reuse_port in (False, True)
    ]
    results = {config.label: Results() for config in configs}
    started = time.strftime('%Y-%m-%d %H:%M:%S')
    load = os.getloadavg()[0]
    try:
        for round_ in range(args.rounds):
            for idx, config in enumerate(configs):
                if args.migrate_req == 'both':
                    _set_migrate_req(config.migrate_req)
                print(f'round {round_ + 1}/{args.rounds}: {config.label}', file=sys.stderr, flush=True)
                measure(config, args, results[config.label], args.logs / f'{round_}-{idx}.log')
    finally:
        if args.migrate_req == 'both' and original in ('0', '1'):
            _set_migrate_req(original)

    lines = [
        f'`python benchmarks/listeners.py --rounds {args.rounds} --duration {args.duration} '
        f'--connections {args.connections} --loop {args.loop} --migrate-req {args.migrate_req}`, '
        f'{started}, {os.cpu_count()} CPUs, load average {load:.2f} at the start, '
        f'Linux {os.uname().release}, Python {sys.version.split()[0]}; req/s and p99: median (min-max) '
        f'of {args.rounds} rounds.',
        '',
        '| model, tcp_migrate_req, clients | req/s | p99 ms | busier worker %, per round | errors (steady) '
        '| failed/total during SIGHUP, per round |',
        '|---|---|---|---|---|---|',
        *(_row(config, results[config.label]) for config in configs),
    ]
    report = '\n'.join(lines)
    print(report)
    if args.markdown is not None:
        args.markdown.write_text(report + '\n')


if __name__ == '__main__':
    main()
