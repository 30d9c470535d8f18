"""The Prometheus exporter: upstream's names, per-worker values summed from the workers, counters."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ops.opskit import APPS, wait_until
from testkit.process import ServerProcess, api_server

PER_WORKER = {
    'worker_lifetime': 'counter',
    'connections_active': 'gauge',
    'connections_handled': 'counter',
    'connections_err': 'counter',
    'requests_handled': 'counter',
    'static_requests_handled': 'counter',
    'static_requests_err': 'counter',
    'blocking_threads': 'gauge',
    'blocking_queue': 'gauge',
    'blocking_idle_cumulative': 'counter',
    'blocking_busy_cumulative': 'counter',
    'py_wait_cumulative': 'counter',
}
GLOBAL = ['workers_spawns', 'workers_respawns_for_err', 'workers_respawns_for_lifetime', 'workers_respawns_for_rss']


@pytest.fixture(scope='module')
def server() -> Iterator[ServerProcess]:
    server = api_server(
        'ops_app:app',
        interface='asgi',
        working_dir=str(APPS),
        workers=2,
        respawn_failed_workers=True,
        metrics_enabled=True,
        metrics_port=0,
        metrics_scrape_interval=1,
        static_path_mount=[APPS],
    ).ready()
    server.wait_for('Started worker-1')
    server.wait_for('Started worker-2')
    yield server
    assert server.stop() == 0


def _metrics_url(server: ServerProcess) -> str:
    return server.wait_for(r'Metrics exporter listening at: (\S+)').group(1)


def scrape(server: ServerProcess, path: str = '/metrics') -> dict[str, dict[str, float]]:
    """{family: {worker label or '': value}}, parsed by prometheus_client."""
    response = httpx.get(_metrics_url(server) + path)
    assert response.status_code == 200
    assert response.headers['content-type'] == 'text/plain; version=0.0.4; charset=utf-8'
    values: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values.setdefault(family.name, {})[sample.labels.get('worker', '')] = sample.value
    return values


def test_every_upstream_metric_with_its_type(server: ServerProcess) -> None:
    text = httpx.get(_metrics_url(server) + '/any/path?at=all').text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for name in GLOBAL:
        assert families[f'granian_{name}'].type == 'counter'
        assert [sample.labels for sample in families[f'granian_{name}'].samples] == [{}]
    for name, kind in PER_WORKER.items():
        family = families[f'granian_{name}']
        assert family.type == kind
        assert sorted(sample.labels['worker'] for sample in family.samples) == ['1', '2']
    assert len(families) == len(GLOBAL) + len(PER_WORKER)


def test_requests_and_connections_are_counted_across_workers(server: ServerProcess) -> None:
    before = scrape(server)
    for _ in range(10):
        assert httpx.get(server.url).text == 'ok'  # a new connection each time
    with socket.create_connection(('127.0.0.1', server.port), timeout=10) as bad:
        bad.sendall(b'NOT HTTP AT ALL\r\n\r\n')
        assert bad.recv(100).startswith(b'HTTP/1.1 400')

    def total(values: dict[str, dict[str, float]], name: str) -> float:
        return sum(values[f'granian_{name}'].values())

    def counted() -> bool:
        now = scrape(server)
        return (
            total(now, 'requests_handled') >= total(before, 'requests_handled') + 10
            and total(now, 'connections_handled') >= total(before, 'connections_handled') + 11
            and total(now, 'connections_err') >= total(before, 'connections_err') + 1
        )

    wait_until(counted, 20, 'the workers to report the requests')
    assert total(scrape(server), 'connections_active') == 0


def test_static_requests_are_counted(server: ServerProcess) -> None:
    def total(name: str) -> float:
        return sum(scrape(server)[f'granian_{name}'].values())

    handled, failed = total('static_requests_handled'), total('static_requests_err')
    assert httpx.get(f'{server.url}/static/ops_app.py').status_code == 200
    assert httpx.get(f'{server.url}/static/no-such-file').status_code == 404
    wait_until(
        lambda: total('static_requests_handled') >= handled + 2 and total('static_requests_err') >= failed + 1,
        20,
        'the workers to report the static requests',
    )


def test_a_respawn_after_an_error_is_counted(server: ServerProcess) -> None:
    assert scrape(server)['granian_workers_spawns'][''] == 2
    victim = server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    server.wait_for(r'Unexpected exit from worker-1')
    wait_until(lambda: server.output.count('Started worker-1') == 2, what='the respawned worker')
    values = scrape(server)
    assert values['granian_workers_spawns'][''] == 3
    assert values['granian_workers_respawns_for_err'][''] == 1
    assert values['granian_workers_respawns_for_lifetime'][''] == 0
    assert values['granian_workers_respawns_for_rss'][''] == 0
    # The new worker-1 starts from zero, its lifetime too.
    assert values['granian_worker_lifetime']['1'] <= values['granian_worker_lifetime']['2']


def test_a_taken_metrics_port_is_a_configuration_error() -> None:
    with socket.create_server(('127.0.0.1', 0)) as taken:
        port = taken.getsockname()[1]
        server = api_server(
            'ops_app:app', interface='asgi', working_dir=str(APPS), metrics_enabled=True, metrics_port=port
        )
        assert server.proc.wait(30) == 1
    server.stop()
    assert f'ConfigurationError: metrics_port: cannot bind 127.0.0.1:{port}: address already in use' in server.output
    assert 'Spawning worker' not in server.output
