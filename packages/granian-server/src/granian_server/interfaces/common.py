"""Pieces every interface adapter shares: path decoding, the end of a request (the access log and the
duration histogram), protocol names."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable
from time import perf_counter
from urllib.parse import unquote_to_bytes

from granian_http import Exchange

from ..log import AccessLogFormatter
from ..metrics import DURATION_BUCKETS, Durations

__all__ = ['PROTOCOLS', 'RequestDone', 'RequestLog', 'decode_path', 'request_done', 'scope_server']

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


#: Called once a request's response is complete: ``(exchange, started, status, path, query_string)``,
#: ``started`` being the ``perf_counter()`` the adapter read when the request reached it.
RequestDone = Callable[[Exchange, float, int, str, 'str | bytes'], None]


def _log(
    formatter: AccessLogFormatter,
    exchange: Exchange,
    elapsed: float,
    status: int,
    path: str,
    query_string: str | bytes,
) -> None:
    client = exchange.client
    formatter(
        addr=client[0] if client else '',
        # Its start on the wall clock, read now rather than at the start: one clock read less on
        # the way in, where the histogram needs none.
        started_at=time.time() - elapsed,
        dt_ms=elapsed * 1000,
        status=status,
        method=exchange.method,
        path=path,
        query_string=query_string,
        scheme=exchange.scheme,
        protocol=PROTOCOLS.get(exchange.http_version, 'HTTP/1.1'),
        headers=exchange.headers,
    )


def request_done(formatter: AccessLogFormatter | None, durations: Durations | None) -> RequestDone | None:
    """What an adapter calls at the end of each HTTP request, or None when neither the access log
    nor the metrics want to know (the adapter then reads no clock at all).

    A plain function, not an object per request: with the histogram alone, a request costs two
    ``perf_counter()`` reads, this call and a bisection. One reading at each end serves both the log
    and the histogram.
    """
    if durations is None:
        if formatter is None:
            return None

        def logged(exchange: Exchange, started: float, status: int, path: str, query_string: str | bytes) -> None:
            _log(formatter, exchange, perf_counter() - started, status, path, query_string)

        return logged
    counts = durations.counts

    def counted(exchange: Exchange, started: float, status: int, path: str, query_string: str | bytes) -> None:
        elapsed = perf_counter() - started
        # Counted here rather than through a method of Durations (one Python call less per
        # request): the bucket is the first bound at or above the duration, or the last past all.
        counts[bisect_left(DURATION_BUCKETS, elapsed)] += 1
        durations.total += elapsed
        if formatter is not None:
            _log(formatter, exchange, elapsed, status, path, query_string)

    return counted


class RequestLog:
    """Times a WebSocket handshake for the access log (sessions are not in the duration histogram:
    see :class:`~granian_server.metrics.Durations`)."""

    __slots__ = ('_formatter', '_perf')

    def __init__(self, formatter: AccessLogFormatter) -> None:
        self._formatter = formatter
        self._perf = perf_counter()

    def done(self, exchange: Exchange, status: int, path: str, query_string: str | bytes) -> None:
        _log(self._formatter, exchange, perf_counter() - self._perf, status, path, query_string)
