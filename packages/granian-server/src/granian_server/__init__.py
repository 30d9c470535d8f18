"""granian-server: the runtime of pure-Python Granian.

:class:`Server` (exported by the meta-package as ``granian.Granian``) validates the options, binds
the listener and supervises worker processes; each worker serves the app through the ASGI, RSGI
or WSGI interface on top of granian-http's protocols.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .server import Server

try:
    __version__ = version('granian-server')
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = '0.0.0'

MPServer = Server

__all__ = ['MPServer', 'Server', '__version__']
