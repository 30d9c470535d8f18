"""The scope: what the server tells the app about one request or websocket connection."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._headers import Headers

__all__ = ['Scope']


@runtime_checkable
class Scope(Protocol):
    """The request's metadata, as read-only attributes (not a dict, unlike ASGI).

    One type serves both kinds of call: :attr:`proto` tells an HTTP request (``'http'``) from a
    websocket connection (``'ws'``); every other attribute means the same in both.
    """

    __slots__ = ()

    @property
    def proto(self) -> str:
        """``'http'`` for an HTTP request, ``'ws'`` for a websocket connection."""
        ...

    @property
    def rsgi_version(self) -> str:
        """The RSGI version the server implements, e.g. ``'1.6'``."""
        ...

    @property
    def http_version(self) -> str:
        """``'1'`` (HTTP/1.0), ``'1.1'``, ``'2'`` (or ``'3'``)."""
        ...

    @property
    def server(self) -> str:
        """The local address as ``'ip:port'``; IPv6 addresses are bracketed (``'[::1]:8000'``)."""
        ...

    @property
    def client(self) -> str:
        """The peer's address as ``'ip:port'``; IPv6 addresses are bracketed."""
        ...

    @property
    def scheme(self) -> str:
        """``'http'`` or ``'https'`` (also for websockets: never ``'ws'``/``'wss'``)."""
        ...

    @property
    def method(self) -> str:
        """The upper-case request method (``'GET'`` for a websocket)."""
        ...

    @property
    def path(self) -> str:
        """The request path, percent-decoded, then decoded as UTF-8 (invalid bytes replaced)."""
        ...

    @property
    def query_string(self) -> str:
        """The raw query string after ``?``, not decoded; ``''`` when there is none."""
        ...

    @property
    def authority(self) -> str | None:
        """HTTP/2's ``:authority`` pseudo-header; ``None`` on HTTP/1.x (RSGI 1.3)."""
        ...

    @property
    def headers(self) -> Headers:
        """The request headers."""
        ...
