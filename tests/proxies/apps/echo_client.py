"""An ASGI app for the proxy-header end-to-end tests.

The first path segment picks how the same echo app is wrapped, so one server process covers every
configuration. The echo answers with what the app saw: client, scheme, server, Host header, and
whether the lifespan scope reached it untouched; over a websocket it sends that as one message.
"""

from __future__ import annotations

import json
from typing import Any

from granian_proxies import wrap_asgi_with_proxy_headers


async def echo(scope: Any, receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            if message['type'] == 'lifespan.startup':
                # The wrapper must hand lifespan scopes over as they are: no client, no rewrite.
                scope['state']['lifespan_scope_keys'] = sorted(scope)
                await send({'type': 'lifespan.startup.complete'})
            elif message['type'] == 'lifespan.shutdown':
                await send({'type': 'lifespan.shutdown.complete'})
                return
    hosts = [value.decode('latin-1') for name, value in scope['headers'] if name == b'host']
    if scope['type'] == 'websocket':
        await receive()  # websocket.connect
        await send({'type': 'websocket.accept'})
        seen = {'client': list(scope['client']), 'scheme': scope['scheme'], 'host': hosts}
        await send({'type': 'websocket.send', 'text': json.dumps(seen)})
        await send({'type': 'websocket.close', 'code': 1000})
        return
    body = json.dumps(
        {
            'client': list(scope['client']),
            'scheme': scope['scheme'],
            'server': list(scope['server']),
            'host': hosts,
            'lifespan_scope_keys': scope['state'].get('lifespan_scope_keys'),
        }
    ).encode()
    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'application/json')]})
    await send({'type': 'http.response.body', 'body': body})


ROUTES = {
    # The test client connects from loopback, so this wrapper trusts it ...
    'trusted': wrap_asgi_with_proxy_headers(echo, trusted_hosts='127.0.0.1, ::1'),
    # ... and this one does not.
    'untrusted': wrap_asgi_with_proxy_headers(echo, trusted_hosts=['10.0.0.0/8', 'fd00::/8']),
    'trust-all': wrap_asgi_with_proxy_headers(echo, trusted_hosts='*'),
    'hosts': wrap_asgi_with_proxy_headers(echo, trusted_hosts='127.0.0.0/8, ::1', forwarded_host=True),
    'rfc7239': wrap_asgi_with_proxy_headers(echo, '127.0.0.0/8, ::1/128', forwarded=True, forwarded_host=True),
}


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        await ROUTES['trusted'](scope, receive, send)
        return
    await ROUTES[scope['path'].split('/')[1]](scope, receive, send)
