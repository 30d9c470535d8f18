"""The WSGI twin of headers_asgi: ``?set=name:value`` headers on a plain response."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    headers = [('content-type', 'text/plain')]
    for key, value in parse_qsl(environ.get('QUERY_STRING', '')):
        if key == 'set':
            name, _, field_value = value.partition(':')
            headers.append((name, field_value))
    start_response('200 OK', headers)
    return [b'ok']
