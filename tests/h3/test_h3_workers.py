"""HTTP/3 with several workers: every worker serves it, every datagram of a connection reaches the
worker that owns it, and neither a rolling restart (SIGHUP) nor a lifetime respawn loses an
established request.

Each worker has its own UDP socket on the same port (``SO_REUSEPORT``), so the kernel picks the
worker per client address; when a worker's socket joins or leaves (a rolling restart), clients
move between sockets and the datagrams are forwarded to the owner. The workers log how many they
forwarded when they stop.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Callable
from pathlib import Path

from ops.opskit import pid_alive
from testkit.certs import Certs
from testkit.h3 import h3_session
from testkit.process import ServerProcess, api_server

H2_APPS = Path(__file__).parents[1] / 'h2' / 'apps'
#: A Granian whose supervisor gets a scaled workers_lifetime: 60 s, the smallest allowed, becomes 3 s.
SHORT_LIFETIME = 'ops.short_lifetime:ShortLifetimeGranian'
CONNECTIONS = 200
PARALLEL = 8


def _two_workers(certs: Certs, server_class: str | None = None, **options: object) -> ServerProcess:
    server = api_server(
        'h2_asgi:app',
        server_class=server_class,
        interface='asgi',
        working_dir=str(H2_APPS),
        workers=2,
        respawn_interval=0.5,
        http3=True,
        ssl_cert=certs.cert,
        ssl_key=certs.key,
        **options,
    ).ready()
    server.wait_for('Started worker-1')
    server.wait_for('Started worker-2')
    return server


async def _short_connections(
    port: int, count: int, started: asyncio.Event | None = None, until: Callable[[], bool] = lambda: True
) -> tuple[int, list[str]]:
    """At least ``count`` connections (and on until ``until()`` says so), ``PARALLEL`` at a time,
    each one request; how many were made, and the failures, described."""
    failures: list[str] = []
    made = 0

    async def one(index: int) -> None:
        try:
            async with h3_session(port, idle_timeout=10) as client:
                response = await client.request(f'/echo?{index}', 'POST', b'%d' % index, timeout=10)
                if response.status != 200 or response.body != b'%d' % index:
                    failures.append(f'{index}: {response.status} {response.body[:40]!r}')
        except Exception as exc:  # any failure counts, whatever it is
            failures.append(f'{index}: {exc!r}')

    async def client_loop() -> None:
        nonlocal made
        while made < count or not until():
            index = made
            made += 1
            await one(index)
            if started is not None and index == count // 4:
                started.set()

    await asyncio.gather(*(client_loop() for _ in range(PARALLEL)))
    return made, failures


def test_short_connections_over_two_workers(certs: Certs) -> None:
    server = _two_workers(certs)
    try:
        made, failures = asyncio.run(_short_connections(server.port, CONNECTIONS))
        assert made >= CONNECTIONS
        assert failures == []
    finally:
        assert server.stop() == 0
    # Both workers served some: each logs its HTTP/3 connections when it stops.
    served = [int(n) for n in re.findall(r'HTTP/3 worker-\d+: (\d+) connections', server.output)]
    assert len(served) == 2 and all(served), server.output


def test_short_connections_while_sighup_rolls_the_workers(certs: Certs) -> None:
    server = _two_workers(certs)
    try:
        old = server.worker_pids()[-2:]

        def rolled() -> bool:
            # Both old workers are gone: the whole rolling restart happened under the load.
            return not any(pid_alive(pid) for pid in old)

        async def go() -> tuple[int, list[str]]:
            started = asyncio.Event()
            load = asyncio.create_task(_short_connections(server.port, CONNECTIONS, started, rolled))
            await started.wait()
            server.send_signal(signal.SIGHUP)
            return await load

        made, failures = asyncio.run(go())
        assert made >= CONNECTIONS
        assert failures == []
        assert len(server.worker_pids()) == 4
    finally:
        assert server.stop() == 0


def test_short_connections_across_lifetime_respawns(certs: Certs) -> None:
    # The production respawn path with a lifetime of seconds (see ops/short_lifetime.py): the
    # load runs until the first two workers have both been replaced for their lifetime, so each
    # worker's UDP socket leaves the port group while connections on it are still being served.
    server = _two_workers(certs, SHORT_LIFETIME, workers_lifetime=60)
    try:
        first = server.worker_pids()[:2]

        def respawned() -> bool:
            return len(server.worker_pids()) >= 4 and not any(pid_alive(pid) for pid in first)

        made, failures = asyncio.run(_short_connections(server.port, CONNECTIONS, until=respawned))
        assert made >= CONNECTIONS
        assert failures == []
        assert server.count('lifetime expired, gracefully respawning') >= 2
    finally:
        assert server.stop() == 0
