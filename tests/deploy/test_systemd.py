"""The guide's systemd units: they parse, and the service runs as systemd would run it.

systemd cannot run as PID 1 here. ``systemd-analyze verify`` checks the two files as systemd
would load them; then the service's own ``ExecStart`` runs under ``systemd-socket-activate``,
which binds the socket unit's ``ListenStream`` and execs the command with ``LISTEN_FDS`` on the
first connection, as systemd does for the pair. ``systemctl reload`` is the service's
``ExecReload`` run as written (``$MAINPID`` filled in); ``systemctl stop`` is what ``KillMode=mixed``
does: SIGTERM to the main process only, SIGKILL only at ``TimeoutStopSec``.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from deploy.recipes import APP_DIR, free_port, recipe, replace
from ops.opskit import Load, wait_gone
from testkit.process import ServerProcess

SOCKET_ACTIVATE = shutil.which('systemd-socket-activate')
SYSTEMD_ANALYZE = shutil.which('systemd-analyze')
#: Where the guide installs granian, and where this test's interpreter has it.
INSTALLED = '/opt/granian/bin/granian'
HERE = str(Path(sys.executable).parent / 'granian')
#: The time granian takes past its kill timeout to exit (see test_kubernetes.EXIT_MARGIN).
EXIT_MARGIN = 5.0


@pytest.fixture(scope='module', autouse=True)
def _tools() -> None:
    # Fail, not skip: without them these tests would prove nothing.
    assert SOCKET_ACTIVATE and SYSTEMD_ANALYZE, 'systemd-socket-activate and systemd-analyze: apt-get install systemd'


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as systemd reads it: section -> key -> every value given (comments dropped)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in recipe(f'systemd/{name}').replace('\\\n', ' ').splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('['):
            current = sections.setdefault(line.strip('[]'), {})
        else:
            key, _, value = line.partition('=')
            current.setdefault(key.strip(), []).append(value.strip())
    return sections


def setting(sections: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    (value,) = sections[section][key]
    return value


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: there, the one this test runs.
    (tmp_path / 'granian.socket').write_text(recipe('systemd/granian.socket'))
    (tmp_path / 'granian.service').write_text(recipe('systemd/granian.service', {INSTALLED: HERE}))
    done = subprocess.run(
        [SYSTEMD_ANALYZE or '', 'verify', str(tmp_path / 'granian.socket'), str(tmp_path / 'granian.service')],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown keys and bad values are only warnings for verify: any output fails the test.
    assert (done.returncode, done.stdout + done.stderr) == (0, '')


def test_the_service_serves_the_socket_reloads_and_stops_gracefully(tmp_path: Path) -> None:
    socket_unit, service = unit('granian.socket'), unit('granian.service')
    port = free_port()
    listen = setting(socket_unit, 'Socket', 'ListenStream')
    assert listen == '127.0.0.1:8000'
    fdname = setting(socket_unit, 'Socket', 'FileDescriptorName')
    exec_start = shlex.split(setting(service, 'Service', 'ExecStart'))
    assert exec_start[0] == INSTALLED
    kill_timeout = float(exec_start[exec_start.index('--workers-kill-timeout') + 1])
    assert setting(service, 'Service', 'WorkingDirectory') == '/srv/app'
    app = tmp_path / 'app'  # a copy, which the test deploys a new release into
    shutil.copytree(APP_DIR, app)
    activator = [SOCKET_ACTIVATE or '', f'--listen=127.0.0.1:{port}', f'--fdname={fdname}']
    server = ServerProcess([*activator, HERE, *exec_start[1:]], cwd=app)
    try:
        server.wait_for(f'Listening on 127.0.0.1:{port} as ')
        url = f'http://127.0.0.1:{port}'
        # The first connection starts granian, and waits in the socket's queue meanwhile.
        assert httpx.get(f'{url}/healthz', timeout=30).text == 'ok'
        server.wait_for('Started worker-2')
        assert f'fd:3 is {url}, passed by systemd (name: {fdname})' in server.output

        # A new release of the app, then systemctl reload: ExecReload as written, with $MAINPID.
        main = app / 'main.py'
        main.write_text(replace(main.read_text(), {"status, body = 200, b'ok'": "status, body = 200, b'ok, v2'"}))
        reload = shlex.split(setting(service, 'Service', 'ExecReload').replace('$MAINPID', str(server.proc.pid)))
        with Load(url, clients=6, path='/healthz') as load:
            old = server.worker_pids()
            subprocess.run(reload, check=True, timeout=30)
            wait_gone(old)  # both replaced, one after the other
            load.wait_for_requests(20)
        assert load.failures == {}, load.failures
        assert httpx.get(f'{url}/healthz', timeout=30).text == 'ok, v2'

        # systemctl stop, with a request in flight.
        assert setting(service, 'Service', 'KillMode') == 'mixed'
        assert 'KillSignal' not in service['Service']  # SIGTERM, systemd's default
        stop_timeout = float(setting(service, 'Service', 'TimeoutStopSec'))
        assert stop_timeout > kill_timeout + EXIT_MARGIN
        results: list[httpx.Response] = []
        slow = threading.Thread(target=lambda: results.append(httpx.get(f'{url}/slow?seconds=1.5', timeout=30)))
        slow.start()
        server.wait_for('slow request: answering in 1.5 s')
        server.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert server.proc.wait(stop_timeout) == 0
        assert time.monotonic() - started < stop_timeout
        slow.join(30)
        assert results and results[0].text == 'slow done'
    finally:
        server.kill()
