"""No request is lost while workers are replaced or stopped, under steady traffic.

Each test keeps a few clients busy (keep-alive connections and fresh connections, see
:class:`~ops.opskit.Load`), makes the server replace its workers one way or another, waits until
every old worker is gone, and then requires every request to have succeeded.
"""

from __future__ import annotations

import re
import signal
import threading
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ops.opskit import APPS, Load, rolling_restarts, wait_gone, wait_until
from testkit.process import ServerProcess, api_server

#: Enough clients and worker replacements that a lost request would show: with a worker that
#: closed idle connections at once when stopping, this load saw failures in most runs.
CLIENTS = 8
ROUNDS = 2
METRICS = {'metrics_enabled': True, 'metrics_port': 0, 'metrics_scrape_interval': 1}
#: A Granian whose supervisor gets a scaled workers_lifetime: 60 s, the smallest allowed, becomes 3 s.
SHORT_LIFETIME = 'ops.short_lifetime:ShortLifetimeGranian'


def _two_workers(server_class: str | None = None, **options: object) -> ServerProcess:
    server = api_server(
        'ops_app:app',
        server_class=server_class,
        interface='asgi',
        working_dir=str(APPS),
        workers=2,
        respawn_interval=0.5,
        **options,
    ).ready()
    server.wait_for('Started worker-1')
    server.wait_for('Started worker-2')
    return server


def _respawns(server: ServerProcess) -> dict[str, float]:
    url = server.wait_for(r'Metrics exporter listening at: (\S+)').group(1)
    families = text_string_to_metric_families(httpx.get(url).text)
    return {family.name: family.samples[0].value for family in families if family.name.startswith('granian_workers_')}


def test_sighup_rolling_restart_loses_no_request() -> None:
    server = _two_workers()
    try:
        with Load(server.url, clients=CLIENTS) as load:
            rolling_restarts(server, load, rounds=ROUNDS)
        assert load.failures == {}, load.failures
        assert server.output.count('HUP signal received, gracefully respawning workers..') == ROUNDS
        assert len(set(server.worker_pids())) == 2 * (ROUNDS + 1)
    finally:
        assert server.stop() == 0


def test_lifetime_respawn_loses_no_request_and_keeps_a_worker_serving() -> None:
    server = _two_workers(SHORT_LIFETIME, workers_lifetime=60, **METRICS)
    try:
        with Load(server.url, clients=CLIENTS) as load:
            # Every generation of workers reaches its lifetime a few seconds after it started.
            wait_until(lambda: len(set(server.worker_pids())) >= 2 * (ROUNDS + 1), 90, 'workers to be replaced')
            wait_gone(server.worker_pids()[: 2 * ROUNDS])
            load.wait_for_requests(20)
        assert load.failures == {}, load.failures
        lines = server.lines
        assert any('worker-1 lifetime expired, gracefully respawning..' in line for line in lines)
        assert any('worker-2 lifetime expired, gracefully respawning..' in line for line in lines)
        # One worker at a time: the second replacement is spawned only once the first old worker
        # has stopped.
        first_expiry = next(i for i, line in enumerate(lines) if 'lifetime expired' in line)
        spawns = [i for i, line in enumerate(lines) if 'Spawning worker-' in line and i > first_expiry]
        first_stop = next(i for i, line in enumerate(lines) if 'Stopping worker-' in line and i > first_expiry)
        assert spawns[0] < first_stop < spawns[1]
        assert _respawns(server)['granian_workers_respawns_for_lifetime'] >= 2 * ROUNDS
    finally:
        assert server.stop() == 0


def test_memory_respawn_loses_no_request() -> None:
    server = _two_workers(workers_max_rss=100, rss_sample_interval=1, rss_samples=2, **METRICS)
    try:
        with Load(server.url, clients=CLIENTS) as load:
            for round_ in range(ROUNDS):
                hog = int(httpx.get(f'{server.url}/hog?mb=150', timeout=30).text)
                wait_gone([hog])
                wait_until(lambda n=3 + round_: server.output.count('Started worker-') >= n, 60, 'the replacement')
                load.wait_for_requests(20)
        assert load.failures == {}, load.failures
        reports = re.findall(r'worker-\d memory usage \((\d+\.\d) MiB\) exceeded the limit \(100 MiB\)', server.output)
        assert len(reports) == ROUNDS
        assert all(float(mib) > 100 for mib in reports)
        assert _respawns(server) == {
            'granian_workers_spawns': 2 + ROUNDS,
            'granian_workers_respawns_for_err': 0,
            'granian_workers_respawns_for_lifetime': 0,
            'granian_workers_respawns_for_rss': ROUNDS,
        }
    finally:
        assert server.stop() == 0


def test_sigterm_completes_every_request_in_flight(tmp_path: Path) -> None:
    server = _two_workers()
    results: list[str] = []
    markers = [tmp_path / f'serving-{idx}' for idx in range(8)]

    def slow(marker: Path) -> None:
        try:
            results.append(httpx.get(f'{server.url}/slow', params={'delay': 1.5, 'marker': marker}, timeout=30).text)
        except httpx.HTTPError as exc:
            results.append(repr(exc))

    threads = [threading.Thread(target=slow, args=(marker,)) for marker in markers]
    for thread in threads:
        thread.start()
    wait_until(lambda: all(marker.exists() for marker in markers), what='every request to be served')
    assert server.stop(signal.SIGTERM) == 0
    for thread in threads:
        thread.join(30)
    assert results == ['slow done'] * len(markers)
