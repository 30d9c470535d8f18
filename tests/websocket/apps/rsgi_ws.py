"""RSGI websocket handlers by path, for tests/websocket/test_rsgi_websockets.py and Autobahn."""

from __future__ import annotations

import json
from typing import Any

from granian.rsgi import ProtocolClosed, ProtocolError, WebsocketMessageType

OBSERVED: dict[str, Any] = {}


async def echo(protocol: Any) -> None:
    transport = await protocol.accept()
    while True:
        message = await transport.receive()
        if message.kind == WebsocketMessageType.close:
            OBSERVED['echo_close'] = 'close'
            return
        if message.kind == WebsocketMessageType.string:
            await transport.send_str(message.data)
        else:
            await transport.send_bytes(message.data)


async def app(scope: Any, protocol: Any) -> None:
    if scope.proto == 'http':
        protocol.response_str(200, [('content-type', 'application/json')], json.dumps(OBSERVED.get(scope.path[1:])))
        return
    path = scope.path
    if path in ('/', '/echo'):
        await echo(protocol)
    elif path == '/scope':
        transport = await protocol.accept()
        view = {
            'proto': scope.proto,
            'scheme': scope.scheme,
            'method': scope.method,
            'path': scope.path,
            'query_string': scope.query_string,
            'http_version': scope.http_version,
            'rsgi_version': scope.rsgi_version,
            'upgrade': scope.headers.get('upgrade'),
        }
        await transport.send_str(json.dumps(view))
        protocol.close()
    elif path == '/reject':
        protocol.close(403)
    elif path == '/reject-401':
        protocol.close(401)
    elif path == '/return':
        return
    elif path == '/errors':
        transport = await protocol.accept()
        errors = {}
        protocol.close()
        try:
            await transport.send_str('late')
        except ProtocolError:
            errors['send_after_close'] = 'ProtocolError'
        OBSERVED['errors'] = errors
    elif path == '/broken':
        transport = await protocol.accept()
        try:
            while True:
                await transport.receive()
        except ProtocolClosed:
            OBSERVED['broken'] = 'ProtocolClosed'
    elif path == '/raise':
        await protocol.accept()
        raise RuntimeError('failing mid-socket')
