"""The WSGI app of the benchmark: the same routes and bodies as asgi_app.

``/b`` a short body, ``/b10k`` 10 KiB, ``/echo`` the request body (``wsgi.input`` read for its
Content-Length) sent back. Responses are one-item lists with a Content-Length, so every server
writes a plain body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

SHORT_BODY = b'Hello, world!'
BODY_10K = b'x' * 10240

_TEXT = ('Content-Type', 'text/plain; charset=utf-8')
_SHORT_HEADERS = [_TEXT, ('Content-Length', str(len(SHORT_BODY)))]
_10K_HEADERS = [_TEXT, ('Content-Length', str(len(BODY_10K)))]
_NOT_FOUND_HEADERS = [_TEXT, ('Content-Length', '9')]

StartResponse = Callable[..., Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ['PATH_INFO']
    if path == '/b':
        start_response('200 OK', _SHORT_HEADERS)
        return [SHORT_BODY]
    if path == '/b10k':
        start_response('200 OK', _10K_HEADERS)
        return [BODY_10K]
    if path == '/echo':
        body = environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))
        start_response('200 OK', [_TEXT, ('Content-Length', str(len(body)))])
        return [body]
    start_response('404 Not Found', _NOT_FOUND_HEADERS)
    return [b'not found']
