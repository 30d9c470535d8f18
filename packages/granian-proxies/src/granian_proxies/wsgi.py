"""Proxy headers for WSGI apps: :func:`wrap_wsgi_with_proxy_headers`.

As upstream: only a ``REMOTE_ADDR`` in ``trusted_hosts`` is listened to; ``REMOTE_ADDR`` becomes
the forwarded client and ``wsgi.url_scheme`` the forwarded proto when it is ``http`` or
``https``. With ``forwarded_host``, ``HTTP_HOST``, ``SERVER_NAME`` and ``SERVER_PORT`` follow the
forwarded host. The environ is changed in place (it belongs to this request alone).

A WSGI server joins repeated headers into one value, so several ``Forwarded`` lines reach us as
one; :mod:`._forwarded` contains the damage a malformed line can do within it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from ._host import default_port
from ._resolve import ForwardingHeaders, ProxyPolicy, merge_host
from ._trust import TrustedHostsSpec

__all__ = ['WSGIApp', 'wrap_wsgi_with_proxy_headers']

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_WSGI_PROTOS = ('http', 'https')


def _value(environ: Environ, key: str) -> str | None:
    value = environ.get(key)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _collect(environ: Environ) -> ForwardingHeaders:
    forwarded_for = _value(environ, 'HTTP_X_FORWARDED_FOR')
    forwarded = _value(environ, 'HTTP_FORWARDED')
    return ForwardingHeaders(
        forwarded_for=[forwarded_for] if forwarded_for else [],
        forwarded_proto=_value(environ, 'HTTP_X_FORWARDED_PROTO'),
        forwarded_host=_value(environ, 'HTTP_X_FORWARDED_HOST'),
        forwarded_port=_value(environ, 'HTTP_X_FORWARDED_PORT'),
        forwarded=[forwarded] if forwarded else [],
    )


def wrap_wsgi_with_proxy_headers(
    app: WSGIApp,
    trusted_hosts: TrustedHostsSpec = '127.0.0.1',
    *,
    forwarded: bool = False,
    forwarded_host: bool = False,
) -> WSGIApp:
    """Wrap ``app`` so that requests from ``trusted_hosts`` see the client their proxy reports.

    The options mean what they mean for :func:`granian_proxies.wrap_asgi_with_proxy_headers`.
    """
    policy = ProxyPolicy(trusted_hosts, forwarded=forwarded, forwarded_host=forwarded_host)
    trusted = policy.trusted

    @functools.wraps(app)
    def wrapped(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get('REMOTE_ADDR') in trusted:
            resolution = policy.resolve(_collect(environ))
            if resolution is not None:
                if resolution.client is not None:
                    environ['REMOTE_ADDR'] = resolution.client
                if resolution.proto in _WSGI_PROTOS:
                    environ['wsgi.url_scheme'] = resolution.proto
                host = merge_host(resolution, _value(environ, 'HTTP_HOST'))
                if host is not None:
                    environ['HTTP_HOST'] = host.header
                    environ['SERVER_NAME'] = host.name
                    port = host.port if host.port is not None else default_port(environ.get('wsgi.url_scheme', 'http'))
                    environ['SERVER_PORT'] = str(port)
        return app(environ, start_response)

    return wrapped
