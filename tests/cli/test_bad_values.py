"""Every option of the ``granian`` command, given a bad value of its type: one line, never a traceback.

The cases come from click's own option list and a table of bad values per parameter type, so a new
option is swept as soon as it exists; an option whose type the table does not know fails the sweep
until the table learns it. Values click refuses are usage errors (exit code 2, nothing built); a
path the server has to create is only known to be bad when it tries, so those run the real command
and must exit 1.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest

from granian_cli import Duration, EnumType, OctalIntType, cli
from testkit.process import ROOT

MISSING = '/nonexistent/granian-sweep/missing'


@dataclass(frozen=True)
class Case:
    flag: str
    value: str
    #: 'parse': click refuses it (exit 2); 'startup': the server refuses it (exit 1).
    stage: str = 'parse'
    #: Given through the GRANIAN_* variable (a flag takes no value on the command line).
    env: str | None = None

    @property
    def id(self) -> str:
        return f'{self.flag}={self.value}'


def _range_values(kind: click.IntRange | click.FloatRange, in_words: str) -> list[str]:
    values = [in_words]
    if kind.min is not None:
        values.append(str(int(kind.min) - 1))
    if kind.max is not None:
        values.append(str(int(kind.max) + 1))
    return values


def bad_values(param: click.Option) -> list[tuple[str, str]] | None:
    """(value, stage) pairs that must be refused, or None for a type that accepts any text."""
    kind = param.type
    if isinstance(kind, click.types.BoolParamType):
        return [('maybe', 'parse')]
    if isinstance(kind, Duration):  # before IntRange: a Duration is one
        return [(value, 'parse') for value in _range_values(kind, '1x')]
    if isinstance(kind, EnumType):
        return [('no-such-choice', 'parse')]
    if isinstance(kind, OctalIntType):
        return [('rw-r--r--', 'parse'), ('0o9', 'parse')]
    if isinstance(kind, click.IntRange | click.FloatRange):
        return [(value, 'parse') for value in _range_values(kind, 'many')]
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return [('many', 'parse')]
    if isinstance(kind, click.Path):
        if kind.exists:
            return [(MISSING, 'parse')]
        if kind.writable:
            # The server creates it: a path in a directory that does not exist fails then.
            return [(f'{MISSING}/file', 'startup')]
        return None
    if isinstance(kind, click.types.StringParamType):
        return None
    raise AssertionError(f'no bad values known for {param.opts[0]} of type {kind!r}: add its type to the table')


def options() -> list[click.Option]:
    return [param for param in cli.params if isinstance(param, click.Option) and param.name != 'version']


def cases() -> list[Case]:
    found = []
    for param in options():
        for value, stage in bad_values(param) or []:
            env = f'GRANIAN_{param.name.upper()}' if param.is_flag and param.name else None
            found.append(Case(param.opts[0], value, stage, env))
    return found


# Options whose type takes any text: none of these values is wrong until the server uses it. The
# addresses fail at bind time (tests/e2e/test_startup_failures.py), a bad reload pattern at start-up
# (there too), the rest are free text or paths that need not exist.
FREE_TEXT = {
    '--host',
    '--access-log-fmt',
    '--ssl-keyfile-password',
    '--url-path-prefix',
    '--static-path-route',
    '--static-path-dir-to-file',
    '--metrics-address',
    '--reload-ignore-dirs',
    '--reload-ignore-patterns',
    '--reload-ignore-paths',
    '--process-name',
    # Checked when the server is built (tests/proxy_protocol/test_proxy_protocol_options.py,
    # tests/headers/test_header_options.py).
    '--proxy-protocol-trusted-hosts',
    '--header',
}


def test_every_option_is_swept_or_known_to_take_any_text() -> None:
    free = {param.opts[0] for param in options() if bad_values(param) is None}
    assert free == FREE_TEXT
    swept = {case.flag for case in cases()}
    assert swept | free == {param.opts[0] for param in options()}


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith('Error: ')]


@pytest.mark.parametrize('case', [case for case in cases() if case.stage == 'parse'], ids=lambda case: case.id)
def test_a_bad_value_is_a_usage_error_naming_the_option(
    case: Case, invoke: Callable[..., Any], recorded_servers: list[Any]
) -> None:
    if case.env is not None:
        result = invoke(['examples.hello:app'], env={case.env: case.value})
    else:
        result = invoke([case.flag, case.value, 'examples.hello:app'])
    assert result.exit_code == 2, result.output
    assert 'Traceback' not in result.output
    (line,) = error_lines(result.output)
    assert f"'{case.flag}'" in line
    assert recorded_servers == []


@pytest.mark.parametrize('case', [case for case in cases() if case.stage == 'startup'], ids=lambda case: case.id)
def test_a_bad_value_stops_the_start_with_one_line_naming_the_option(case: Case) -> None:
    result = subprocess.run(
        [sys.executable, '-m', 'granian', '--interface', 'asgi', '--port', '0', case.flag, case.value, 'x:app'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # a server that starts anyway fails here
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert 'Traceback' not in output
    (line,) = error_lines(result.stderr)
    assert line.startswith(f'Error: {case.flag}: '), line
    assert Path(case.value).name in line
