"""granian-http: the protocol layer of pure-Python Granian.

Everything a server needs from this package is importable from here; the modules and subpackages
behind it are the implementation. The map (``ARCHITECTURE.md`` at the repository root has the
whole picture):

* :mod:`.exchange`: the contract, one :class:`Exchange` per request, the only thing interfaces use;
* ``_core`` and ``_state``: the exchange core every protocol builds on, and its response states;
* :mod:`.h1`, :mod:`.h2`, :mod:`.h3`, :mod:`.ws`: HTTP/1.1, HTTP/2, HTTP/3 and WebSockets, each
  behind its ``__init__``;
* :mod:`.selection`: choosing the protocol of a new connection; :mod:`.context`: what a worker's
  connections share; :mod:`.settings`, :mod:`.tls`; :mod:`.transport`: what we use of asyncio
  transports; :mod:`.fields`: response field checks;
* :mod:`.proxy_protocol`: the PROXY protocol reader in front of selection, and
  :mod:`.proxy_header`: its sans-IO header parser.

HTTP/2 (and protocol selection, which imports it on demand, and the PROXY protocol reader above it)
loads on first use; so does HTTP/3, which needs the ``http3`` extra (aioquic): without it, its
names raise ``ImportError`` when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .context import ServeContext
from .exchange import ClientDisconnected, Exchange, Headers, ResponseStateError
from .h1 import PARSERS as HTTP1_PARSERS
from .h1 import HTTP1Connection
from .h1 import parser_available as http1_parser_available
from .proxy_header import ProxyHeader, ProxyHeaderError, ProxyHeaderParser
from .settings import HTTP3_LIMITS, HTTP1Settings, HTTP2Settings, HTTP3Settings, WebSocketSettings
from .tls import TLSConfig, TLSConfigError, TLSInfo, alpn_protocols, check_crl_files, load_tls
from .ws import WebSocket, WebSocketClose, WebSocketClosed, WebSocketOffer

__all__ = [
    'HTTP1_PARSERS',
    'HTTP3_LIMITS',
    'ClientDisconnected',
    'Exchange',
    'HTTP1Connection',
    'HTTP1Settings',
    'HTTP2Connection',
    'HTTP2Settings',
    'HTTP3Server',
    'HTTP3Settings',
    'Headers',
    'ProxyHeader',
    'ProxyHeaderError',
    'ProxyHeaderParser',
    'ResponseStateError',
    'ServeContext',
    'TLSConfig',
    'TLSConfigError',
    'TLSInfo',
    'WebSocket',
    'WebSocketClose',
    'WebSocketClosed',
    'WebSocketOffer',
    'WebSocketSettings',
    'alpn_protocols',
    'alt_svc',
    'check_crl_files',
    'http1_parser_available',
    'load_tls',
    'protocol_factory',
    'proxy_protocol_factory',
    'quic_configuration',
    'serve_http3',
]

if TYPE_CHECKING:
    from .h2 import HTTP2Connection
    from .h3 import HTTP3Server, alt_svc, quic_configuration, serve_http3
    from .proxy_protocol import proxy_protocol_factory
    from .selection import protocol_factory

_LAZY = {
    'HTTP2Connection': 'h2',
    'protocol_factory': 'selection',
    'proxy_protocol_factory': 'proxy_protocol',
    'HTTP3Server': 'h3',
    'alt_svc': 'h3',
    'quic_configuration': 'h3',
    'serve_http3': 'h3',
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'.{module}', __name__), name)
