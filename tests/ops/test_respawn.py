"""Workers that die: respawned with respawn_failed_workers, a crash loop ends the server, kill timeout."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import httpx

from ops.opskit import APPS, pid_alive, wait_until
from testkit.process import api_server


def test_a_killed_worker_comes_back() -> None:
    server = api_server(
        'ops_app:app', interface='asgi', working_dir=str(APPS), workers=2, respawn_failed_workers=True
    ).ready()
    try:
        server.wait_for('Started worker-1')
        server.wait_for('Started worker-2')
        first, second = server.worker_pids()
        os.kill(first, signal.SIGKILL)
        server.wait_for('Unexpected exit from worker-1')
        replacement = int(server.wait_for(rf'Spawning worker-1 with PID: (?!{first}\b)(\d+)').group(1))
        wait_until(
            lambda: server.output.count('Started worker-1') == 2,
            what='the new worker-1 to start',
            output=lambda: server.output,
        )
        pids = set()
        for _ in range(40):
            with httpx.Client(base_url=server.url) as client:
                pids.add(int(client.get('/pid').text))
            if len(pids) == 2:
                break
        assert pids <= {replacement, second}
        assert not pid_alive(first)
    finally:
        assert server.stop() == 0


def test_a_crash_loop_ends_the_server_with_exit_code_1() -> None:
    server = api_server('crash_at_import:app', interface='asgi', working_dir=str(APPS), respawn_failed_workers=True)
    assert server.proc.wait(30) == 1
    server.stop()
    output = server.output
    # The first failure is respawned; the respawned worker failing within 5.5 s is a loop.
    assert output.count('Unexpected exit from worker-1') == 2
    assert output.count('Spawning worker-1 with PID') == 2
    assert output.index('Worker crash loop detected, exiting') > output.rindex('Unexpected exit from worker-1')
    assert 'Granian shutdown completed, see ya!' in output


def test_kill_timeout_kills_a_worker_that_does_not_stop(tmp_path: Path) -> None:
    server = api_server('ops_app:app', interface='asgi', working_dir=str(APPS), workers_kill_timeout=1).ready()
    (worker,) = server.worker_pids()
    marker = tmp_path / 'serving'
    with socket.create_connection(('127.0.0.1', server.port), timeout=30) as client:
        client.sendall(f'GET /slow?delay=60&marker={marker} HTTP/1.1\r\nhost: x\r\n\r\n'.encode())
        wait_until(marker.exists, what='the slow request to be served')
        assert server.stop(signal.SIGTERM) == 0
    assert 'Killing worker-1 after it refused to gracefully stop' in server.output
    assert not pid_alive(worker)
