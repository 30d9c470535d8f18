"""An RSGI app for the proxy-header end-to-end tests.

The server's target, ``app``, is itself a wrapper (RFC 7239 mode, trusting loopback) around a
dispatcher object with ``__rsgi__`` and ``__rsgi_init__``, so the tests also see whether the
server still finds the hooks through the wrapper. The dispatcher routes on the first path
segment to echo apps behind inner wrappers in ``X-Forwarded-*`` mode, which the outer wrapper
leaves alone (it reads only ``Forwarded``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from granian_proxies import wrap_rsgi_with_proxy_headers


class Echo:
    def __init__(self) -> None:
        self.initialised = False

    async def __call__(self, scope: Any, protocol: Any) -> None:
        body = {
            'client': scope.client,
            'scheme': scope.scheme,
            'server': scope.server,
            'host': scope.headers.get_all('host'),
            'path': scope.path,
            'initialised': self.initialised,
        }
        protocol.response_bytes(200, [('content-type', 'application/json')], json.dumps(body).encode())


ECHO = Echo()


class Dispatcher:
    routes = {
        'echo': ECHO,
        'trusted': wrap_rsgi_with_proxy_headers(ECHO, trusted_hosts='127.0.0.1, ::1'),
        'untrusted': wrap_rsgi_with_proxy_headers(ECHO, trusted_hosts=['10.0.0.0/8']),
        'hosts': wrap_rsgi_with_proxy_headers(ECHO, trusted_hosts='127.0.0.1', forwarded_host=True),
    }

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        ECHO.initialised = True

    async def __call__(self, scope: Any, protocol: Any) -> None:
        raise AssertionError('the server must call __rsgi__')

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        await self.routes[scope.path.split('/')[1]](scope, protocol)


app = wrap_rsgi_with_proxy_headers(Dispatcher(), '127.0.0.1', forwarded=True, forwarded_host=True)
