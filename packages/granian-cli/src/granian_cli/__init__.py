"""granian-cli: the ``granian`` command line of pure-Python Granian.

``granian [OPTIONS] APP`` takes every upstream option, each also read from a ``GRANIAN_<NAME>``
environment variable, builds the server and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

from .command import cli, entrypoint
from .types import Duration, EnumType, HeaderType, OctalIntType

__all__ = ['Duration', 'EnumType', 'HeaderType', 'OctalIntType', 'cli', 'entrypoint']
