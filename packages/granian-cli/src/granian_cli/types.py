"""The click parameter types of the ``granian`` command: durations, enum choices, octal modes,
response headers.

Their names and error messages are upstream's, because scripts and users see them: a duration
is ``1h30m`` or a number of seconds, an enum option takes its value in any case, and a file mode
such as ``0660`` is read as octal.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TYPE_CHECKING, Any

import click

__all__ = ['Duration', 'EnumType', 'HeaderType', 'OctalIntType']

if TYPE_CHECKING:
    _ChoiceBase = click.Choice[str]
else:
    # click.Choice became generic in click 8.4; older releases (we accept 8.1) cannot subscript it.
    _ChoiceBase = click.Choice


class Duration(click.IntRange):
    """Seconds, written as an integer or as ``[<n>d][<n>h][<n>m][<n>s]`` (e.g. ``1h30m``)."""

    name = 'duration'
    _PATTERN = re.compile(r'^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$')
    _UNIT_SECONDS = (86400, 3600, 60, 1)

    def __init__(self, min: int | None = None, max: int | None = None) -> None:
        super().__init__(min=min, max=max)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        seconds = self._seconds(value, param, ctx)
        if self.min is not None and seconds < self.min:
            self.fail(f"'{value}' is less than the minimum allowed value of {self.min} seconds", param, ctx)
        if self.max is not None and seconds > self.max:
            self.fail(f"'{value}' is greater than the maximum allowed value of {self.max} seconds", param, ctx)
        return seconds

    def _seconds(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value)
        if text.isascii() and text.isdigit():
            return int(text)
        match = self._PATTERN.match(text)
        if match is None:
            self.fail(f"'{value}' is not a valid duration", param, ctx)
        # Every part is optional, so an empty string matches and means 0 seconds (upstream's quirk).
        return sum(int(part) * unit for part, unit in zip(match.groups(), self._UNIT_SECONDS, strict=True) if part)


class EnumType(_ChoiceBase):
    """A case-insensitive choice among an enum's values that returns the enum member."""

    def __init__(self, enum: type[Enum], case_sensitive: bool = False) -> None:
        self.enum = enum
        super().__init__([str(member.value) for member in enum], case_sensitive=case_sensitive)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.enum):
            return value
        return self.enum(super().convert(value, param, ctx))


class OctalIntType(click.types.IntParamType):
    """An integer that is octal when written with a leading ``0`` (``0660``, ``0o660``), as file modes are."""

    name = 'octal'

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        try:
            return int(text, 8 if text.startswith('0') else 10)
        except ValueError:
            self.fail(f"'{value}' is not a valid octal integer", param, ctx)


class HeaderType(click.types.StringParamType):
    """A ``NAME:VALUE`` response header, checked by the server (one line naming the option).

    Its ``GRANIAN_*`` variable holds one header per line: click splits a repeatable option's
    variable on whitespace, which would cut ``x-frame-options: DENY`` in two, and a line break is
    the one separator no header value can contain.
    """

    name = 'header'
    envvar_list_splitter = '\n'

    def split_envvar_value(self, rv: str) -> list[str]:
        return [line for line in (rv or '').splitlines() if line.strip()]
