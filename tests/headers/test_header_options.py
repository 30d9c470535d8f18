"""``server_header``, ``date_header`` and ``headers``: the keywords, the flags, the variables, the help
lines, what reaches the workers, and one line naming the option for every bad value (what the flags
and variables pass to the server: tests/cli/test_command.py)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from click.testing import CliRunner

from granian import Granian
from granian.errors import ConfigurationError
from granian.server.embed import Server as EmbeddedServer
from granian_cli import cli
from testkit.process import run_command


def test_defaults_send_server_and_date_and_nothing_else() -> None:
    config = Granian('examples.hello:app')._serve_config()
    assert (config.server_header, config.date_header, config.headers) == (True, True, ())


def test_keywords_reach_the_workers_checked_and_lower_case() -> None:
    server = Granian(
        'examples.hello:app',
        server_header=False,
        date_header=False,
        headers=['X-Frame-Options: DENY', ('Cache-Control', ' no-store '), 'x-empty:', 'x-colon: a:b'],
    )
    config = server._serve_config()
    assert (config.server_header, config.date_header) == (False, False)
    assert config.headers == (
        ('x-frame-options', 'DENY'),
        ('cache-control', 'no-store'),
        ('x-empty', ''),
        ('x-colon', 'a:b'),
    )
    # One header as a plain string, and the embedded server takes the same keywords.
    assert Granian('examples.hello:app', headers='server:edge').headers == (('server', 'edge'),)
    embedded = EmbeddedServer(object(), server_header=False, headers=['x-a:1'])
    assert embedded._serve_config().headers == (('x-a', '1'),)
    assert embedded._serve_config().server_header is False


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({'headers': ['x-frame-options DENY']}, "headers: 'x-frame-options DENY' is not NAME:VALUE"),
        ({'headers': ['x frame:DENY']}, "headers: 'x frame' is not a header name"),
        ({'headers': [':path:/']}, "headers: '' is not a header name"),
        ({'headers': ['x-a :1']}, "headers: 'x-a ' is not a header name"),
        ({'headers': ['x-a:one\r\nx-b: two']}, 'headers: the value of x-a has a line break, NUL or other control'),
        ({'headers': ['x-a:nul\x00']}, 'headers: the value of x-a has a line break'),
        ({'headers': ['x-a:bell\x07']}, 'headers: the value of x-a has a line break'),
        ({'headers': ['x-a:snow \u2603']}, 'headers: the value of x-a is not latin-1 text'),
        ({'headers': ['Content-Length: 0']}, 'headers: content-length is decided for each response by the server'),
        ({'headers': ['transfer-encoding:chunked']}, 'headers: transfer-encoding is decided for each response'),
        ({'headers': ['connection:close']}, 'headers: connection is decided for each response'),
        ({'headers': ['upgrade:h2c']}, 'headers: upgrade is decided for each response'),
        ({'headers': ['date:Thu, 01 Jan 1970 00:00:00 GMT']}, 'headers: date is the time of each response'),
        ({'headers': ['server:a', 'Server:b']}, 'headers: server is given more than once'),
        ({'headers': [('x-a',)]}, "headers: ('x-a',) is neither a NAME:VALUE string nor a (name, value) pair"),
        ({'headers': [b'x-a:1']}, "headers: b'x-a:1' is neither"),
        ({'server_header': 'false'}, "server_header: must be True or False, not 'false'"),
        ({'date_header': None}, 'date_header: must be True or False, not None'),
    ],
)
def test_a_bad_value_names_the_option(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Granian('examples.hello:app', **options)
    assert str(raised.value).startswith(message), str(raised.value)


def test_help_lists_the_options_with_their_variables() -> None:
    output = CliRunner().invoke(cli, ['--help'], auto_envvar_prefix='GRANIAN', terminal_width=200).output
    assert '--server-header / --no-server-header' in output
    assert '--date-header / --no-date-header' in output
    assert '--header NAME:VALUE' in output
    for variable in ('GRANIAN_SERVER_HEADER', 'GRANIAN_DATE_HEADER', 'GRANIAN_HEADER'):
        assert variable in output


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_command('--interface', 'asgi', '--port', '0', *args, 'examples.hello:app', env=env)


@pytest.mark.parametrize(
    ('args', 'env', 'expected'),
    [
        (['--header', 'nocolon'], None, "Error: --header: 'nocolon' is not NAME:VALUE"),
        (['--header', 'x-a:1', '--header', 'content-length:5'], None, 'Error: --header: content-length is decided'),
        (['--header', 'date:now'], None, 'Error: --header: date is the time of each response'),
        ([], {'GRANIAN_HEADER': 'x-a:1\nbad name:2'}, "Error: --header: 'bad name' is not a header name"),
        ([], {'GRANIAN_HEADER': 'x-a:\x01'}, 'Error: --header: the value of x-a has a line break'),
        (['--server-header', '--header', 'server:a', '--header', 'server:b'], None, 'Error: --header: server is'),
        ([], {'GRANIAN_DATE_HEADER': 'maybe'}, "Error: Invalid value for '--date-header'"),
    ],
)
def test_the_command_refuses_bad_values_in_one_line(args: list[str], env: dict[str, str] | None, expected: str) -> None:
    result = _run(*args, env=env)
    output = result.stdout + result.stderr
    assert result.returncode in (1, 2), output
    assert 'Traceback' not in output
    assert 'Spawning worker' not in output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith('Error: ')]
    assert line.startswith(expected), line
