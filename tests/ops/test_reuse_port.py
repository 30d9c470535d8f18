"""The two listener models: one shared socket, or a ``SO_REUSEPORT`` listener per worker.

Which one a server runs shows in the kernel's socket table: the listening sockets on its port
(``/proc/net/tcp``). The shared model has one, inherited by every worker; the reuse-port model
one per worker, while the main process keeps the port bound without listening.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from granian.errors import ConfigurationError
from granian_server.listening import ListenOptions, open_listeners, tcp_migrate_req
from ops.opskit import APPS, wait_gone, wait_until
from testkit.process import ServerProcess, api_server

_LISTEN = '0A'  # the TCP_LISTEN state in /proc/net/tcp
MIGRATE_WARNING = 'reuse_port: net.ipv4.tcp_migrate_req is 0'


def listening_sockets(port: int) -> int:
    """How many sockets listen on TCP ``port`` (any address) in this network namespace."""
    count = 0
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(':', 1)[1], 16) == port and fields[3] == _LISTEN:
                    count += 1
    return count


def worker_pids_seen(url: str, requests: int = 60) -> set[int]:
    """The workers that served ``requests`` requests, each on a new connection."""
    seen = set()
    for _ in range(requests):
        with httpx.Client() as client:
            seen.add(int(client.get(f'{url}/pid').text))
    return seen


@pytest.fixture
def two_workers(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    options = getattr(request, 'param', {})
    server = api_server(
        'ops_app:app', interface='asgi', working_dir=str(APPS), workers=2, respawn_interval=0.5, **options
    ).ready()
    server.wait_for('Started worker-1')
    server.wait_for('Started worker-2')
    yield server
    assert server.stop() == 0


@pytest.mark.parametrize('two_workers', [{'reuse_port': True}], indirect=True)
def test_reuse_port_gives_each_worker_a_listener_of_its_own(two_workers: ServerProcess) -> None:
    server = two_workers
    assert listening_sockets(server.port) == 2
    # The kernel hashes each new connection to one of the listeners: both workers serve.
    assert worker_pids_seen(server.url) == set(server.worker_pids())
    # Connections queued on a stopping worker's listener are reset unless the kernel migrates them.
    assert (MIGRATE_WARNING in server.output) is not tcp_migrate_req()


@pytest.mark.parametrize('two_workers', [{'reuse_port': True}], indirect=True)
def test_reuse_port_rolling_restart_binds_new_listeners(two_workers: ServerProcess) -> None:
    server = two_workers
    old = server.worker_pids()
    server.send_signal(signal.SIGHUP)
    wait_gone(old)
    wait_until(lambda: server.count('Started worker-') == 4, what='the replacements')
    assert listening_sockets(server.port) == 2
    assert worker_pids_seen(server.url) == set(server.worker_pids()[2:])


@pytest.mark.parametrize('two_workers', [{'reuse_port': False}], indirect=True)
def test_shared_socket_is_one_listener_for_every_worker(two_workers: ServerProcess) -> None:
    assert listening_sockets(two_workers.port) == 1
    assert MIGRATE_WARNING not in two_workers.output
    assert httpx.get(f'{two_workers.url}/pid').status_code == 200


def test_default_is_reuse_port_only_where_the_kernel_migrates_queued_connections(two_workers: ServerProcess) -> None:
    assert listening_sockets(two_workers.port) == (2 if tcp_migrate_req() else 1)


def test_reuse_port_on_a_unix_socket_is_shared_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / 'app.sock'
    server = api_server('ops_app:app', interface='asgi', working_dir=str(APPS), uds=path, reuse_port=True).ready()
    try:
        assert 'reuse_port: has no effect on a Unix socket; every worker shares it' in server.output
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path))) as client:
            assert client.get('http://localhost/').text == 'ok'
    finally:
        assert server.stop() == 0


def test_reuse_port_outside_linux_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # BSD and macOS accept SO_REUSEPORT but do not spread connections: asking for it is a mistake.
    monkeypatch.setattr(sys, 'platform', 'darwin')
    options = ListenOptions('127.0.0.1', 0, None, None, None, 128, reuse_port=True, workers=2, tls=False)
    with pytest.raises(ConfigurationError, match=r'^reuse_port: the kernel spreads connections over listeners only'):
        open_listeners(options)
