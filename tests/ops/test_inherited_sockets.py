"""Serving sockets a parent bound: systemd socket activation and the ``fd`` option.

The parent is real: Debian's ``systemd-socket-activate`` (it binds, waits for the first
connection, then execs granian with ``LISTEN_FDS``/``LISTEN_PID``/``LISTEN_FDNAMES``, exactly as
systemd does for a ``.socket`` unit), or a Python process that binds a socket and passes it with
``pass_fds``. Clients are curl and httpx; workers are replaced with SIGHUP under traffic.
"""

from __future__ import annotations

import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ops.opskit import APPS, Load, rolling_restarts
from testkit.process import ServerProcess, api_server, cli_server

SOCKET_ACTIVATE = shutil.which('systemd-socket-activate')
SERVE = ('--interface', 'asgi', '--loop', 'asyncio', '--working-dir', str(APPS))
#: granian as a service manager would exec it (the activator passes no environment but its own).
GRANIAN = [sys.executable, '-m', 'granian', *SERVE]
TWO_WORKERS = ('--workers', '2', '--respawn-interval', '0.5')
CLIENTS = 6


@pytest.fixture(scope='module', autouse=True)
def _tools() -> None:
    # Fail, not skip: a machine without them would silently test nothing here.
    assert SOCKET_ACTIVATE, 'systemd-socket-activate is missing: apt-get install systemd'
    assert shutil.which('curl'), 'curl is missing: apt-get install curl'


def free_port() -> int:
    with socket.create_server(('127.0.0.1', 0)) as probe:
        port: int = probe.getsockname()[1]
        return port


def curl(url: str, *, uds: Path | None = None) -> str:
    """GET ``url`` with curl (through ``uds`` when given); its body, failing on any error."""
    argv = ['curl', '-sS', '--fail', '--max-time', '30', *(['--unix-socket', str(uds)] if uds else []), url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def activated(
    *addresses: str, fdnames: str | None = None, activator: tuple[str, ...] = (), args: tuple[str, ...] = ()
) -> ServerProcess:
    """``systemd-socket-activate -l ADDRESS... granian ... ops_app:app``, once it listens."""
    assert SOCKET_ACTIVATE is not None
    argv = [SOCKET_ACTIVATE, *(f'--listen={address}' for address in addresses), *activator]
    argv += ['--setenv=PYTHONUNBUFFERED=1', *([f'--fdname={fdnames}'] if fdnames else [])]
    server = ServerProcess([*argv, *GRANIAN, *args, 'ops_app:app'])
    for address in addresses:
        server.wait_for(f'Listening on {address} as ')
    return server


@pytest.fixture
def stopped_at_end() -> Iterator[list[ServerProcess]]:
    """Servers to stop (exit code 0 expected) when the test ends, whatever happened."""
    servers: list[ServerProcess] = []
    yield servers
    for server in servers:
        assert server.stop() == 0, server.output


# -- systemd socket activation ------------------------------------------------------------------


def test_systemd_activation_tcp_with_workers_and_rolling_restarts(stopped_at_end: list[ServerProcess]) -> None:
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    server = activated(f'127.0.0.1:{port}', fdnames='web', args=TWO_WORKERS)
    stopped_at_end.append(server)
    # The first connection makes the activator exec granian; it waits in the backlog meanwhile.
    assert curl(f'{url}/pid').isdigit()
    server.wait_for('Started worker-1')
    server.wait_for('Started worker-2')
    assert 'Listening at: fd:3' in server.output
    assert f'fd:3 is {url}, passed by systemd (name: web)' in server.output
    # Read and unset, as sd_listen_fds(1) does: the app and its children do not see them.
    for name in ('LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'):
        assert curl(f'{url}/env?key={name}') == '<unset>'
    with Load(url, clients=CLIENTS) as load:
        rolling_restarts(server, load, rounds=2)
    assert load.failures == {}, load.failures
    assert len(set(server.worker_pids())) == 6


def test_systemd_activation_unix_socket(tmp_path: Path, stopped_at_end: list[ServerProcess]) -> None:
    path = tmp_path / 'app.sock'
    server = activated(str(path), args=TWO_WORKERS)
    stopped_at_end.append(server)
    assert curl('http://localhost/pid', uds=path).isdigit()
    server.wait_for('Started worker-1')
    server.wait_for('Started worker-2')
    assert f'fd:3 is unix:{path}, passed by systemd' in server.output
    with Load('http://localhost', clients=CLIENTS, uds=str(path)) as load:
        rolling_restarts(server, load, rounds=1)
    assert load.failures == {}, load.failures
    assert server.stop() == 0
    # The socket file is systemd's: granian neither removes it nor needs it removed.
    assert stat.S_ISSOCK(path.stat().st_mode)


def test_every_activated_socket_is_served_with_its_name(tmp_path: Path, stopped_at_end: list[ServerProcess]) -> None:
    port, path = free_port(), tmp_path / 'local.sock'
    server = activated(f'127.0.0.1:{port}', str(path), fdnames='public:local')
    stopped_at_end.append(server)
    assert curl(f'http://127.0.0.1:{port}/') == 'ok'
    assert curl('http://localhost/', uds=path) == 'ok'
    assert server.count(r'Listening at: fd:[34]$') == 2
    assert f'fd:3 is http://127.0.0.1:{port}, passed by systemd (name: public)' in server.output
    assert f'fd:4 is unix:{path}, passed by systemd (name: local)' in server.output


def test_fd_option_wins_over_activation(tmp_path: Path, stopped_at_end: list[ServerProcess]) -> None:
    port, path = free_port(), tmp_path / 'app.sock'
    server = activated(f'127.0.0.1:{port}', str(path), args=('--fd', '4'))
    stopped_at_end.append(server)
    assert curl('http://localhost/', uds=path) == 'ok'
    server.wait_for('Started worker-1')
    assert server.count(r'Listening at: ') == 1
    assert 'Listening at: fd:4' in server.output
    assert 'LISTEN_FDS: not used, the fd option asks for fd 4' in server.output


def test_activation_replaces_uds(tmp_path: Path, stopped_at_end: list[ServerProcess]) -> None:
    port, path = free_port(), tmp_path / 'unused.sock'
    server = activated(f'127.0.0.1:{port}', args=('--uds', str(path)))
    stopped_at_end.append(server)
    assert curl(f'http://127.0.0.1:{port}/') == 'ok'
    assert 'uds: not used, serving the sockets systemd passed (LISTEN_FDS)' in server.output
    assert not path.exists()


def test_systemd_datagram_socket_is_refused_in_one_line() -> None:
    port = free_port()
    server = activated(f'127.0.0.1:{port}', activator=('--datagram',))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.sendto(b'wake up', ('127.0.0.1', port))  # what makes the activator exec granian
        assert server.proc.wait(60) == 1
    finally:
        server.kill()
    errors = [line for line in server.lines if line.startswith('Error: ')]
    assert errors == [
        'Error: LISTEN_FDS: fd 3 is a datagram socket; give a listening stream socket (TCP, or Unix SOCK_STREAM)'
    ], server.output
    assert 'Traceback' not in server.output


def test_activation_meant_for_another_process_is_ignored(stopped_at_end: list[ServerProcess]) -> None:
    env = {'LISTEN_PID': '1', 'LISTEN_FDS': '1'}
    server = cli_server('--interface', 'asgi', '--port', '0', '--working-dir', str(APPS), 'ops_app:app', env=env)
    stopped_at_end.append(server.ready())
    assert server.url.startswith('http://127.0.0.1:')  # bound as usual
    assert any('LISTEN_FDS is for PID 1, not this process' in line for line in server.lines), server.output
    assert httpx.get(f'{server.url}/env', params={'key': 'LISTEN_FDS'}).text == '<unset>'


# -- the fd option --------------------------------------------------------------------------------


def test_fd_unix_socket_from_a_python_parent(tmp_path: Path, stopped_at_end: list[ServerProcess]) -> None:
    path = tmp_path / 'parent.sock'
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as parent:
        parent.bind(str(path))
        parent.listen()
        fd = parent.fileno()
        server = cli_server(*SERVE, '--fd', str(fd), *TWO_WORKERS, 'ops_app:app', pass_fds=[fd]).ready()
        assert server.url == f'fd:{fd}'
        assert f'fd:{fd} is unix:{path}, passed by the fd option' in server.output
        assert curl('http://localhost/pid', uds=path).isdigit()
        with Load('http://localhost', clients=CLIENTS, uds=str(path)) as load:
            rolling_restarts(server, load, rounds=1)
        assert load.failures == {}, load.failures
        assert server.stop() == 0
        # Still the parent's: the file is in place and its socket still takes connections.
        assert stat.S_ISSOCK(path.stat().st_mode)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(path))
            parent.settimeout(10)
            accepted, _ = parent.accept()
            accepted.close()


def test_fd_tcp_socket_through_the_python_api(stopped_at_end: list[ServerProcess]) -> None:
    with socket.create_server(('127.0.0.1', 0)) as parent:
        port, fd = parent.getsockname()[1], parent.fileno()
        server = api_server('ops_app:app', interface='asgi', working_dir=str(APPS), fd=fd, pass_fds=[fd])
        stopped_at_end.append(server.ready())
        assert server.url == f'fd:{fd}'
        assert f'fd:{fd} is http://127.0.0.1:{port}, passed by the fd option' in server.output
        response = httpx.get(f'http://127.0.0.1:{port}/pid')
        assert response.status_code == 200
        assert int(response.text) in server.worker_pids()


def test_fd_from_the_granian_fd_variable(stopped_at_end: list[ServerProcess]) -> None:
    with socket.create_server(('127.0.0.1', 0)) as parent:
        port, fd = parent.getsockname()[1], parent.fileno()
        server = cli_server(*SERVE, 'ops_app:app', env={'GRANIAN_FD': str(fd)}, pass_fds=[fd])
        stopped_at_end.append(server.ready())
        assert server.url == f'fd:{fd}'
        assert curl(f'http://127.0.0.1:{port}/') == 'ok'
