"""granian-cli: the ``granian`` command (placeholder until the full option table lands)."""

from __future__ import annotations

from typing import Any

import click

__all__ = ['Duration', 'EnumType', 'OctalIntType', 'cli', 'entrypoint']


class Duration(click.IntRange):
    name = 'duration'


class EnumType(click.Choice):  # type: ignore[type-arg]
    pass


class OctalIntType(click.ParamType):
    name = 'octal'


@click.command()
def cli(**kwargs: Any) -> None:
    raise click.UsageError('not implemented yet')


def entrypoint() -> None:
    cli(auto_envvar_prefix='GRANIAN')
