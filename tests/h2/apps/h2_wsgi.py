"""A WSGI app for the HTTP/2 and TLS end-to-end tests: ``/scope`` as JSON, anything else echoed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ['PATH_INFO'] == '/scope':
        keys = ('SERVER_PROTOCOL', 'wsgi.url_scheme', 'HTTP_HOST', 'REQUEST_METHOD', 'QUERY_STRING')
        body = json.dumps({key: environ.get(key) for key in keys}).encode()
        start_response('200 OK', [('Content-Type', 'application/json')])
        return [body]
    body = environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return [body]
