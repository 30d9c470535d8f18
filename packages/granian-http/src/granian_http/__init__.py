"""granian-http: the protocol layer of pure-Python Granian.

HTTP/1.1 over h11 (:mod:`granian_http.http1`), the per-request exchange contract every interface
consumes (:mod:`granian_http.exchange`), the shared per-worker state (:mod:`granian_http.context`)
and the protocol settings (:mod:`granian_http.settings`).
"""

from __future__ import annotations

from .context import ServeContext
from .exchange import ClientDisconnected, Exchange, ResponseStateError
from .http1 import HTTP1Connection
from .settings import HTTP1Settings, HTTP2Settings

__all__ = [
    'ClientDisconnected',
    'Exchange',
    'HTTP1Connection',
    'HTTP1Settings',
    'HTTP2Settings',
    'ResponseStateError',
    'ServeContext',
]
