"""The RSGI twin of headers_asgi: ``?set=name:value`` headers on a plain response."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl


async def app(scope: Any, protocol: Any) -> None:
    headers = [('content-type', 'text/plain')]
    for key, value in parse_qsl(scope.query_string):
        if key == 'set':
            name, _, field_value = value.partition(':')
            headers.append((name, field_value))
    protocol.response_str(200, headers, 'ok')
