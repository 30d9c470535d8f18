"""Start-up failures a new user runs into: one line naming the option, the value and the cause.

From the real ``granian`` command the line is ``Error: --<option>: ...`` on stderr with exit code 1
(``--port`` out of range is refused while parsing, exit code 2); from ``Granian(...).serve()`` it
is the same message in a :class:`ConfigurationError`. Nothing is served and no traceback is shown.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from granian import Granian
from granian.errors import ConfigurationError
from testkit.process import ROOT, cli_server

_TIMEOUT = 60


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another socket is listening on."""
    with socket.create_server(('127.0.0.1', 0)) as holder:
        yield holder.getsockname()[1]


def granian(*args: str, pass_fds: Sequence[int] = ()) -> subprocess.CompletedProcess[str]:
    """``python -m granian ARGS examples.hello:app``; a server that starts anyway fails by timeout."""
    return subprocess.run(
        [sys.executable, '-m', 'granian', '--interface', 'asgi', *args, 'examples.hello:app'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        pass_fds=tuple(pass_fds),
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], expected: str, code: int = 1) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert 'Traceback' not in output
    assert 'Spawning worker' not in output
    errors = [line for line in result.stderr.splitlines() if line.startswith('Error: ')]
    assert errors == [expected], output


def serve(**options: object) -> None:
    Granian('examples.hello:app', interface='asgi', **options).serve()  # type: ignore[arg-type]


# -- the command line ---------------------------------------------------------------------------------


def test_cli_port_out_of_range_is_a_usage_error() -> None:
    result = granian('--port', '99999')
    assert_one_error_line(result, "Error: Invalid value for '--port': 99999 is not in the range 0<=x<=65535.", 2)


def test_cli_port_in_use(busy_port: int, tmp_path: Path) -> None:
    pid_file = tmp_path / 'granian.pid'
    result = granian('--port', str(busy_port), '--pid-file', str(pid_file))
    assert_one_error_line(
        result,
        f'Error: --port: cannot bind 127.0.0.1:{busy_port}: address already in use; '
        'stop the process that listens there or choose another port',
    )
    assert not pid_file.exists()  # written before the bind, removed when it failed


def test_cli_host_that_is_not_an_address() -> None:
    result = granian('--host', '999.1.1.1', '--port', '0')
    assert_one_error_line(
        result,
        "Error: --host: cannot bind 999.1.1.1:0: '999.1.1.1' is not an IP address or a host name that resolves; "
        'give an address of this machine, such as 127.0.0.1 or 0.0.0.0',
    )


def test_cli_uds_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / 'missing' / 's.sock'
    result = granian('--uds', str(path))
    assert_one_error_line(
        result,
        f'Error: --uds: cannot bind {path}: the directory {path.parent} does not exist; '
        'create it first or choose another path',
    )


def test_cli_uds_over_a_file_that_is_not_a_socket(tmp_path: Path) -> None:
    path = tmp_path / 'notes.txt'
    path.write_text('mine')
    result = granian('--uds', str(path))
    assert_one_error_line(
        result,
        f'Error: --uds: cannot bind {path}: a file that is not a socket is there; remove it or choose another path',
    )
    assert path.read_text() == 'mine'


def test_cli_pid_file_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / 'missing' / 'g.pid'
    result = granian('--port', '0', '--pid-file', str(path))
    assert_one_error_line(
        result,
        f'Error: --pid-file: cannot write {path}: the directory {path.parent} does not exist; '
        'create it first or choose another path',
    )


def test_cli_metrics_port_in_use(busy_port: int) -> None:
    result = granian('--port', '0', '--metrics', '--metrics-port', str(busy_port))
    assert_one_error_line(
        result,
        f'Error: --metrics-port: cannot bind 127.0.0.1:{busy_port}: address already in use; '
        'stop the process that listens there or choose another port',
    )


def test_cli_uds_permissions_beyond_a_file_mode(tmp_path: Path) -> None:
    result = granian('--uds', str(tmp_path / 's.sock'), '--uds-permissions', '0177777')
    assert_one_error_line(
        result, 'Error: --uds-permissions: 65535 is not a file mode; give permission bits such as 0660 (octal)'
    )


def test_cli_bad_reload_ignore_pattern() -> None:
    result = granian('--port', '0', '--reload', '--reload-ignore-patterns', '(')
    assert_one_error_line(
        result,
        "Error: --reload-ignore-patterns: '(' is not a regular expression "
        '(missing ), unterminated subpattern at position 0)',
    )


# -- --fd: a descriptor that is not a listening stream socket -----------------------------------------


def test_cli_fd_that_is_not_open() -> None:
    # The child gets stdin, stdout and stderr only: 9 is not open there.
    result = granian('--fd', '9')
    assert_one_error_line(
        result,
        'Error: --fd: fd 9 is not open in this process; the parent has to keep it open across exec '
        '(pass_fds, or a systemd socket unit)',
    )


def test_cli_fd_of_a_regular_file(tmp_path: Path) -> None:
    with (tmp_path / 'notes.txt').open('w') as file:
        fd = file.fileno()
        result = granian('--fd', str(fd), pass_fds=[fd])
    assert_one_error_line(
        result,
        f'Error: --fd: fd {fd} is a regular file, not a socket; '
        'give the number of the listening socket the parent passed',
    )


def test_cli_fd_of_a_datagram_socket() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(('127.0.0.1', 0))
        result = granian('--fd', str(udp.fileno()), pass_fds=[udp.fileno()])
        assert_one_error_line(
            result,
            f'Error: --fd: fd {udp.fileno()} is a datagram socket; '
            'give a listening stream socket (TCP, or Unix SOCK_STREAM)',
        )


def test_cli_fd_of_a_socket_that_is_not_listening() -> None:
    with socket.socket() as bound:
        bound.bind(('127.0.0.1', 0))  # bound, but nobody called listen()
        result = granian('--fd', str(bound.fileno()), pass_fds=[bound.fileno()])
        assert_one_error_line(
            result,
            f'Error: --fd: fd {bound.fileno()} is a socket that is not listening; '
            'the parent must call listen() on it before starting granian',
        )


def test_cli_fd_together_with_uds(tmp_path: Path) -> None:
    with socket.create_server(('127.0.0.1', 0)) as parent:
        fd = parent.fileno()
        result = granian('--fd', str(fd), '--uds', str(tmp_path / 's.sock'), pass_fds=[fd])
    assert_one_error_line(result, 'Error: --fd: cannot be combined with uds; give one of them')


# -- Granian(...).serve() ---------------------------------------------------------------------------


@pytest.mark.parametrize('port', [99999, -1])
def test_api_port_out_of_range(port: int) -> None:
    with pytest.raises(ConfigurationError, match=rf'^port: {port} is not a port number; give one from 0 to 65535'):
        serve(port=port)


def test_api_port_in_use(busy_port: int) -> None:
    expected = rf'^port: cannot bind 127\.0\.0\.1:{busy_port}: address already in use'
    with pytest.raises(ConfigurationError, match=expected):
        serve(port=busy_port)


def test_api_address_that_is_not_an_address() -> None:
    with pytest.raises(ConfigurationError, match=r"^address: cannot bind 999\.1\.1\.1:0: '999\.1\.1\.1' is not an IP"):
        serve(address='999.1.1.1', port=0)


def test_api_uds_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / 'missing' / 's.sock'
    with pytest.raises(ConfigurationError, match=r'^uds: cannot bind .*: the directory .* does not exist'):
        serve(uds=path)


def test_api_pid_file_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / 'missing' / 'g.pid'
    with pytest.raises(ConfigurationError, match=r'^pid_file: cannot write .*: the directory .* does not exist'):
        serve(port=0, pid_file=path)


def test_api_metrics_port_out_of_range() -> None:
    with pytest.raises(ConfigurationError, match=r'^metrics_port: 70000 is not a port number'):
        serve(port=0, metrics_enabled=True, metrics_port=70000)


def test_api_metrics_address_that_is_not_an_address() -> None:
    with pytest.raises(ConfigurationError, match=r'^metrics_address: cannot bind 999\.1\.1\.1:0: '):
        serve(port=0, metrics_enabled=True, metrics_address='999.1.1.1', metrics_port=0)


@pytest.mark.parametrize('fd', ['3', True, -1, 2.0])
def test_api_fd_that_is_not_a_descriptor_number(fd: object) -> None:
    with pytest.raises(ConfigurationError, match=rf'^fd: {fd!r} is not a file descriptor number'):
        serve(fd=fd)


def test_api_refused_fd_stays_open_for_its_owner() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(ConfigurationError, match=rf'^fd: fd {udp.fileno()} is a datagram socket'):
            serve(fd=udp.fileno())
        os.fstat(udp.fileno())  # granian looked at it, and did not close it
        udp.bind(('127.0.0.1', 0))


def test_api_reuse_port_must_be_a_bool_or_none() -> None:
    with pytest.raises(ConfigurationError, match=r"^reuse_port: must be True, False or None \(auto\), not 'false'"):
        serve(port=0, reuse_port='false')


# -- values too large to be meant, that still must not crash the start ---------------------------


def test_cli_huge_backlog_and_lifetime_still_serve() -> None:
    # listen() takes a C int and the supervisor's wait a bounded timeout: both used to overflow.
    server = cli_server(
        '--interface',
        'asgi',
        '--port',
        '0',
        '--backlog',
        '9' * 20,
        '--workers-lifetime',
        '9' * 12 + 'd',
        'examples.hello:app',
    ).ready()
    try:
        assert httpx.get(server.url).text == 'Hello, world!'
    finally:
        assert server.stop() == 0
    assert 'Traceback' not in server.output
