"""scripts/system-deps, the check scripts/test and .ci/run start with, on a PATH made to lack things.

Each test runs the real script with PATH pointing at a folder of links to only the programs that
test allows, so that the machine's own tools (present wherever the suite runs) cannot hide a
missing one. Nothing is installed: the runs either use --check or have no apt-get on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'scripts' / 'system-deps'


def _path_with(folder: Path, **programs: str) -> str:
    """A PATH of one folder holding bash (the script's interpreter), id and sed (which it runs
    itself) and the given programs."""
    folder.mkdir()
    for name in ('bash', 'id', 'sed'):
        found = shutil.which(name)
        assert found, f'{name} is needed to run scripts/system-deps'
        (folder / name).symlink_to(found)
    for name, target in programs.items():
        (folder / name).symlink_to(target)
    return str(folder)


def _run(path: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {'PATH': path, 'LANG': 'C.UTF-8', 'HOME': os.environ.get('HOME', '/')}
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


#: Every command scripts/system-deps checks for.
COMMANDS = {
    'curl',
    'openssl',
    'h2load',
    'nghttp',
    'ps',
    'haproxy',
    'systemd-socket-activate',
    'systemd-analyze',
    'nginx',
    'unshare',
    'chromium',
}


def test_lists_every_missing_command_with_its_packages(tmp_path: Path) -> None:
    done = _run(_path_with(tmp_path / 'bin', python3=sys.executable))
    assert done.returncode == 1
    assert done.stdout == ''
    lines = done.stderr.splitlines()
    assert lines[0] == 'system-deps: the test suite needs these, missing here:'
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    # The running Python has ensurepip, so only the commands are missing, each with its packages.
    assert set(rows) == COMMANDS
    assert rows['h2load'][-3:] == ['nghttp2-client', 'elsewhere:', 'nghttp2']
    assert rows['curl'][-3:] == ['curl', 'elsewhere:', 'curl']
    # No apt-get on this PATH: the last line says how to go on, and names nothing twice.
    assert lines[-1] == 'Install them with your package manager, then run this again.'


def test_check_only_names_what_is_missing_and_gives_no_advice(tmp_path: Path) -> None:
    real = {name: shutil.which(name) for name in sorted(COMMANDS - {'nghttp'})}
    assert all(real.values()), f'scripts/test installs these first: {real}'
    links = {name: target for name, target in real.items() if target}
    done = _run(_path_with(tmp_path / 'bin', python3=sys.executable, **links), '--check')
    assert done.returncode == 1
    assert done.stderr.splitlines()[1:] == [
        '  nghttp             Debian/Ubuntu package: nghttp2-client   elsewhere: nghttp2'
    ]


def test_an_old_python_stops_it_first_with_its_version(tmp_path: Path) -> None:
    # A stand-in for Python 3.9: it fails the version test and reports itself as 3.9.18.
    old = tmp_path / 'python3'
    old.write_text('#!/bin/sh\ncase "$2" in *version_info\\ \\<*) exit 1 ;; *) echo 3.9.18 ;; esac\n')
    old.chmod(0o755)
    done = _run(_path_with(tmp_path / 'bin', python3=str(old)))
    assert done.returncode == 1
    message = done.stderr.strip()
    assert '\n' not in message
    assert message.startswith(f'system-deps: python3 is 3.9.18 ({tmp_path}/bin/python3); the suite needs 3.10')


def test_no_python_at_all(tmp_path: Path) -> None:
    done = _run(_path_with(tmp_path / 'bin'))
    assert done.returncode == 1
    assert done.stderr.startswith('system-deps: python3 is not on PATH: install Python 3.10 or newer')


def test_an_unknown_option_is_named(tmp_path: Path) -> None:
    done = _run(_path_with(tmp_path / 'bin', python3=sys.executable), '--install')
    assert done.returncode == 2
    assert done.stderr == "system-deps: unknown option '--install' (use --check to only list what is missing)\n"


def test_passes_quietly_where_everything_is_there() -> None:
    # scripts/test ran the install step before this suite, so the real PATH has everything.
    done = subprocess.run([str(SCRIPT), '--check'], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, '', '')
