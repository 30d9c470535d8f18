"""Response field names and values as the app gives them, checked once for every protocol.

Names must be tokens (RFC 9110 §5.1) and are sent lower-case; the raw name -> lower-case name
map remembers what was checked, since apps send the same few names on every response. It is
bounded, so an app that makes up names cannot grow it without limit.
"""

from __future__ import annotations

import re

__all__ = ['DIGITS', 'NAMES', 'TOKEN', 'lower_name']

TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: A content-length value (one that fits in 63 bits).
DIGITS = re.compile(rb'[0-9]{1,18}')

#: Raw name -> checked lower-case name. Hot paths may look a name up here first and call
#: :func:`lower_name` only on a miss.
NAMES: dict[bytes, bytes] = {}
_NAMES_MAX = 4096


def lower_name(name: bytes) -> bytes:
    """The lower-case form of a valid field name; :class:`ValueError` for an invalid one."""
    lowered = NAMES.get(name)
    if lowered is not None:
        return lowered
    if not isinstance(name, bytes) or TOKEN.fullmatch(name) is None:
        raise ValueError(f'Invalid HTTP header name {name!r}')
    lowered = name.lower()
    if len(NAMES) < _NAMES_MAX:
        NAMES[name] = lowered
    return lowered
