"""granian-cli: the ``granian`` command (placeholder until the full option table lands)."""

from __future__ import annotations

from typing import Any

import click

from .types import Duration, EnumType, OctalIntType

__all__ = ['Duration', 'EnumType', 'OctalIntType', 'cli', 'entrypoint']


@click.command()
def cli(**kwargs: Any) -> None:
    raise click.UsageError('not implemented yet')


def entrypoint() -> None:
    cli(auto_envvar_prefix='GRANIAN')
