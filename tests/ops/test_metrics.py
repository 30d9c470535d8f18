"""The Prometheus exporter: upstream's names, per-worker values summed from the workers, counters, and
the request duration histogram (upstream's open pull request #872) added up across workers."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from ops.opskit import APPS, wait_gone, wait_until
from testkit.certs import Certs
from testkit.h3 import h3_session
from testkit.process import TESTS, ServerProcess, api_server

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
BOUNDS = ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1.0', '2.5', '5.0', '10.0']
BOUNDS += ['30.0', '60.0', '+Inf']


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
    durations = families['granian_request_duration_seconds']
    assert durations.type == 'histogram'
    assert [sample.labels['le'] for sample in durations.samples if sample.name.endswith('_bucket')] == BOUNDS
    assert all('worker' not in sample.labels for sample in durations.samples)  # one, for the whole server
    assert len(families) == len(GLOBAL) + len(PER_WORKER) + 1


def histogram(server: ServerProcess) -> dict[str, float]:
    """The duration histogram as prometheus_client parses it: {le: cumulative count, 'sum', 'count'}."""
    text = httpx.get(_metrics_url(server)).text
    (family,) = [family for family in text_string_to_metric_families(text) if family.name.endswith('_seconds')]
    values = {}
    for sample in family.samples:
        key = sample.labels['le'] if sample.name.endswith('_bucket') else sample.name.rsplit('_', 1)[1]
        values[key] = sample.value
    cumulative = [values[bound] for bound in BOUNDS]
    assert cumulative == sorted(cumulative) and values['+Inf'] == values['count']
    return values


def handled_by_worker(server: ServerProcess) -> dict[str, float]:
    return scrape(server)['granian_requests_handled']


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


def test_request_durations_of_both_workers_add_up(server: ServerProcess) -> None:
    before, served_before = histogram(server), handled_by_worker(server)
    sent = 0
    # New connections until both workers have served some (the kernel picks; it takes a few).
    for _ in range(50):
        for _ in range(10):
            assert httpx.get(server.url).text == 'ok'
        sent += 10
        served = handled_by_worker(server)
        if all(served[worker] > served_before[worker] for worker in ('1', '2')):
            break
    else:
        raise AssertionError(f'one worker served every request: {served_before} -> {served}')
    # HTTP/2 requests count as HTTP/1.1 ones do (h2c with prior knowledge, one connection).
    with httpx.Client(http1=False, http2=True, timeout=10) as client:
        for _ in range(4):
            response = client.get(server.url)
            assert response.http_version == 'HTTP/2' and response.text == 'ok'
    sent += 4
    # Three that take 1.5 s, at once; static files and WebSockets are not counted.
    with ThreadPoolExecutor(3) as pool:
        slow = list(pool.map(lambda _: httpx.get(f'{server.url}/slow?delay=1.5', timeout=30).text, range(3)))
    assert slow == ['slow done'] * 3
    assert httpx.get(f'{server.url}/static/ops_app.py').status_code == 200
    with connect(f'ws://127.0.0.1:{server.port}/ws', open_timeout=10) as ws:
        ws.ping().wait(10)
    wait_until(lambda: histogram(server)['count'] >= before['count'] + sent + 3, 20, 'the workers to report')
    after = histogram(server)
    assert after['count'] == before['count'] + sent + 3
    # Small answers take well under a second even on a busy machine; the slow ones 1.5 s or more.
    assert after['1.0'] - before['1.0'] == sent
    assert after['1.0'] - before['1.0'] == after['+Inf'] - before['+Inf'] - 3
    assert 4.5 <= after['sum'] - before['sum'] < 4.5 + sent * 1.0 + 3 * 10


def test_a_respawn_after_an_error_is_counted(server: ServerProcess) -> None:
    assert scrape(server)['granian_workers_spawns'][''] == 2
    # What the killed worker reported stays in the duration histogram: its counts never go back.
    for _ in range(5):
        assert httpx.get(server.url).text == 'ok'
    wait_until(lambda: histogram(server)['count'] >= 5, 20, 'the workers to report')
    counted = histogram(server)['count']
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
    assert histogram(server)['count'] >= counted


def test_a_rolling_restart_keeps_every_request_in_the_durations() -> None:
    server = api_server(
        'ops_app:app',
        interface='asgi',
        working_dir=str(APPS),
        workers=2,
        respawn_interval=0.5,
        metrics_enabled=True,
        metrics_port=0,
        metrics_scrape_interval=60,  # nothing is pushed on the timer during the test
    ).ready()
    try:
        server.wait_for('Started worker-2')
        old = server.worker_pids()
        for _ in range(7):
            assert httpx.get(server.url).text == 'ok'
        assert histogram(server)['count'] == 0
        # Each old worker sends what it counted once it has finished its last request, and the
        # exporter keeps it after the process is gone.
        server.send_signal(signal.SIGHUP)
        wait_gone(old)
        wait_until(lambda: histogram(server)['count'] == 7, 20, "the retired workers' durations")
        assert histogram(server)['1.0'] == 7
    finally:
        assert server.stop() == 0


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


@pytest.mark.parametrize('interface', ['asgi', 'rsgi', 'wsgi'])
def test_the_access_log_and_the_histogram_time_requests_alike(interface: str) -> None:
    # The plain RSGI and WSGI apps of the header tests answer '/' with 'ok'.
    app = {'asgi': 'ops_app:app', 'rsgi': 'headers_rsgi:app', 'wsgi': 'headers_wsgi:app'}[interface]
    working_dir = APPS if interface == 'asgi' else TESTS / 'headers' / 'apps'
    server = api_server(
        app,
        interface=interface,
        working_dir=str(working_dir),
        log_access=True,
        metrics_enabled=True,
        metrics_port=0,
        metrics_scrape_interval=1,
    ).ready()
    try:
        path = '/slow?delay=0.3' if interface == 'asgi' else '/'
        assert httpx.get(server.url + path).status_code == 200
        logged = float(server.wait_for(r'" 200 ([0-9.]+)$').group(1))
        wait_until(lambda: histogram(server)['count'] == 1, 20, 'the worker to report')
        values = histogram(server)
        # One request, seen by both with the same clock: the log's milliseconds are the sum's.
        assert values['sum'] * 1000 == pytest.approx(logged, abs=0.01)
        if interface == 'asgi':
            assert values['0.25'] == 0 and values['0.5'] == 1
    finally:
        assert server.stop() == 0


def test_http3_requests_are_timed_too(certs: Certs) -> None:
    # The adapters time every exchange, whatever protocol brought it: here over QUIC (aioquic's
    # client), where the static file still is not counted.
    server = api_server(
        'ops_app:app',
        interface='asgi',
        working_dir=str(APPS),
        http3=True,
        ssl_cert=certs.cert,
        ssl_key=certs.key,
        metrics_enabled=True,
        metrics_port=0,
        metrics_scrape_interval=1,
        static_path_mount=[APPS],
    ).ready()

    async def go() -> list[int]:
        async with h3_session(server.port, ca=str(certs.ca)) as client:
            paths = ['/', '/', '/', '/static/ops_app.py']
            return [(await client.request(path)).status for path in paths]

    try:
        assert asyncio.run(go()) == [200] * 4
        wait_until(lambda: histogram(server)['count'] >= 3, 20, 'the worker to report')
        assert histogram(server)['count'] == 3
    finally:
        assert server.stop() == 0
