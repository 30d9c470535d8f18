"""Which HTTP/1.1 request parser a connection uses (``HTTP1Settings.parser``).

* ``'h11'``: :class:`~._h11.H11Parser`, pure Python, the default without extras and the reference
  every other parser answers like;
* ``'httptools'``: :class:`~._httptools.HttptoolsParser`, llhttp in C, from ``granian[speedups]``;
* ``'auto'`` (the default): httptools when it is installed, else h11. Installing the extra is the
  only step a user takes to get the faster parser.

The choice is made once per worker (the first connection asks, the answer is kept), not per
connection.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ._events import RequestParser
from ._h11 import H11Parser

__all__ = ['PARSERS', 'available', 'parser_factory']

#: What ``HTTP1Settings.parser`` may say.
PARSERS = ('auto', 'h11', 'httptools')


def available(name: str) -> bool:
    """Whether the parser ``name`` can be used here (httptools is an optional extra)."""
    if name == 'httptools':
        try:
            import httptools  # noqa: F401
        except ImportError:
            return False
    return name in PARSERS


@functools.cache
def parser_factory(name: str) -> Callable[[int], RequestParser]:
    """The parser class for ``name`` (``'auto'`` resolved); :class:`ValueError` for an unknown or
    unavailable one (the server checks the option at start-up, so a worker never meets that)."""
    if name == 'auto':
        name = 'httptools' if available('httptools') else 'h11'
    if name == 'h11':
        return H11Parser
    if name == 'httptools' and available(name):
        from ._httptools import HttptoolsParser

        return HttptoolsParser
    raise ValueError(f'HTTP/1.1 parser {name!r} is not available here (httptools needs granian[speedups])')
