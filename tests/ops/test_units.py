"""The pieces of process management on their own: RSS reading, the reload filter, the metrics
format, hub and endpoint."""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import time

import pytest
import watchfiles
from prometheus_client.parser import text_string_to_metric_families

from granian_server import rss
from granian_server.errors import ConfigurationError
from granian_server.extras import require_module
from granian_server.metrics import DURATION_BUCKETS, RECORD, WORKER_FIELDS, MetricsHub, render
from granian_server.metrics_exporter import MetricsExporter
from granian_server.metrics_worker import MetricsPusher
from granian_server.reloader import ReloadOptions, build_filter


def _own_rss_from_status() -> int:
    with open('/proc/self/status') as status:
        line = next(line for line in status if line.startswith('VmRSS:'))
    return int(line.split()[1]) * 1024


def test_rss_from_proc_matches_the_kernel_report() -> None:
    sizes = rss.rss_of([os.getpid()])
    assert abs(sizes[os.getpid()] - _own_rss_from_status()) < 8 * 1024 * 1024


def test_rss_from_ps_matches_the_kernel_report() -> None:
    sizes = rss._ps_rss([os.getpid(), os.getppid()])
    assert set(sizes) == {os.getpid(), os.getppid()}
    assert abs(sizes[os.getpid()] - _own_rss_from_status()) < 8 * 1024 * 1024


def test_rss_of_a_process_that_is_gone_is_left_out() -> None:
    proc = multiprocessing.get_context('fork').Process(target=time.sleep, args=(0,))
    proc.start()
    proc.join()
    assert proc.pid is not None
    assert rss.rss_of([proc.pid]) == {}
    assert rss._ps_rss([proc.pid]) == {}


def test_the_reload_filter_extends_the_class_without_changing_it() -> None:
    class OnlyPython(watchfiles.PythonFilter):
        pass

    options = ReloadOptions(
        paths=['.'],
        ignore_dirs=['build'],
        ignore_patterns=[r'^skip_'],
        ignore_paths=['/srv/app/vendor'],
        filter_class=OnlyPython,
    )
    watch_filter = build_filter(options)
    assert isinstance(watch_filter, OnlyPython)
    assert OnlyPython.ignore_dirs == watchfiles.DefaultFilter.ignore_dirs
    added = watchfiles.Change.added
    assert watch_filter(added, '/srv/app/main.py')
    assert not watch_filter(added, '/srv/app/main.txt')  # PythonFilter still applies
    assert not watch_filter(added, '/srv/app/build/main.py')
    assert not watch_filter(added, '/srv/app/skip_me.py')
    assert not watch_filter(added, '/srv/app/vendor/lib.py')
    assert not watch_filter(added, '/srv/app/.git/hooks.py')  # DefaultFilter's own ignores stay
    assert build_filter(ReloadOptions(paths=['.']))(added, '/srv/app/notes.txt')


def test_render_is_the_text_exposition_format() -> None:
    records = {1: tuple(range(len(WORKER_FIELDS)))}
    text = render({'workers_spawns': 3}, {1: 12.7, 2: 1.2}, records).decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families['granian_workers_spawns'].samples[0].value == 3
    assert families['granian_workers_respawns_for_rss'].samples[0].value == 0
    lifetime = {sample.labels['worker']: sample.value for sample in families['granian_worker_lifetime'].samples}
    assert lifetime == {'1': 12, '2': 1}
    for pos, name in enumerate(WORKER_FIELDS):
        by_worker = {sample.labels['worker']: sample.value for sample in families[f'granian_{name}'].samples}
        assert by_worker == {'1': pos, '2': 0}  # worker 2 has not reported yet


def record(value: int, durations: list[float] | None = None) -> bytes:
    """A worker's record: ``value`` in every field, then its duration buckets and sum."""
    return RECORD.pack(*([value] * len(WORKER_FIELDS)), *(durations or [0] * (len(DURATION_BUCKETS) + 2)))


def durations(**counts: int) -> list[float]:
    """Bucket counts by index (``b0=2`` is two requests in the first bucket), then their sum."""
    values: list[float] = [counts.get(f'b{idx}', 0) for idx in range(len(DURATION_BUCKETS) + 1)]
    return [*values, float(counts.get('total', 0))]


def test_render_writes_the_histogram_cumulative() -> None:
    text = render({}, {1: 1.0}, {}, durations(b0=2, b3=1, b15=1, total=70)).decode()
    (family,) = [family for family in text_string_to_metric_families(text) if family.type == 'histogram']
    assert family.name == 'granian_request_duration_seconds'
    buckets = {sample.labels['le']: sample.value for sample in family.samples if sample.name.endswith('_bucket')}
    assert list(buckets) == [*(str(bound) for bound in DURATION_BUCKETS), '+Inf']
    assert buckets['0.001'] == buckets['0.0025'] == buckets['0.005'] == 2
    assert buckets['0.01'] == buckets['60.0'] == 3
    assert buckets['+Inf'] == 4
    totals = {sample.name: sample.value for sample in family.samples if not sample.name.endswith('_bucket')}
    assert totals == {'granian_request_duration_seconds_sum': 70.0, 'granian_request_duration_seconds_count': 4}


def test_the_hub_adds_up_durations_of_every_process_that_reported() -> None:
    hub = MetricsHub()
    first, first_writer = multiprocessing.Pipe(duplex=False)
    hub.attach(1, first)
    second, second_writer = multiprocessing.Pipe(duplex=False)
    hub.attach(2, second)
    first_writer.send_bytes(record(1, durations(b0=3, total=1)))
    second_writer.send_bytes(record(1, durations(b1=2, total=2)))
    hub.receive(multiprocessing.connection.wait(hub.readers(), 5))
    hub.receive(multiprocessing.connection.wait(hub.readers(), 0.5))
    assert hub.durations() == tuple(durations(b0=3, b1=2, total=3))
    # A rolling restart: worker 1's replacement takes the id, the old process still reports its
    # last requests, then exits; its counts stay.
    replacement, replacement_writer = multiprocessing.Pipe(duplex=False)
    hub.attach(1, replacement)
    assert hub.records[1] == (0,) * len(WORKER_FIELDS)
    first_writer.send_bytes(record(9, durations(b0=4, total=1.5)))
    first_writer.close()
    replacement_writer.send_bytes(record(5, durations(b2=1, total=0.5)))
    for _ in range(3):
        hub.receive(multiprocessing.connection.wait(hub.readers(), 0.5))
    assert hub.records[1] == (5,) * len(WORKER_FIELDS)  # the old process no longer speaks for worker 1
    assert first not in hub.readers()
    assert hub.durations() == tuple(durations(b0=4, b1=2, b2=1, total=4))
    # A crash: its last values stay, and after its replacement its durations still count.
    second_writer.close()
    hub.receive(multiprocessing.connection.wait(hub.readers(), 5))
    hub.attach(2, multiprocessing.Pipe(duplex=False)[0])
    assert hub.durations() == tuple(durations(b0=4, b1=2, b2=1, total=4))
    hub.close()
    replacement_writer.close()


def test_a_pusher_that_never_started_pushes_nothing() -> None:
    # serve_app's stop pushes the last requests; a worker that failed before it served has none.
    reader, writer = multiprocessing.Pipe(duplex=False)
    MetricsPusher(writer, 1.0).push()
    assert not reader.poll(0.1)
    writer.close()
    reader.close()


def test_the_hub_keeps_the_latest_record_of_each_worker() -> None:
    hub = MetricsHub()
    reader, writer = multiprocessing.Pipe(duplex=False)
    hub.attach(1, reader)
    writer.send_bytes(record(1))
    writer.send_bytes(record(2))
    hub.receive(multiprocessing.connection.wait(hub.readers(), 5))
    assert hub.records[1] == (2,) * len(WORKER_FIELDS)
    writer.close()
    hub.receive(multiprocessing.connection.wait(hub.readers(), 5))
    assert hub.readers() == []  # the worker is gone; its values stay until a new one takes over
    assert hub.records[1] == (2,) * len(WORKER_FIELDS)
    replacement, _ = multiprocessing.Pipe(duplex=False)
    hub.attach(1, replacement)
    assert hub.records[1] == (0,) * len(WORKER_FIELDS)
    hub.close()


def test_the_endpoint_answers_any_path_and_drops_silent_clients() -> None:
    exporter = MetricsExporter('127.0.0.1', 0, lambda: b'granian_x 1\n')
    port = int(exporter.url.rsplit(':', 1)[1])
    try:
        silent = socket.create_connection(('127.0.0.1', port))
        client = socket.create_connection(('127.0.0.1', port))
        client.sendall(b'GET /anything/at/all HTTP/1.1\r\nhost: x\r\n\r\n')
        response = b''
        deadline = time.monotonic() + 10
        while not response.endswith(b'granian_x 1\n') and time.monotonic() < deadline:
            exporter.handle(multiprocessing.connection.wait(exporter.waitables(), 1))
            client.settimeout(0.05)
            try:
                response += client.recv(4096)
            except TimeoutError:
                pass
        assert response.startswith(b'HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\n')
        assert response.endswith(b'\r\n\r\ngranian_x 1\n')
        deadline_of_silent = exporter.next_deadline()
        assert deadline_of_silent is not None
        exporter.handle([], now=deadline_of_silent)
        assert exporter.next_deadline() is None
        silent.settimeout(5)
        assert silent.recv(100) == b''  # closed by the server
        silent.close()
        client.close()
    finally:
        exporter.close()


def test_a_missing_extra_names_the_option_and_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, 'setproctitle', None)
    with pytest.raises(ConfigurationError) as info:
        require_module('setproctitle', 'process_name')
    assert str(info.value) == (
        'process_name: needs the setproctitle package, which is not installed; '
        'install it with `pip install granian[pname]`'
    )
