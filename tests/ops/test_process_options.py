"""Pid file, process titles and env files: the main process's options around the workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from granian import Granian
from granian.errors import ConfigurationError, PidFileError
from ops.opskit import APPS, cmdline, wait_until
from testkit.process import ServerProcess, api_server

# -- pid file ----------------------------------------------------------------------------------


def test_the_pid_file_holds_the_main_pid_and_is_removed_on_shutdown(tmp_path: Path) -> None:
    pid_file = tmp_path / 'granian.pid'
    server = api_server('ops_app:app', interface='asgi', working_dir=str(APPS), pid_file=pid_file).ready()
    try:
        assert pid_file.read_text().strip() == str(server.proc.pid)
    finally:
        assert server.stop() == 0
    assert not pid_file.exists()


def test_a_pid_file_of_a_live_process_is_refused(tmp_path: Path) -> None:
    pid_file = tmp_path / 'granian.pid'
    # A live process that is not the server: this test run itself.
    pid_file.write_text(f'{os.getpid()}\n')
    server = api_server('ops_app:app', interface='asgi', working_dir=str(APPS), pid_file=pid_file)
    assert server.proc.wait(30) == 1
    server.stop()
    assert f'PidFileError: The PID file {pid_file} already exists for {os.getpid()}' in server.output
    assert 'Spawning worker' not in server.output
    assert pid_file.read_text() == f'{os.getpid()}\n'


def test_the_cli_exits_1_on_a_taken_pid_file(tmp_path: Path) -> None:
    pid_file = tmp_path / 'granian.pid'
    pid_file.write_text(f'{os.getpid()}\n')
    result = subprocess.run(
        [sys.executable, '-m', 'granian', '--interface', 'asgi', '--port', '0', '--pid-file', str(pid_file), 'x:app'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f'The PID file {pid_file} already exists for {os.getpid()}' in result.stdout + result.stderr


def test_a_stale_pid_file_is_replaced(tmp_path: Path) -> None:
    pid_file = tmp_path / 'granian.pid'
    gone = subprocess.Popen([sys.executable, '-c', 'pass'])
    gone.wait()
    pid_file.write_text(f'{gone.pid}\n')
    server = api_server('ops_app:app', interface='asgi', working_dir=str(APPS), pid_file=pid_file).ready()
    try:
        assert pid_file.read_text().strip() == str(server.proc.pid)
    finally:
        assert server.stop() == 0
    assert not pid_file.exists()


def test_pid_file_unit_rules(tmp_path: Path) -> None:
    from granian_server.pidfile import PidFile

    path = tmp_path / 'unit.pid'
    path.write_text('not a pid\n')
    pid_file = PidFile(path)
    pid_file.write()  # garbage is replaced
    assert path.read_text() == f'{os.getpid()}\n'
    pid_file.write()  # our own pid is no conflict
    path.write_text('1\n')  # someone else took it over: never removed by us
    pid_file.remove()
    assert path.exists()
    with pytest.raises(PidFileError, match=rf'^The PID file {path} already exists for 1$'):
        pid_file.write()


# -- process titles ----------------------------------------------------------------------------


def test_default_process_titles_with_setproctitle() -> None:
    server = api_server('ops_app:app', interface='asgi', working_dir=str(APPS), workers=2).ready()
    try:
        server.wait_for('Started worker-1')
        server.wait_for('Started worker-2')
        main = f'granian asgi 127.0.0.1:{server.port} ops_app:app'
        assert cmdline(server.proc.pid) == main
        first, second = server.worker_pids()
        assert cmdline(first) == f'{main} worker-1'
        assert cmdline(second) == f'{main} worker-2'
    finally:
        assert server.stop() == 0


def test_a_process_name_names_the_main_process_and_the_workers() -> None:
    server = api_server('ops_app:app', interface='asgi', working_dir=str(APPS), process_name='shop-api').ready()
    try:
        assert cmdline(server.proc.pid) == 'shop-api'
        (worker,) = server.worker_pids()
        assert cmdline(worker) == 'shop-api worker-1'
    finally:
        assert server.stop() == 0


def test_process_name_without_setproctitle_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, 'setproctitle', None)
    server = Granian('app:app', interface='asgi', process_name='web')
    with pytest.raises(ConfigurationError, match=r'^process_name: .*`pip install granian\[pname\]`'):
        server._check_serve()


# -- env files ---------------------------------------------------------------------------------


def test_env_files_do_not_override_the_environment_and_reload_on_sighup(tmp_path: Path) -> None:
    env_file = tmp_path / 'app.env'
    env_file.write_text('OPS_FROM_FILE=first\nOPS_ALREADY_SET=from-file\n')
    hook_log = tmp_path / 'hooks.log'
    code = (
        'from granian import Granian\n'
        f'server = Granian("ops_app:app", interface="asgi", port=0, working_dir={str(APPS)!r},\n'
        f'                 env_files=[{str(env_file)!r}], respawn_interval=0.2)\n'
        'import os\n'
        '@server.on_reload\n'
        'def reloaded():\n'
        f'    with open({str(hook_log)!r}, "a") as fh:\n'
        '        fh.write("reload OPS_FROM_FILE=" + os.environ["OPS_FROM_FILE"] + "\\n")\n'
        'server.serve()\n'
    )
    server = ServerProcess([sys.executable, '-c', code], env={'OPS_ALREADY_SET': 'from-env'}).ready()
    try:
        assert httpx.get(f'{server.url}/env?key=OPS_FROM_FILE').text == 'first'
        assert httpx.get(f'{server.url}/env?key=OPS_ALREADY_SET').text == 'from-env'
        env_file.write_text('OPS_FROM_FILE=second\nOPS_ALREADY_SET=from-file\n')
        server.send_signal(signal.SIGHUP)
        wait_until(lambda: server.output.count('Started worker-1') == 2, what='the respawned worker')
        wait_until(lambda: 'Stopping worker-1' in server.output, what='the old worker to stop')
        assert httpx.get(f'{server.url}/env?key=OPS_FROM_FILE').text == 'second'
        assert httpx.get(f'{server.url}/env?key=OPS_ALREADY_SET').text == 'from-env'
        # Reload hooks run after the env files are read again, before the workers are replaced.
        assert hook_log.read_text() == 'reload OPS_FROM_FILE=second\n'
    finally:
        assert server.stop() == 0


def test_env_files_without_python_dotenv_name_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, 'dotenv', None)
    server = Granian('app:app', interface='asgi', env_files=[tmp_path / '.env'])
    with pytest.raises(ConfigurationError, match=r'^env_files: .*`pip install granian\[dotenv\]`'):
        server._check_serve()


def test_workers_lifetime_below_60_seconds_is_refused() -> None:
    server = Granian('app:app', interface='asgi', workers_lifetime=59)
    with pytest.raises(ConfigurationError, match=r'^workers_lifetime: must be at least 60 seconds'):
        server._check_serve()
