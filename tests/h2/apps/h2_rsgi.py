"""An RSGI app for the HTTP/2 and TLS end-to-end tests: ``/scope`` as JSON, anything else echoed."""

from __future__ import annotations

import json

from granian.rsgi import HTTPProtocol, Scope


async def app(scope: Scope, protocol: HTTPProtocol) -> None:
    if scope.path == '/scope':
        info = {
            'http_version': scope.http_version,
            'scheme': scope.scheme,
            'authority': scope.authority,
            'method': scope.method,
            'headers': sorted(scope.headers.keys()),
        }
        protocol.response_bytes(200, [('content-type', 'application/json')], json.dumps(info).encode())
        return
    body = await protocol()
    protocol.response_bytes(200, [('content-type', 'application/octet-stream')], body)
