"""Proxy headers for RSGI apps: :func:`wrap_rsgi_with_proxy_headers` (upstream has none).

RSGI scopes are read-only objects, so a trusted request's app gets a :class:`ForwardedScope`: the
same attributes, with ``client`` (``'ip:port'``, IPv6 in brackets; the port is 0 unless a
``Forwarded`` node gave one) and ``scheme`` rewritten, and with ``forwarded_host`` also
``server``, ``authority`` (when the request had one) and the ``host`` header. RSGI's ``scheme`` is
``http``/``https`` even for websockets, so a forwarded ``ws``/``wss`` maps to ``http``/``https``.
Requests from other peers get the server's own scope object, untouched.

The wrapper keeps the app's hooks: it calls the app's ``__rsgi__`` when it has one, and forwards
``__rsgi_init__``/``__rsgi_del__``, so the server treats it as it would the app.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar, overload

from ._host import HostPort, default_port, format_hostport
from ._resolve import ForwardingHeaders, ProxyPolicy, Resolution, merge_host
from ._trust import TrustedHostsSpec

__all__ = ['ForwardedScope', 'RSGIProxyHeaders', 'wrap_rsgi_with_proxy_headers']

_T = TypeVar('_T')

RSGIApp = Callable[[Any, Any], Awaitable[Any]]

_RSGI_SCHEMES = {'http': 'http', 'https': 'https', 'ws': 'http', 'wss': 'https'}


class _Headers(Protocol):
    """The part of RSGI's ``Headers`` this module relies on (see granian_rsgi_spec.Headers)."""

    def keys(self) -> list[str]: ...
    def items(self) -> list[tuple[str, str]]: ...
    def get(self, key: str, default: Any = None) -> Any: ...
    def get_all(self, key: str) -> list[str]: ...
    def __contains__(self, key: object) -> bool: ...
    def __getitem__(self, key: str) -> str: ...


def split_hostport(address: str) -> tuple[str, str]:
    """``('ip', 'port')`` from an RSGI ``'ip:port'`` (``'[v6]:port'``); no port gives ``''``."""
    if address.startswith('['):
        close = address.find(']')
        if close > 0:
            return address[1:close], address[close + 2 :]
    if address.count(':') == 1:
        host, _, port = address.partition(':')
        return host, port
    return address, ''


class HostOverrideHeaders:
    """RSGI request headers with ``host`` replaced by a single forwarded value."""

    __slots__ = ('_headers', '_host')

    def __init__(self, headers: _Headers, host: str) -> None:
        self._headers = headers
        self._host = host

    def keys(self) -> list[str]:
        keys = self._headers.keys()
        return keys if 'host' in keys else ['host', *keys]

    def items(self) -> list[tuple[str, str]]:
        items: list[tuple[str, str]] = []
        placed = False
        for name, value in self._headers.items():
            if name == 'host':
                if not placed:
                    items.append(('host', self._host))
                    placed = True
                continue
            items.append((name, value))
        return items if placed else [('host', self._host), *items]

    def values(self) -> list[str]:
        return [value for _, value in self.items()]

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: _T) -> str | _T: ...

    def get(self, key: str, default: object = None) -> object:
        if key.lower() == 'host':
            return self._host
        return self._headers.get(key, default)

    def get_all(self, key: str) -> list[str]:
        if key.lower() == 'host':
            return [self._host]
        return self._headers.get_all(key)

    def __getitem__(self, key: str) -> str:
        if key.lower() == 'host':
            return self._host
        return self._headers[key]

    def __contains__(self, key: object) -> bool:
        return (isinstance(key, str) and key.lower() == 'host') or key in self._headers

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.items()!r})'


class ForwardedScope:
    """A read-only stand-in for an RSGI scope with the forwarded values; the rest is delegated."""

    __slots__ = ('_scope', 'authority', 'client', 'headers', 'scheme', 'server')

    _scope: Any
    authority: str | None
    client: str
    headers: Any
    scheme: str
    server: str

    def __init__(
        self, scope: Any, *, client: str, scheme: str, server: str, headers: Any, authority: str | None
    ) -> None:
        setter = object.__setattr__
        setter(self, '_scope', scope)
        setter(self, 'client', client)
        setter(self, 'scheme', scheme)
        setter(self, 'server', server)
        setter(self, 'headers', headers)
        setter(self, 'authority', authority)

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not overridden above: proto, method, path, ...
        return getattr(self._scope, name)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f'{type(self).__name__} attributes are read-only')

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f'{type(self).__name__} attributes are read-only')

    def __repr__(self) -> str:
        return f'{type(self).__name__}(client={self.client!r}, scheme={self.scheme!r}, of={self._scope!r})'


def _forwarded_scope(scope: Any, resolution: Resolution) -> ForwardedScope:
    client: str = scope.client
    if resolution.client is not None:
        client = format_hostport(resolution.client, resolution.client_port)
    scheme: str = scope.scheme
    if resolution.proto is not None:
        scheme = _RSGI_SCHEMES[resolution.proto]
    server: str = scope.server
    headers: Any = scope.headers
    authority: str | None = scope.authority
    host: HostPort | None = None
    if resolution.host is not None or resolution.port is not None:
        host = merge_host(resolution, headers.get('host') or authority)
    if host is not None:
        port = host.port if host.port is not None else default_port(scheme)
        server = format_hostport(host.name, port)
        headers = HostOverrideHeaders(headers, host.header)
        if authority is not None:
            authority = host.header
    return ForwardedScope(scope, client=client, scheme=scheme, server=server, headers=headers, authority=authority)


def _collect(headers: _Headers) -> ForwardingHeaders:
    def first(name: str) -> str | None:
        for value in headers.get_all(name):
            value = value.strip()
            if value:
                return value
        return None

    return ForwardingHeaders(
        forwarded_for=[value.strip() for value in headers.get_all('x-forwarded-for') if value.strip()],
        forwarded_proto=first('x-forwarded-proto'),
        forwarded_host=first('x-forwarded-host'),
        forwarded_port=first('x-forwarded-port'),
        forwarded=headers.get_all('forwarded'),
    )


class RSGIProxyHeaders:
    """The RSGI app returned by :func:`wrap_rsgi_with_proxy_headers`."""

    def __init__(self, app: Any, policy: ProxyPolicy) -> None:
        functools.update_wrapper(self, app, updated=())
        #: The wrapped app, whose hooks this object forwards.
        self.app = app
        self.policy = policy
        self._call: RSGIApp = getattr(app, '__rsgi__', app)

    def __call__(self, scope: Any, protocol: Any) -> Awaitable[Any]:
        if split_hostport(scope.client)[0] in self.policy.trusted:
            resolution = self.policy.resolve(_collect(scope.headers))
            if resolution is not None:
                scope = _forwarded_scope(scope, resolution)
        return self._call(scope, protocol)

    __rsgi__ = __call__

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        hook = getattr(self.app, '__rsgi_init__', None)
        if hook is not None:
            hook(loop)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        hook = getattr(self.app, '__rsgi_del__', None)
        if hook is not None:
            hook(loop)


def wrap_rsgi_with_proxy_headers(
    app: Any,
    trusted_hosts: TrustedHostsSpec = '127.0.0.1',
    *,
    forwarded: bool = False,
    forwarded_host: bool = False,
) -> RSGIProxyHeaders:
    """Wrap the RSGI ``app`` so that requests from ``trusted_hosts`` see the client their proxy
    reports.

    The options mean what they mean for :func:`granian_proxies.wrap_asgi_with_proxy_headers`.
    """
    return RSGIProxyHeaders(app, ProxyPolicy(trusted_hosts, forwarded=forwarded, forwarded_host=forwarded_host))
