"""What an RSGI application is, and the optional hooks a server calls on it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Protocol, TypeAlias, runtime_checkable

from ._http import HTTPProtocol
from ._scope import Scope
from ._websocket import WebsocketProtocol

__all__ = ['RSGIApp', 'RSGIAppObject', 'RSGIDel', 'RSGIInit', 'RSGIProtocol']

#: The protocol object an app receives: :class:`HTTPProtocol` when ``scope.proto == 'http'``,
#: :class:`WebsocketProtocol` when it is ``'ws'``.
RSGIProtocol: TypeAlias = HTTPProtocol | WebsocketProtocol


@runtime_checkable
class RSGIApp(Protocol):
    """An RSGI application: an async callable the server calls once per request or websocket."""

    def __call__(self, scope: Scope, protocol: RSGIProtocol) -> Awaitable[None]: ...


@runtime_checkable
class RSGIAppObject(Protocol):
    """An object whose ``__rsgi__`` the server calls instead of ``__call__``.

    This lets one object serve both ASGI (through ``__call__``) and RSGI.
    """

    def __rsgi__(self, scope: Scope, protocol: RSGIProtocol) -> Awaitable[None]: ...


@runtime_checkable
class RSGIInit(Protocol):
    """An app with a start-up hook."""

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called once per worker, before it serves, with the worker's loop.

        The loop is not running yet, so the hook may call ``loop.run_until_complete(...)`` to set
        up async resources (connection pools and the like).
        """
        ...


@runtime_checkable
class RSGIDel(Protocol):
    """An app with a shutdown hook."""

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called once per worker after it stopped serving, with the worker's loop (not running)."""
        ...
