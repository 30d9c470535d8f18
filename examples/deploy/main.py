"""The app every recipe of the deployment guide serves (``main:app``, from this directory).

docs/deployment.md runs it behind systemd, nginx, HAProxy, in a container and in Kubernetes, and
tests/deploy/ runs each recipe with it. What it answers:

- ``/healthz``: ``200 ok``, for Kubernetes probes and load-balancer health checks;
- ``/slow?seconds=N``: ``slow done`` after N seconds, to watch a graceful shutdown finish a request
  (it prints a line when it starts, so that one can tell the request is being served);
- any other path: what the app was told of the connection (client, scheme, HTTP version) as JSON,
  to check that a proxy in front passes the client on;
- a WebSocket on any path: that same JSON, then every message echoed back.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any
from urllib.parse import parse_qs

from granian.utils.proxies import wrap_asgi_with_proxy_headers


def _seen(scope: dict[str, Any]) -> str:
    return json.dumps(
        {
            'client': scope['client'],
            'scheme': scope['scheme'],
            'http_version': scope['http_version'],
            'path': scope['path'],
        }
    )


async def _lifespan(receive: Any, send: Any) -> None:
    # Nothing to set up or tear down: each worker sends startup, then shutdown when it stops.
    for phase in ('startup', 'shutdown'):
        message = await receive()
        assert message['type'] == f'lifespan.{phase}', message
        await send({'type': f'lifespan.{phase}.complete'})


async def _websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    await send({'type': 'websocket.accept'})
    await send({'type': 'websocket.send', 'text': _seen(scope)})
    while (message := await receive())['type'] == 'websocket.receive':
        if message.get('text') is not None:
            await send({'type': 'websocket.send', 'text': message['text']})
        else:
            await send({'type': 'websocket.send', 'bytes': message['bytes']})


async def _slow(scope: dict[str, Any]) -> tuple[int, bytes]:
    values = parse_qs(scope['query_string'].decode('latin-1')).get('seconds', [''])
    try:
        seconds = float(values[0])
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:  # not NaN, nor a wait that would outlast any deployment's patience
        return 400, b'give the delay as ?seconds=N, a number from 0 to 3600'
    # Printed, not logged: granian's logging configuration leaves the app's loggers alone, and
    # this line is what tells someone watching (and the tests) that the request is in flight.
    print(f'slow request: answering in {seconds:g} s', file=sys.stderr, flush=True)
    await asyncio.sleep(seconds)
    return 200, b'slow done'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        await _lifespan(receive, send)
        return
    if scope['type'] == 'websocket':
        await _websocket(scope, receive, send)
        return
    content_type = b'text/plain'
    if scope['path'] == '/healthz':
        status, body = 200, b'ok'
    elif scope['path'] == '/slow':
        status, body = await _slow(scope)
    else:
        status, body, content_type = 200, _seen(scope).encode(), b'application/json'
    await send({'type': 'http.response.start', 'status': status, 'headers': [(b'content-type', content_type)]})
    await send({'type': 'http.response.body', 'body': body})


# Behind a proxy that sends X-Forwarded-For and X-Forwarded-Proto (nginx, HAProxy in HTTP mode),
# the app sees the client and scheme the proxy saw. Only the proxy's own address is believed:
# anyone else could send those headers too.
app = wrap_asgi_with_proxy_headers(app, trusted_hosts='127.0.0.1')
