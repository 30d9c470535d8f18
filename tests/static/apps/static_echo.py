"""The same tiny app for every interface: it answers ``app <METHOD> <path>`` so a test can tell a
request that reached the app from one the static mounts answered."""

from __future__ import annotations

from typing import Any


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            await send({'type': message['type'] + '.complete'})
            if message['type'] == 'lifespan.shutdown':
                return
    body = f'app {scope["method"]} {scope["path"]}'.encode()
    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
    await send({'type': 'http.response.body', 'body': body})


async def rsgi_app(scope: Any, protocol: Any) -> None:
    protocol.response_str(200, [('content-type', 'text/plain')], f'app {scope.method} {scope.path}')


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response('200 OK', [('content-type', 'text/plain')])
    return [f'app {environ["REQUEST_METHOD"]} {environ["PATH_INFO"]}'.encode('latin-1')]
