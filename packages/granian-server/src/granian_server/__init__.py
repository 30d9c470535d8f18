"""granian-server: the runtime of pure-Python Granian.

:class:`Server` (exported by the meta-package as ``granian.Granian``) validates the options, binds
the listener and supervises worker processes; each worker serves the app through the ASGI, RSGI
or WSGI interface on top of granian-http's protocols.

``Server`` is imported on first use, so that importing a light module of this package (the
constants, for ``granian --help``) does not load the protocol stack.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Server

    MPServer = Server

try:
    __version__ = version('granian-server')
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = '0.0.0'

__all__ = ['MPServer', 'Server', '__version__']


def __getattr__(name: str) -> Any:
    if name in ('Server', 'MPServer'):
        from .server import Server

        return Server
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
