"""Shared pieces of the granian-proxies tests: RSGI stand-ins and one request through any wrapper.

The RSGI classes behave as the server's do (read-only scope attributes, multi-valued lower-case
headers; see granian_rsgi_spec), so the RSGI wrapper is tested against that contract until the
RSGI interface can serve it end to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from granian_proxies import (
    wrap_asgi_with_proxy_headers,
    wrap_rsgi_with_proxy_headers,
    wrap_wsgi_with_proxy_headers,
)


class FakeRSGIHeaders:
    """RSGI request headers: lower-case names, values kept per name in arrival order."""

    __slots__ = ('_pairs',)

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = [(name.lower(), value) for name, value in pairs]

    def keys(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self._pairs))

    def items(self) -> list[tuple[str, str]]:
        return [(name, value) for key in self.keys() for name, value in self._pairs if name == key]

    def values(self) -> list[str]:
        return [value for _, value in self.items()]

    def get(self, key: str, default: Any = None) -> Any:
        values = self.get_all(key)
        return values[0] if values else default

    def get_all(self, key: str) -> list[str]:
        return [value for name, value in self._pairs if name == key]

    def __getitem__(self, key: str) -> str:
        values = self.get_all(key)
        if not values:
            raise KeyError(key)
        return values[0]

    def __contains__(self, key: object) -> bool:
        return any(name == key for name, _ in self._pairs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())


@dataclass(frozen=True)
class FakeRSGIScope:
    """A read-only RSGI scope, as the server hands one to the app."""

    client: str
    headers: FakeRSGIHeaders
    proto: str = 'http'
    scheme: str = 'http'
    server: str = '127.0.0.1:8000'
    authority: str | None = None
    method: str = 'GET'
    path: str = '/'
    query_string: str = ''
    http_version: str = '1.1'
    rsgi_version: str = '1.6'


def run(awaitable: Any) -> Any:
    async def main() -> Any:
        return await awaitable

    return asyncio.run(main())


@dataclass
class Seen:
    """What the app saw, in interface-neutral terms."""

    client: str  # the client host, no port
    scheme: str
    host: str | None  # the Host header


def through_asgi(peer: str, headers: Sequence[tuple[str, str]], trusted: Any, **options: Any) -> Seen:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope = {
        'type': 'http',
        'client': (peer, '54321'),
        'server': ('127.0.0.1', '8000'),
        'scheme': 'http',
        'headers': [(name.lower().encode('latin-1'), value.encode('latin-1')) for name, value in headers],
    }
    run(wrap_asgi_with_proxy_headers(app, trusted, **options)(scope, None, None))  # type: ignore[arg-type]
    hosts = [value.decode('latin-1') for name, value in seen[0]['headers'] if name == b'host']
    return Seen(seen[0]['client'][0], seen[0]['scheme'], hosts[0] if hosts else None)


def through_wsgi(peer: str, headers: Sequence[tuple[str, str]], trusted: Any, **options: Any) -> Seen:
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ)
        return []

    environ: dict[str, Any] = {'REMOTE_ADDR': peer, 'wsgi.url_scheme': 'http', 'SERVER_NAME': '127.0.0.1'}
    for name, value in headers:
        key = 'HTTP_' + name.upper().replace('-', '_')
        # As a WSGI server does: repeated headers are joined with ','.
        environ[key] = f'{environ[key]},{value}' if key in environ else value
    wrap_wsgi_with_proxy_headers(app, trusted, **options)(environ, None)  # type: ignore[arg-type]
    return Seen(seen[0]['REMOTE_ADDR'], seen[0]['wsgi.url_scheme'], seen[0].get('HTTP_HOST'))


def split_rsgi_client(client: str) -> str:
    if client.startswith('['):
        return client[1 : client.index(']')]
    return client.rpartition(':')[0]


def through_rsgi(peer: str, headers: Sequence[tuple[str, str]], trusted: Any, **options: Any) -> Seen:
    seen: list[Any] = []

    async def app(scope: Any, protocol: Any) -> None:
        seen.append(scope)

    client = f'[{peer}]:54321' if ':' in peer else f'{peer}:54321'
    scope = FakeRSGIScope(client=client, headers=FakeRSGIHeaders(headers))
    run(wrap_rsgi_with_proxy_headers(app, trusted, **options)(scope, None))
    return Seen(split_rsgi_client(seen[0].client), seen[0].scheme, seen[0].headers.get('host'))


Through = Callable[..., Seen]


@pytest.fixture(params=['asgi', 'wsgi', 'rsgi'])
def through(request: pytest.FixtureRequest) -> Through:
    """Send one request's peer and headers through the given interface's wrapper."""
    return {'asgi': through_asgi, 'wsgi': through_wsgi, 'rsgi': through_rsgi}[request.param]


@pytest.fixture
def make_rsgi_scope() -> Callable[..., FakeRSGIScope]:
    """Build a read-only RSGI scope: ``make_rsgi_scope(client, headers, **other_attributes)``."""

    def make(client: str, headers: Sequence[tuple[str, str]] = (), **attributes: Any) -> FakeRSGIScope:
        return FakeRSGIScope(client=client, headers=FakeRSGIHeaders(headers), **attributes)

    return make
