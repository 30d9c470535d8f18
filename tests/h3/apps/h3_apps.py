"""RSGI and WSGI apps for the HTTP/3 end-to-end tests (the ASGI ones use ``tests/h2/apps/h2_asgi.py``).

Routes: ``/scope`` (what the interface reports, as JSON), ``/stream?n=&size=`` (a streamed body),
``/wait`` (RSGI: waits for the client to go and records it; ``/events`` lists what it recorded);
anything else echoes the request body with its SHA-256 in ``x-sha256``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

from granian.rsgi import HTTPProtocol, Scope

EVENTS: list[str] = []


def _query(text: str) -> dict[str, int]:
    return {key: int(values[0]) for key, values in parse_qs(text).items()}


async def rsgi(scope: Scope, protocol: HTTPProtocol) -> None:
    if scope.path == '/scope':
        info = {'http_version': scope.http_version, 'scheme': scope.scheme, 'authority': scope.authority}
        protocol.response_bytes(200, [('content-type', 'application/json')], json.dumps(info).encode())
    elif scope.path == '/stream':
        query = _query(scope.query_string)
        transport = protocol.response_stream(200, [('content-type', 'application/octet-stream')])
        for index in range(query.get('n', 10)):
            await transport.send_bytes(bytes((65 + index % 26,)) * query.get('size', 1024))
    elif scope.path == '/wait':
        EVENTS.append('waiting')
        await protocol.client_disconnect()
        EVENTS.append('disconnected')
    elif scope.path == '/events':
        protocol.response_bytes(200, [('content-type', 'application/json')], json.dumps(EVENTS).encode())
    else:
        body = await protocol()
        headers = [('x-sha256', hashlib.sha256(body).hexdigest())]
        protocol.response_bytes(200, headers, body)
    await asyncio.sleep(0)


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ['PATH_INFO']
    if path == '/scope':
        keys = ('SERVER_PROTOCOL', 'wsgi.url_scheme', 'HTTP_HOST', 'REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO')
        start_response('200 OK', [('Content-Type', 'application/json')])
        return [json.dumps({key: environ.get(key) for key in keys}).encode()]
    if path == '/stream':
        query = _query(environ['QUERY_STRING'])

        def chunks() -> Iterator[bytes]:
            for index in range(query.get('n', 10)):
                yield bytes((65 + index % 26,)) * query.get('size', 1024)

        start_response('200 OK', [('Content-Type', 'application/octet-stream')])
        return chunks()
    body = environ['wsgi.input'].read()
    digest = hashlib.sha256(body).hexdigest()
    start_response('200 OK', [('Content-Type', 'application/octet-stream'), ('x-sha256', digest)])
    return [body]
