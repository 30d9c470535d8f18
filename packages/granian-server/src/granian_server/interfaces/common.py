"""Pieces every interface adapter shares: path decoding, the request log, protocol names."""

from __future__ import annotations

import time
from urllib.parse import unquote_to_bytes

from granian_http import Exchange

from ..log import AccessLogFormatter

__all__ = ['PROTOCOLS', 'RequestLog', 'decode_path', 'scope_server']

#: ``Exchange.http_version`` to the access log's ``protocol`` atom.
PROTOCOLS = {'1': 'HTTP/1.0', '1.1': 'HTTP/1.1', '2': 'HTTP/2.0', '3': 'HTTP/3'}


def decode_path(raw_path: bytes) -> str:
    """Percent-decode a request path, then decode it as UTF-8, replacing what is not UTF-8."""
    if 37 in raw_path:  # b'%': a byte search is cheaper than a substring search
        raw_path = unquote_to_bytes(raw_path)
    return raw_path.decode('utf-8', 'replace')


#: Our own addresses as ASGI scopes give them, ``(host, 'port')`` (upstream's string port): a
#: listener has one address, so every request shares one tuple instead of building a tuple and a
#: string each (time on every request, memory on every open WebSocket). Bounded, since a PROXY
#: protocol header names the address the proxy was reached at, which may vary.
_SERVER_SCOPES: dict[tuple[str, int], tuple[str, str]] = {}


def scope_server(server: tuple[str, int] | None) -> tuple[str, str] | None:
    """The ASGI scope's ``server`` for the exchange's ``server`` address."""
    if server is None:
        return None
    scoped = _SERVER_SCOPES.get(server)
    if scoped is None:
        if len(_SERVER_SCOPES) >= 64:
            _SERVER_SCOPES.clear()
        scoped = _SERVER_SCOPES[server] = (server[0], str(server[1]))
    return scoped


class RequestLog:
    """Times one request and hands it to the access-log formatter when it ends."""

    __slots__ = ('_formatter', '_perf', '_wall')

    def __init__(self, formatter: AccessLogFormatter) -> None:
        self._formatter = formatter
        self._wall = time.time()
        self._perf = time.perf_counter()

    def done(self, exchange: Exchange, status: int, path: str, query_string: str | bytes) -> None:
        client = exchange.client
        self._formatter(
            addr=client[0] if client else '',
            started_at=self._wall,
            dt_ms=(time.perf_counter() - self._perf) * 1000,
            status=status,
            method=exchange.method,
            path=path,
            query_string=query_string,
            scheme=exchange.scheme,
            protocol=PROTOCOLS.get(exchange.http_version, 'HTTP/1.1'),
            headers=exchange.headers,
        )
