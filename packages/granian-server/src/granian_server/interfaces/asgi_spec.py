"""The ASGI surface we advertise: types, the version dict and the extensions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from granian_http import Exchange

__all__ = [
    'ASGI_EXTENSIONS',
    'ASGI_VERSION',
    'ASGIApp',
    'Message',
    'Receive',
    'Scope',
    'Send',
    'http_extensions',
    'websocket_extensions',
    'with_host',
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Shared by every scope, as upstream does: one dict each, never rebuilt per request.
ASGI_VERSION = {'version': '3.0', 'spec_version': '2.3'}
ASGI_EXTENSIONS: dict[str, dict[str, Any]] = {'http.response.pathsend': {}, 'websocket.http.response': {}}
# HTTP/2 adds early hints, and trailers when the client sent ``te: trailers`` (shared likewise).
_H2_EXTENSIONS: dict[str, dict[str, Any]] = {**ASGI_EXTENSIONS, 'http.response.early_hint': {}}
_H2_TRAILERS_EXTENSIONS: dict[str, dict[str, Any]] = {**_H2_EXTENSIONS, 'http.response.trailers': {}}


def http_extensions(exchange: Exchange) -> dict[str, dict[str, Any]]:
    """The ``extensions`` of an HTTP scope: only what this exchange can honour.

    A TLS connection adds ``tls`` (the ASGI TLS extension), a new dict per scope since its
    contents differ per connection.
    """
    if exchange.early_hints_allowed:  # a fresh exchange: true where the protocol sends 103s
        extensions = _H2_TRAILERS_EXTENSIONS if exchange.trailers_allowed else _H2_EXTENSIONS
    else:
        extensions = ASGI_EXTENSIONS
    tls = exchange.tls
    if tls is None:
        return extensions
    return {**extensions, 'tls': tls.asgi()}


def websocket_extensions(exchange: Exchange) -> dict[str, dict[str, Any]]:
    """The ``extensions`` of a WebSocket scope: the shared ones, plus ``tls`` when encrypted."""
    tls = exchange.tls
    return ASGI_EXTENSIONS if tls is None else {**ASGI_EXTENSIONS, 'tls': tls.asgi()}


def with_host(headers: list[tuple[bytes, bytes]], authority: str) -> list[tuple[bytes, bytes]]:
    """HTTP/2 carries the host in ``:authority``; upstream puts it first as ``host`` when absent."""
    for name, _ in headers:
        if name == b'host':
            return headers
    return [(b'host', authority.encode('latin-1')), *headers]
