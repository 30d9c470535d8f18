"""A WSGI app for the proxy-header end-to-end tests: the first path segment picks the wrapper."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from granian_proxies import wrap_wsgi_with_proxy_headers


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    keys = ('REMOTE_ADDR', 'wsgi.url_scheme', 'HTTP_HOST', 'SERVER_NAME', 'SERVER_PORT')
    body = json.dumps({key: environ.get(key) for key in keys}).encode()
    start_response('200 OK', [('content-type', 'application/json')])
    return [body]


ROUTES = {
    'trusted': wrap_wsgi_with_proxy_headers(echo, trusted_hosts='127.0.0.1'),
    'untrusted': wrap_wsgi_with_proxy_headers(echo, trusted_hosts='10.0.0.0/8'),
    'hosts': wrap_wsgi_with_proxy_headers(echo, trusted_hosts='127.0.0.0/8', forwarded_host=True),
    'rfc7239': wrap_wsgi_with_proxy_headers(echo, '127.0.0.1', forwarded=True, forwarded_host=True),
}


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    return ROUTES[environ['PATH_INFO'].split('/')[1]](environ, start_response)
