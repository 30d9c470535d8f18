"""granian-http: the protocol layer of pure-Python Granian.

HTTP/1.1 over h11 (:mod:`granian_http.http1`), HTTP/2 over h2 (:mod:`granian_http.http2`),
WebSockets over both (:mod:`granian_http.websocket`), protocol selection
(:mod:`granian_http.selection`), TLS (:mod:`granian_http.tls`), the per-request exchange contract
every interface consumes (:mod:`granian_http.exchange`), the shared per-worker state
(:mod:`granian_http.context`) and the protocol settings (:mod:`granian_http.settings`).

HTTP/2 (and protocol selection, which imports it) loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .context import ServeContext
from .exchange import ClientDisconnected, Exchange, ResponseStateError
from .http1 import HTTP1Connection
from .settings import HTTP1Settings, HTTP2Settings
from .tls import TLSConfig, TLSConfigError, TLSInfo
from .websocket import WebSocket, WebSocketClose, WebSocketClosed, WebSocketOffer

__all__ = [
    'ClientDisconnected',
    'Exchange',
    'HTTP1Connection',
    'HTTP1Settings',
    'HTTP2Connection',
    'HTTP2Settings',
    'ResponseStateError',
    'ServeContext',
    'TLSConfig',
    'TLSConfigError',
    'TLSInfo',
    'WebSocket',
    'WebSocketClose',
    'WebSocketClosed',
    'WebSocketOffer',
    'protocol_factory',
]

if TYPE_CHECKING:
    from .http2 import HTTP2Connection
    from .selection import protocol_factory

_LAZY = {'HTTP2Connection': 'http2', 'protocol_factory': 'selection'}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'.{module}', __name__), name)
