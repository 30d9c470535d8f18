"""The parameter types: Duration, EnumType and OctalIntType, with upstream's values and messages."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from granian_cli import Duration, EnumType, OctalIntType
from granian_server.constants import HTTPModes, Interfaces
from granian_server.log import LogLevels


def convert(param_type: click.ParamType[Any], *args: str) -> tuple[int, Any, str]:
    """Run a one-option command with ``--value``; return (exit code, converted value, output)."""
    seen: list[Any] = []

    @click.command()
    @click.option('--value', type=param_type)
    def command(value: Any) -> None:
        seen.append(value)

    result = CliRunner().invoke(command, ['--value', *args] if args else [])
    return result.exit_code, (seen[0] if seen else None), result.output


# -- Duration ---------------------------------------------------------------------------------------


def test_duration_is_an_int_range_named_duration() -> None:
    duration = Duration(5, 600)
    assert isinstance(duration, click.IntRange)
    assert duration.name == 'duration'
    assert (duration.min, duration.max) == (5, 600)


@pytest.mark.parametrize(
    ('text', 'seconds'),
    [
        ('45', 45),
        ('0', 0),
        ('30s', 30),
        ('2m', 120),
        ('1h30m', 5400),
        ('1d', 86400),
        ('1d1s', 86401),
        ('10d10h10m10s', 10 * 86400 + 10 * 3600 + 10 * 60 + 10),
        ('90m', 5400),
    ],
)
def test_duration_accepts_seconds_and_unit_strings(text: str, seconds: int) -> None:
    assert convert(Duration(), text)[:2] == (0, seconds)


def test_duration_passes_ints_through() -> None:
    assert Duration(1, 10).convert(7, None, None) == 7


def test_duration_empty_string_is_zero_seconds() -> None:
    # Upstream's quirk: every part of the pattern is optional, so '' matches.
    assert convert(Duration(), '')[:2] == (0, 0)


@pytest.mark.parametrize('text', ['abc', '1m1h', '1h 30m', '-5', '1.5', '5x', '1H', 'h'])
def test_duration_rejects_anything_else(text: str) -> None:
    code, _, output = convert(Duration(), text)
    assert code == 2
    assert f"'{text}' is not a valid duration" in output


def test_duration_below_minimum() -> None:
    code, _, output = convert(Duration(5, 600), '4s')
    assert code == 2
    assert "'4s' is less than the minimum allowed value of 5 seconds" in output


def test_duration_above_maximum() -> None:
    code, _, output = convert(Duration(5, 600), '11m')
    assert code == 2
    assert "'11m' is greater than the maximum allowed value of 600 seconds" in output


def test_duration_bounds_are_inclusive() -> None:
    assert convert(Duration(5, 600), '5')[:2] == (0, 5)
    assert convert(Duration(5, 600), '10m')[:2] == (0, 600)


# -- EnumType ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('text', 'member'), [('asgi', Interfaces.ASGI), ('ASGI', Interfaces.ASGI), ('RsGi', Interfaces.RSGI)]
)
def test_enum_type_is_case_insensitive_and_returns_the_member(text: str, member: Interfaces) -> None:
    code, value, _ = convert(EnumType(Interfaces), text)
    assert code == 0
    assert value is member


def test_enum_type_matches_values_not_names() -> None:
    assert convert(EnumType(HTTPModes), '2')[1] is HTTPModes.http2
    assert convert(EnumType(HTTPModes), 'http2')[0] == 2


def test_enum_type_is_a_choice_over_the_values() -> None:
    enum_type = EnumType(LogLevels)
    assert isinstance(enum_type, click.Choice)
    assert list(enum_type.choices) == ['critical', 'error', 'warning', 'warn', 'info', 'debug', 'notset']


def test_enum_type_rejects_unknown_values_listing_the_choices() -> None:
    code, _, output = convert(EnumType(Interfaces), 'wsgix')
    assert code == 2
    assert "'wsgix' is not one of" in output
    for choice in ('asgi', 'asginl', 'rsgi', 'wsgi'):
        assert repr(choice) in output


def test_enum_type_keeps_members() -> None:
    assert EnumType(Interfaces).convert(Interfaces.WSGI, None, None) is Interfaces.WSGI


# -- OctalIntType -----------------------------------------------------------------------------------


@pytest.mark.parametrize(('text', 'number'), [('0660', 0o660), ('0o755', 0o755), ('0', 0), ('660', 660), ('8', 8)])
def test_octal_int_is_octal_with_a_leading_zero(text: str, number: int) -> None:
    assert convert(OctalIntType(), text)[:2] == (0, number)


def test_octal_int_passes_ints_through() -> None:
    assert OctalIntType().convert(0o600, None, None) == 0o600


@pytest.mark.parametrize('text', ['089', 'rw', '0x1f', ''])
def test_octal_int_rejects_non_numbers(text: str) -> None:
    code, _, output = convert(OctalIntType(), text)
    assert code == 2
    assert f"'{text}' is not a valid octal integer" in output
