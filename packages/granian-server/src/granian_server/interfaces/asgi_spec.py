"""The ASGI surface we advertise: types, the version dicts, the extensions, and what a send to a
client that is gone raises.

We speak version 2.4 of the HTTP and WebSocket spec: once the client is gone, ``send`` raises an
:class:`OSError` subclass (``ClientDisconnected`` for HTTP, ``WebSocketClosed`` for a WebSocket,
both ``ConnectionError`` subclasses from the exchange contract) instead of dropping the message, and
``receive`` still reports the disconnect. Upstream advertises 2.3 and drops such sends (its
#650 and #922 ask for 2.4). The spec also asks a server not to log as an error the exception it
raised itself; frameworks let it out of the app, often wrapped (Starlette raises its own
``ClientDisconnect`` from it, Django re-raises it), so :func:`log_app_exception` looks through
the chain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from granian_http import ClientDisconnected, Exchange, WebSocketClosed

from ..log import logger

__all__ = [
    'ASGI_EXTENSIONS',
    'ASGI_VERSION',
    'LIFESPAN_VERSION',
    'ASGIApp',
    'Message',
    'Receive',
    'Scope',
    'Send',
    'http_extensions',
    'log_app_exception',
    'websocket_extensions',
    'with_host',
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Shared by every scope, as upstream does: one dict each, never rebuilt per request. ``version``
# is the ASGI core's; ``spec_version`` that of the sub-spec the scope belongs to: 2.4 of the HTTP
# and WebSocket spec (send raises OSError once the client is gone), and for the lifespan scope
# 2.0 of the lifespan spec (the one with the failed events), where upstream repeats its 2.3.
ASGI_VERSION = {'version': '3.0', 'spec_version': '2.4'}
LIFESPAN_VERSION = {'version': '3.0', 'spec_version': '2.0'}
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


def _raised_for_disconnect(exc: BaseException) -> bool:
    """True when ``exc`` is the error our ``send`` raised for a client that is gone, or carries it:
    as its cause or context (an exception raised while handling it) or inside an exception group."""
    pending = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:  # a context chain can loop back on itself
            continue
        seen.add(id(current))
        if isinstance(current, (ClientDisconnected, WebSocketClosed)):
            return True
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
        grouped = getattr(current, 'exceptions', None)  # an ExceptionGroup (anyio task groups)
        if isinstance(grouped, tuple):
            pending.extend(item for item in grouped if isinstance(item, BaseException))
    return False


def log_app_exception(exc: BaseException, gone: bool) -> None:
    """Log what the app raised: an error with its traceback, unless the client is gone (``gone``)
    and the exception is the one we raised for it, which is the app's way of stopping (spec 2.4
    says not to log it as an error) and only shows at debug level."""
    if gone and _raised_for_disconnect(exc):
        logger.debug('Application stopped: the client disconnected', exc_info=exc)
    else:
        logger.error('Application callable raised an exception', exc_info=exc)
