"""An RSGI app that exercises every HTTP protocol call, routed by path.

What cannot travel in a response (an error raised after the response went out, a disconnect seen
later) is kept in ``OBSERVED`` and read back through ``/observed?key=...``; the server runs one
worker, so every request sees the same dict.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs

from granian.rsgi import HTTPProtocol, ProtocolClosed, ProtocolError, Scope

OBSERVED: dict[str, Any] = {}
#: Bounds /send-until-closed should sending never wait for the client.
SEND_CAP_MIB = 256
JSON = [('content-type', 'application/json')]


def _json(protocol: HTTPProtocol, data: Any, status: int = 200) -> None:
    protocol.response_bytes(status, JSON, json.dumps(data).encode())


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        'type': type(exc).__name__,
        'message': str(exc),
        'is_protocol_error': isinstance(exc, ProtocolError),
        'is_protocol_closed': isinstance(exc, ProtocolClosed),
        'is_runtime_error': isinstance(exc, RuntimeError),
    }


def _query(scope: Scope) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(scope.query_string).items()}


async def scope_info(scope: Scope, protocol: HTTPProtocol) -> None:
    headers = scope.headers
    try:
        headers['x-absent']
        missing: str | None = None
    except KeyError as exc:
        missing = repr(exc)
    try:
        first: str | None = headers['x-multi']
    except KeyError:
        first = None
    _json(
        protocol,
        {
            'proto': scope.proto,
            'rsgi_version': scope.rsgi_version,
            'http_version': scope.http_version,
            'server': scope.server,
            'client': scope.client,
            'scheme': scope.scheme,
            'method': scope.method,
            'path': scope.path,
            'query_string': scope.query_string,
            'authority': scope.authority,
            'keys': headers.keys(),
            'values': headers.values(),
            'items': headers.items(),
            'iter': list(headers),
            'len': len(headers),
            'get': headers.get('x-multi'),
            'get_default': headers.get('x-absent'),
            'get_custom_default': headers.get('x-absent', 'fallback'),
            'get_all': headers.get_all('x-multi'),
            'get_all_absent': headers.get_all('x-absent'),
            'getitem': first,
            'getitem_missing': missing,
            'contains': 'x-multi' in headers,
            'contains_absent': 'x-absent' in headers,
            'latin1': headers.get('x-latin'),
        },
    )


async def echo(scope: Scope, protocol: HTTPProtocol) -> None:
    body = await protocol()
    protocol.response_bytes(200, [('content-type', 'application/octet-stream')], body)


async def echo_chunks(scope: Scope, protocol: HTTPProtocol) -> None:
    chunks = [chunk async for chunk in protocol]
    _json(protocol, {'count': len(chunks), 'last': chunks[-1].decode(), 'body': b''.join(chunks).decode()})


async def digest(scope: Scope, protocol: HTTPProtocol) -> None:
    """Hash a body of any size without keeping it."""
    sha = hashlib.sha256()
    size = 0
    async for chunk in protocol:
        sha.update(chunk)
        size += len(chunk)
    _json(protocol, {'size': size, 'sha256': sha.hexdigest()})


async def generate(scope: Scope, protocol: HTTPProtocol) -> None:
    """Stream ``size`` bytes of a repeating pattern in 1 MiB chunks."""
    size = int(_query(scope)['size'])
    block = bytes(range(256)) * 4096
    transport = protocol.response_stream(200, [('content-type', 'application/octet-stream')])
    while size > 0:
        chunk = block[:size]
        await transport.send_bytes(chunk)
        size -= len(chunk)


async def body_twice(scope: Scope, protocol: HTTPProtocol) -> None:
    first = await protocol()
    try:
        await protocol()
    except Exception as exc:
        _json(protocol, {'first': first.decode(), 'error': _error(exc)})
        return
    _json(protocol, {'first': first.decode(), 'error': None})


async def iter_then_call(scope: Scope, protocol: HTTPProtocol) -> None:
    async for _ in protocol:
        pass
    try:
        await protocol()
    except Exception as exc:
        _json(protocol, {'error': _error(exc)})
        return
    _json(protocol, {'error': None})


async def call_then_iter(scope: Scope, protocol: HTTPProtocol) -> None:
    await protocol()
    try:
        async for _ in protocol:
            pass
    except Exception as exc:
        _json(protocol, {'error': _error(exc)})
        return
    _json(protocol, {'error': None})


async def iter_twice(scope: Scope, protocol: HTTPProtocol) -> None:
    async for _ in protocol:
        pass
    try:
        async for _ in protocol:
            pass
    except Exception as exc:
        _json(protocol, {'error': _error(exc)})
        return
    _json(protocol, {'error': None})


async def empty(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_empty(204, [('x-kind', 'empty')])


async def empty_default(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_empty()


async def text(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_str(
        201, [('content-type', 'text/plain; charset=utf-8'), ('x-dup', 'a'), ('x-dup', 'b')], 'héllo ✓'
    )


async def str_default(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_str()


async def bytes_default(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_bytes()


async def file(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_file(200, [('content-type', 'application/octet-stream')], _query(scope)['path'])


async def file_then_wait(scope: Scope, protocol: HTTPProtocol) -> None:
    """The file goes out while the handler is still running (here: until the client leaves)."""
    query = _query(scope)
    key = 'file_then_wait_' + query.get('key', '')
    protocol.response_file(200, [('content-type', 'application/octet-stream')], query['path'])
    try:
        # Bounded, so that a disconnect that is never reported cannot hold up the server's shutdown.
        await asyncio.wait_for(protocol.client_disconnect(), timeout=5)
    except asyncio.TimeoutError:
        OBSERVED[key] = 'not reported'
    else:
        OBSERVED[key] = 'disconnected'


async def file_range(scope: Scope, protocol: HTTPProtocol) -> None:
    query = _query(scope)
    start, end = int(query['start']), int(query['end'])
    protocol.response_file_range(206, [('content-range', f'bytes {start}-{end - 1}/*')], query['path'], start, end)


async def file_range_invalid(scope: Scope, protocol: HTTPProtocol) -> None:
    query = _query(scope)
    try:
        # Not awaited: the error must come from the call itself.
        protocol.response_file_range(206, [], query['path'], int(query['start']), int(query['end']))
    except ValueError as exc:
        _json(protocol, {'error': _error(exc)}, status=400)


async def stream(scope: Scope, protocol: HTTPProtocol) -> None:
    transport = protocol.response_stream(200, [('content-type', 'text/plain')])
    await transport.send_bytes(b'one,')
    await transport.send_str('two,')
    await asyncio.sleep(0.01)
    await transport.send_bytes(b'three')


async def stream_default(scope: Scope, protocol: HTTPProtocol) -> None:
    transport = protocol.response_stream()
    await transport.send_str('x')


async def stream_twice(scope: Scope, protocol: HTTPProtocol) -> None:
    transport = protocol.response_stream(200, [('content-type', 'application/json')])
    try:
        protocol.response_stream(201, [])
    except Exception as exc:
        await transport.send_str(json.dumps({'error': _error(exc)}))
        return
    await transport.send_str(json.dumps({'error': None}))


async def first_response_wins(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_bytes(200, [('x-which', 'first')], b'first')
    protocol.response_str(201, [('x-which', 'second')], 'second')
    protocol.response_empty(202, [('x-which', 'third')])
    protocol.response_bytes(203, [], b'fourth')
    protocol.response_file(200, [], __file__)
    protocol.response_file_range(200, [], __file__, 0, 10)
    try:
        protocol.response_stream(200, [])
    except Exception as exc:
        OBSERVED['first_response_wins'] = _error(exc)
    else:
        OBSERVED['first_response_wins'] = None


async def raises(scope: Scope, protocol: HTTPProtocol) -> None:
    raise RuntimeError('boom from the app')


async def no_response(scope: Scope, protocol: HTTPProtocol) -> None:
    await protocol()


async def raise_after_response(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_bytes(200, [], b'sent')
    raise RuntimeError('late failure')


async def raise_mid_stream(scope: Scope, protocol: HTTPProtocol) -> None:
    transport = protocol.response_stream(200, [])
    await transport.send_bytes(b'partial')
    raise RuntimeError('mid-stream failure')


async def wait_disconnect(scope: Scope, protocol: HTTPProtocol) -> None:
    """Stream a first chunk, then wait for the client to leave (the disconnect is recorded)."""
    transport = protocol.response_stream(200, [])
    await transport.send_bytes(b'ready')
    await protocol.client_disconnect()
    OBSERVED['wait_disconnect'] = 'disconnected'


async def send_until_closed(scope: Scope, protocol: HTTPProtocol) -> None:
    """Send 1 MiB chunks to a client that reads nothing, until sending fails (or the cap is hit)."""
    transport = protocol.response_stream(200, [])
    chunk = b'x' * (1 << 20)
    OBSERVED['send_until_closed'] = 'sending'
    for sent in range(SEND_CAP_MIB):
        try:
            await transport.send_bytes(chunk)
        except Exception as exc:
            OBSERVED['send_until_closed'] = {'error': _error(exc), 'sent_mib': sent}
            return
    OBSERVED['send_until_closed'] = {'error': None, 'sent_mib': SEND_CAP_MIB}


async def read_abandoned_body(scope: Scope, protocol: HTTPProtocol) -> None:
    key = 'read_abandoned_' + _query(scope)['how']
    OBSERVED[key] = 'reading'  # the test abandons the body once it sees this
    try:
        if _query(scope)['how'] == 'call':
            await protocol()
        else:
            async for _ in protocol:
                pass
    except Exception as exc:
        OBSERVED[key] = _error(exc)
        raise
    OBSERVED[key] = None


async def bad_header(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_bytes(200, [('x-bad', 'a\r\nx-injected: 1')], b'never')


async def wrong_types(scope: Scope, protocol: HTTPProtocol) -> None:
    # Each call gets a value of the wrong type: each raises TypeError before anything is sent.
    calls: list[tuple[str, Any, tuple[Any, ...]]] = [
        ('bytes-headers', protocol.response_bytes, (200, [(b'x', b'y')], b'')),
        ('int-header-value', protocol.response_empty, (200, [('x', 5)])),
        ('bytes-to-response-str', protocol.response_str, (200, [], b'bytes')),
        ('large-str-to-response-bytes', protocol.response_bytes, (200, [], 'y' * 70_000)),
    ]
    raised = {}
    for name, call, args in calls:
        try:
            call(*args)
        except Exception as exc:
            raised[name] = type(exc).__name__
    _json(protocol, raised)


async def stream_wrong_type(scope: Scope, protocol: HTTPProtocol) -> None:
    transport = protocol.response_stream(200, [('content-length', '3')])
    try:
        await transport.send_bytes('abc')  # type: ignore[arg-type]
    except TypeError as exc:
        OBSERVED['stream_wrong_type'] = type(exc).__name__
    await transport.send_bytes(b'abc')


async def informational_status(scope: Scope, protocol: HTTPProtocol) -> None:
    protocol.response_bytes(int(_query(scope)['status']), [], b'never')


async def observed(scope: Scope, protocol: HTTPProtocol) -> None:
    _json(protocol, OBSERVED.get(_query(scope)['key'], 'missing'))


ROUTES = {
    '/scope': scope_info,
    '/echo': echo,
    '/echo-chunks': echo_chunks,
    '/digest': digest,
    '/generate': generate,
    '/body-twice': body_twice,
    '/iter-then-call': iter_then_call,
    '/call-then-iter': call_then_iter,
    '/iter-twice': iter_twice,
    '/empty': empty,
    '/empty-default': empty_default,
    '/str': text,
    '/str-default': str_default,
    '/bytes-default': bytes_default,
    '/file': file,
    '/file-then-wait': file_then_wait,
    '/file-range': file_range,
    '/file-range-invalid': file_range_invalid,
    '/stream': stream,
    '/stream-default': stream_default,
    '/stream-twice': stream_twice,
    '/first-response-wins': first_response_wins,
    '/raise': raises,
    '/no-response': no_response,
    '/raise-after-response': raise_after_response,
    '/raise-mid-stream': raise_mid_stream,
    '/wait-disconnect': wait_disconnect,
    '/send-until-closed': send_until_closed,
    '/read-abandoned-body': read_abandoned_body,
    '/bad-header': bad_header,
    '/wrong-types': wrong_types,
    '/stream-wrong-type': stream_wrong_type,
    '/informational-status': informational_status,
    '/observed': observed,
}


async def app(scope: Scope, protocol: HTTPProtocol) -> None:
    handler = ROUTES.get(scope.path)
    if handler is None:
        protocol.response_str(404, [('content-type', 'text/plain')], f'no route for {scope.path!r}')
        return
    await handler(scope, protocol)
