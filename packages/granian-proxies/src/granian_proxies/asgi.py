"""Proxy headers for ASGI apps: :func:`wrap_asgi_with_proxy_headers`.

As upstream: lifespan (and any other non-HTTP) scopes pass through; only a peer in
``trusted_hosts`` is listened to; the client becomes ``(host, 0)`` and ``scheme`` the forwarded
proto, mapped to ``ws``/``wss`` in websocket scopes; the wrapper is a plain function (made with
:func:`functools.wraps`) that returns the app's coroutine, so it adds no coroutine frame.

The scope is changed in place, as upstream does. With ``forwarded_host`` the header list is
replaced (never mutated: the server may share it) by one with the forwarded ``host``, and
``server`` becomes the forwarded host and port, the port typed like the server's own (a string in
Granian's scopes, an int under the ASGI spec).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._host import HostPort, default_port
from ._resolve import ForwardingHeaders, ProxyPolicy, Resolution, merge_host
from ._trust import TrustedHostsSpec

__all__ = ['ASGIApp', 'wrap_asgi_with_proxy_headers']

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HEADER_FIELDS = {
    b'x-forwarded-proto': 'forwarded_proto',
    b'x-forwarded-host': 'forwarded_host',
    b'x-forwarded-port': 'forwarded_port',
}


def _collect(raw_headers: Any) -> tuple[ForwardingHeaders, str | None]:
    """The forwarding headers and the first Host value of an ASGI header list."""
    headers = ForwardingHeaders()
    own_host: str | None = None
    for name, raw_value in raw_headers:
        if name == b'x-forwarded-for':
            value = bytes(raw_value).decode('latin-1').strip()
            if value:
                headers.forwarded_for.append(value)
        elif name == b'forwarded':
            headers.forwarded.append(bytes(raw_value).decode('latin-1'))
        elif name == b'host':
            if own_host is None:
                own_host = bytes(raw_value).decode('latin-1')
        elif name in _HEADER_FIELDS:
            attribute = _HEADER_FIELDS[name]
            if getattr(headers, attribute) is None:
                value = bytes(raw_value).decode('latin-1').strip()
                if value:
                    setattr(headers, attribute, value)
    return headers, own_host


def _with_host(raw_headers: Any, host: str) -> list[tuple[bytes, bytes]]:
    """A copy of the header list whose only ``host`` is ``host``, where the first one was."""
    value = host.encode('latin-1')
    rewritten: list[tuple[bytes, bytes]] = []
    placed = False
    for name, raw_value in raw_headers:
        if name == b'host':
            if not placed:
                rewritten.append((b'host', value))
                placed = True
            continue
        rewritten.append((name, raw_value))
    if not placed:
        rewritten.insert(0, (b'host', value))
    return rewritten


def _apply(scope: Scope, resolution: Resolution, own_host: str | None) -> None:
    if resolution.client is not None:
        scope['client'] = (resolution.client, resolution.client_port)
    proto = resolution.proto
    if proto is not None:
        if scope['type'] == 'websocket':
            proto = 'wss' if proto == 'https' else 'ws' if proto == 'http' else proto
        scope['scheme'] = proto
    host: HostPort | None = merge_host(resolution, own_host)
    if host is None:
        return
    scope['headers'] = _with_host(scope.get('headers') or (), host.header)
    port = host.port if host.port is not None else default_port(scope.get('scheme', 'http'))
    server = scope.get('server')
    scope['server'] = (host.name, str(port) if server is not None and isinstance(server[1], str) else port)


def wrap_asgi_with_proxy_headers(
    app: ASGIApp,
    trusted_hosts: TrustedHostsSpec = '127.0.0.1',
    *,
    forwarded: bool = False,
    forwarded_host: bool = False,
) -> ASGIApp:
    """Wrap ``app`` so that requests from ``trusted_hosts`` see the client their proxy reports.

    ``trusted_hosts``: ``'*'``, IPs, CIDR networks or literal names, as a list or a
    comma-separated string. ``forwarded=True`` reads RFC 7239 ``Forwarded`` instead of
    ``X-Forwarded-For``/``X-Forwarded-Proto``. ``forwarded_host=True`` also applies the forwarded
    host (``X-Forwarded-Host``/``X-Forwarded-Port``, or ``host=``) to the Host header and
    ``server``.
    """
    policy = ProxyPolicy(trusted_hosts, forwarded=forwarded, forwarded_host=forwarded_host)
    trusted = policy.trusted

    @functools.wraps(app)
    def wrapped(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope['type'] in ('http', 'websocket'):
            client = scope.get('client')
            if client and client[0] in trusted:
                headers, own_host = _collect(scope.get('headers') or ())
                resolution = policy.resolve(headers)
                if resolution is not None:
                    _apply(scope, resolution, own_host)
        return app(scope, receive, send)

    return wrapped
