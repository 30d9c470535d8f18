"""Granian, the HTTP server for ASGI, RSGI and WSGI apps, in pure Python.

This package only composes the others at upstream Granian's import paths: ``granian.Granian``,
``granian.loops``, ``granian.constants``, ``granian.http``, ``granian.log``, ``granian.rsgi``,
``granian.cli``, ``granian.server``, ``granian.server.embed``, ``granian.utils.proxies``.

``Granian`` is imported on first use, so ``python -m granian --help`` stays quick.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from granian_server.loops import loops as loops

if TYPE_CHECKING:
    from granian_server.server import Server as Granian

try:
    __version__ = version('granian')
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = '0.0.0'

__all__ = ['Granian', '__version__', 'loops']


def __getattr__(name: str) -> Any:
    if name == 'Granian':
        from granian_server.server import Server

        return Server
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
