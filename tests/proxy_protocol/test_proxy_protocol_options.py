"""``proxy_protocol`` and ``proxy_protocol_trusted_hosts``: the keyword, the flag, the variable, the
help line, and one line naming the option for every bad value."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from click.testing import CliRunner

from granian import Granian
from granian.errors import ConfigurationError
from granian_cli import cli
from granian_proxies import TrustedHosts
from granian_server.proxy_protocol import check_trusted_hosts
from testkit.process import run_command


def test_defaults_are_off_and_loopback() -> None:
    server = Granian('examples.hello:app')
    assert server.proxy_protocol == 'off'
    assert server.proxy_protocol_trusted_hosts == '127.0.0.1'
    config = server._serve_config()
    assert (config.proxy_protocol, config.proxy_protocol_trusted_hosts) == ('off', '127.0.0.1')


@pytest.mark.parametrize('mode', ['off', 'v1', 'v2', 'auto'])
def test_every_mode_reaches_the_workers(mode: str) -> None:
    server = Granian('examples.hello:app', proxy_protocol=mode, proxy_protocol_trusted_hosts=['10.0.0.0/8', '::1'])
    assert server._serve_config().proxy_protocol == mode
    assert server._serve_config().proxy_protocol_trusted_hosts == '10.0.0.0/8,::1'


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({'proxy_protocol': 'v3'}, "proxy_protocol: 'v3' is not one of 'off', 'v1', 'v2', 'auto'"),
        ({'proxy_protocol': 'on'}, "proxy_protocol: 'on' is not one of"),
        (
            {'proxy_protocol': 'v1', 'proxy_protocol_trusted_hosts': 'proxy.example'},
            "proxy_protocol_trusted_hosts: 'proxy.example' is not an IP address or network",
        ),
        (
            {'proxy_protocol': 'v1', 'proxy_protocol_trusted_hosts': ['10.0.0.1', 'unix']},
            "proxy_protocol_trusted_hosts: 'unix' is not",
        ),
        (
            {'proxy_protocol': 'v1', 'proxy_protocol_trusted_hosts': '10.0.0.0/33'},
            "proxy_protocol_trusted_hosts: '10.0.0.0/33' is not",
        ),
        (
            {'proxy_protocol': 'v2', 'proxy_protocol_trusted_hosts': ' , '},
            'proxy_protocol_trusted_hosts: no host given',
        ),
        ({'proxy_protocol': 'v2', 'proxy_protocol_trusted_hosts': []}, 'proxy_protocol_trusted_hosts: no host given'),
    ],
)
def test_a_bad_value_names_the_option(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Granian('examples.hello:app', **options)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    'spec',
    [
        '127.0.0.1',
        '*',
        '10.0.0.0/8, 127.0.0.1',
        ['10.0.0.1', '192.168.0.0/16'],
        '::1,fd00::/8',
        '10.0.0.1/8',
        ['10.0.0.1,10.0.0.2'],
    ],
)
def test_trusted_hosts_mean_what_granian_proxies_makes_of_them(spec: Any) -> None:
    """The same parser as the proxy-header wrappers: the checked string trusts exactly the same peers."""
    checked = TrustedHosts(check_trusted_hosts(spec, True))
    entries = spec if isinstance(spec, str) else ','.join(spec)
    original = TrustedHosts(entries)
    for peer in [
        '127.0.0.1',
        '127.0.0.2',
        '10.0.0.1',
        '10.0.0.2',
        '10.9.9.9',
        '192.168.3.4',
        '::1',
        '::ffff:127.0.0.1',
        'fd00::5',
        '203.0.113.1',
    ]:
        assert (peer in checked) == (peer in original), peer


def test_trusted_hosts_without_the_protocol_warn(caplog: pytest.LogCaptureFixture) -> None:
    check_trusted_hosts('10.0.0.0/8', False)
    assert 'proxy_protocol_trusted_hosts has no effect without proxy_protocol' in caplog.text


def test_help_lists_both_options_and_their_variables() -> None:
    output = CliRunner().invoke(cli, ['--help'], auto_envvar_prefix='GRANIAN', terminal_width=200).output
    assert '--proxy-protocol [off|v1|v2|auto]' in output
    assert 'GRANIAN_PROXY_PROTOCOL' in output
    assert '--proxy-protocol-trusted-hosts' in output
    assert 'GRANIAN_PROXY_PROTOCOL_TRUSTED_HOSTS' in output


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_command('--interface', 'asgi', '--port', '0', *args, 'examples.hello:app', env=env)


@pytest.mark.parametrize(
    ('args', 'env', 'expected'),
    [
        (
            ['--proxy-protocol', 'v1', '--proxy-protocol-trusted-hosts', 'proxy.example'],
            None,
            "Error: --proxy-protocol-trusted-hosts: 'proxy.example' is not an IP address or network",
        ),
        (
            [],
            {'GRANIAN_PROXY_PROTOCOL': 'v2', 'GRANIAN_PROXY_PROTOCOL_TRUSTED_HOSTS': '10.0.0.1 nope'},
            "Error: --proxy-protocol-trusted-hosts: 'nope' is not",
        ),
        (['--proxy-protocol', 'v3'], None, "Error: Invalid value for '--proxy-protocol'"),
    ],
)
def test_the_command_refuses_bad_values_in_one_line(args: list[str], env: dict[str, str] | None, expected: str) -> None:
    result = _run(*args, env=env)
    output = result.stdout + result.stderr
    assert result.returncode in (1, 2), output
    assert 'Traceback' not in output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith('Error: ')]
    assert line.startswith(expected), line


def test_tls_behind_the_proxy_protocol_needs_a_loop_with_start_tls(certs: Any) -> None:
    # rloop has no TLS at all (nor start_tls): the TLS check names the loop, as without PROXY.
    result = _run(
        '--proxy-protocol',
        'v1',
        '--loop',
        'rloop',
        '--ssl-certificate',
        str(certs.cert),
        '--ssl-keyfile',
        str(certs.key),
    )
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith('Error: ')]
    assert line.startswith('Error: --loop: rloop cannot serve TLS'), line
