"""The guide's container recipe: its build step, its entrypoint, and a stop as ``docker stop`` does it.

No container engine runs here, so the image itself is not built: its build step
(``install.sh``) runs into a temporary directory, and its entrypoint runs from there with the
image's variables and CMD (see :mod:`deploy.image`). What makes a container's stop different, the
entrypoint being PID 1 of its own PID namespace, is reproduced with ``unshare --pid --fork``: the
kernel then delivers a signal from outside only if PID 1 handles it, as it does to a container's
PID 1, and SIGTERM comes from outside the namespace, as the engine sends it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from deploy.image import DOCKERFILE, Image, instructions
from deploy.recipes import APP_DIR, free_port
from testkit.poll import eventually

UNSHARE = shutil.which('unshare')


def _pid_namespace_wrapper() -> list[str]:
    """``unshare`` making the next command PID 1 of a new PID namespace (with a user namespace
    when not root, where the kernel allows one)."""
    assert UNSHARE, 'unshare is needed (Debian package util-linux)'
    wrapper = [UNSHARE, '--pid', '--fork', '--kill-child']
    if os.geteuid() != 0:
        wrapper[1:1] = ['--user', '--map-root-user']
    return wrapper


def _can_make_a_pid_namespace() -> bool:
    done = subprocess.run([*_pid_namespace_wrapper(), 'true'], capture_output=True, timeout=30)
    return done.returncode == 0


def _machine_env(port: int) -> dict[str, str]:
    """The image's network settings made to fit a test on 127.0.0.1 (what `docker run -p` maps)."""
    return {'GRANIAN_HOST': '127.0.0.1', 'GRANIAN_PORT': str(port)}


def _children(pid: int) -> list[int]:
    with open(f'/proc/{pid}/task/{pid}/children') as fh:
        return [int(child) for child in fh.read().split()]


def _namespace_pids(pid: int) -> list[int]:
    """The PIDs of ``pid`` in each PID namespace it is in, outermost first."""
    with open(f'/proc/{pid}/status') as fh:
        line = next(line for line in fh if line.startswith('NSpid:'))
    return [int(value) for value in line.split()[1:]]


def _cmdline(pid: int) -> str:
    with open(f'/proc/{pid}/cmdline', 'rb') as fh:
        return fh.read().replace(b'\0', b' ').decode()


def test_the_dockerfile_keeps_what_the_entrypoint_needs(image: Image) -> None:
    steps = instructions(DOCKERFILE.read_text())
    # BuildKit's syntax line must come first, before any comment, or the cache mount is refused.
    assert DOCKERFILE.read_text().startswith('# syntax=docker/dockerfile:1\n')
    # The exec form: a shell form would run /bin/sh -c as PID 1, which passes no signal on.
    assert next(args for keyword, args in steps if keyword == 'ENTRYPOINT').startswith('[')
    assert next(args for keyword, args in steps if keyword == 'CMD').startswith('[')
    # The uv the image copies is the one the suite runs the build step with (constraints/dev.txt).
    version = subprocess.run(['uv', '--version'], capture_output=True, text=True, check=True).stdout.split()[1]
    assert ('COPY', f'--from=ghcr.io/astral-sh/uv:{version} /uv /usr/local/bin/uv') in steps
    # 127.0.0.1 inside a container is the container's own: nothing outside could connect.
    assert image.env['GRANIAN_HOST'] == '0.0.0.0'
    assert ('EXPOSE', image.env['GRANIAN_PORT']) in steps
    assert ('USER', 'nobody') in steps


@pytest.mark.parametrize('as_pid_1', [True, False], ids=['pid 1 of a pid namespace', 'plain process'])
def test_sigterm_to_the_entrypoint_finishes_the_request_in_flight(image: Image, tmp_path: Path, as_pid_1: bool) -> None:
    if as_pid_1 and not _can_make_a_pid_namespace():
        pytest.skip('this user may not make a PID namespace (neither root nor user namespaces allowed)')
    # The app as the image has it, plus a prestart.sh, which the entrypoint runs first.
    workdir = tmp_path / 'app'
    shutil.copytree(APP_DIR, workdir)
    (workdir / 'prestart.sh').write_text('echo "prestart ran as $$" > prestart.out\n')
    port = free_port()
    wrapper = _pid_namespace_wrapper() if as_pid_1 else []
    container = image.run(env=_machine_env(port), workdir=workdir, wrapper=wrapper)
    try:
        container.ready()
        assert (workdir / 'prestart.out').read_text().startswith('prestart ran as ')
        # The entrypoint's process became granian (exec): PID 1 inside, the process signalled.
        pid = container.proc.pid
        if as_pid_1:
            pid = eventually(lambda: _children(container.proc.pid), what='unshare to fork')[0]
        assert 'granian' in _cmdline(pid), _cmdline(pid)
        if as_pid_1:
            assert _namespace_pids(pid)[-1] == 1
        results: list[httpx.Response] = []
        slow = threading.Thread(
            target=lambda: results.append(httpx.get(f'http://127.0.0.1:{port}/slow?seconds=1.5', timeout=30))
        )
        slow.start()
        container.wait_for('slow request: answering in 1.5 s')
        os.kill(pid, signal.SIGTERM)  # what `docker stop` sends, from outside the namespace
        slow.join(30)
        assert container.proc.wait(30) == 0
        assert container.stop() == 0  # it has exited: this only collects the rest of its output
    finally:
        container.kill()
    assert results and results[0].status_code == 200 and results[0].text == 'slow done'
    assert 'Granian shutdown completed' in container.output
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.1', port), timeout=5).close()


def test_a_failing_prestart_stops_the_container_before_granian_starts(image: Image, tmp_path: Path) -> None:
    workdir = tmp_path / 'app'
    shutil.copytree(APP_DIR, workdir)
    (workdir / 'prestart.sh').write_text('echo "migration failed" >&2\nexit 3\n')
    container = image.run(env=_machine_env(free_port()), workdir=workdir)
    assert container.proc.wait(30) == 3  # set -e: the entrypoint exits with prestart's code
    container.stop()  # it has exited: this only collects the rest of its output
    assert 'migration failed' in container.output
    assert 'Starting granian' not in container.output
