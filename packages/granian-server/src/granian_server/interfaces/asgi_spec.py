"""The ASGI surface we advertise: types, the version dict and the extensions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ['ASGI_EXTENSIONS', 'ASGI_VERSION', 'ASGIApp', 'Message', 'Receive', 'Scope', 'Send']

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Shared by every scope, as upstream does: one dict each, never rebuilt per request.
ASGI_VERSION = {'version': '3.0', 'spec_version': '2.3'}
ASGI_EXTENSIONS: dict[str, dict[str, Any]] = {'http.response.pathsend': {}, 'websocket.http.response': {}}
