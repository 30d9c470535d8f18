"""Fuzz target ``proxies``: the ``X-Forwarded-*`` and RFC 7239 ``Forwarded`` parsers, through the
ASGI and WSGI wrappers of ``granian_proxies``.

Input: ``[mode][peer][header count][headers: name choice, value]...``. The mode picks
``forwarded`` or ``X-Forwarded-*``, ``forwarded_host``, and the trusted hosts; the peer is trusted
or not. Properties, for both wrappers:

* never an exception;
* an untrusted peer's request is left exactly as it was;
* the client the app sees is the peer, or an address from the header: in ``X-Forwarded-For``
  mode one of the header's comma-separated entries (upstream takes the string as it is), in
  ``Forwarded`` mode an IP address (never ``unknown`` or an obfuscated node) with a port in range;
* the scheme is the request's own or one of the forwarded protos; a rewritten Host is a plain
  host name or address with an optional port, and ``server`` follows it.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from granian_proxies import TrustedHosts, wrap_asgi_with_proxy_headers, wrap_wsgi_with_proxy_headers
from granian_proxies._host import parse_host

from .harness import Reader, Target, expect
from .seeds import literals

__all__ = ['TARGET']

_NAMES = (b'x-forwarded-for', b'x-forwarded-proto', b'x-forwarded-host', b'x-forwarded-port', b'forwarded', b'host')
_TRUSTED = ('127.0.0.1', '*', '10.0.0.0/8, 127.0.0.1', 'unix,127.0.0.1,::1', '127.0.0.1/33, proxy')
_PEERS = ('127.0.0.1', '10.1.2.3', '203.0.113.9', '::ffff:127.0.0.1', '')
_ASGI_SCHEMES = {'http', 'https', 'ws', 'wss'}


def _headers(reader: Reader) -> list[tuple[bytes, bytes]]:
    return [(reader.choice(_NAMES), reader.chunk(80)) for _ in range(reader.below(6))]


def _entries(headers: list[tuple[bytes, bytes]], name: bytes) -> set[str]:
    values = [value.decode('latin-1') for key, value in headers if key == name]
    return {entry.strip() for value in values for entry in value.split(',')}


def _check_client(host: str, port: int, forwarded: bool, headers: list[tuple[bytes, bytes]]) -> None:
    if forwarded:
        ipaddress.ip_address(host)  # raises (a property failure) for anything but an address
        expect(0 <= port <= 65535, f'port {port}')
    else:
        expect(host and host in _entries(headers, b'x-forwarded-for'), f'client {host!r} not from X-Forwarded-For')
        expect(port == 0, f'port {port} from X-Forwarded-For')


def _check_asgi(options: dict[str, Any], trusted: TrustedHosts, peer: str, headers: list[tuple[bytes, bytes]]) -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope: dict[str, Any] = {
        'type': 'http',
        'client': (peer, '5000'),
        'server': ('127.0.0.1', '8000'),
        'scheme': 'http',
        'headers': headers,
    }
    original = copy.deepcopy(scope)
    coroutine = wrap_asgi_with_proxy_headers(app, **options)(scope, _unused, _unused)
    try:
        coroutine.send(None)  # the app never awaits: one step runs it to the end
    except StopIteration:
        pass
    (result,) = seen
    if peer not in trusted:
        expect(result == original, f'untrusted peer {peer!r} changed the scope')
        return
    host, port = result['client']
    if (host, port) != (peer, '5000'):
        _check_client(host, port, options['forwarded'], headers)
    expect(result['scheme'] in _ASGI_SCHEMES, f'scheme {result["scheme"]!r}')
    if result['headers'] is not headers:
        hosts = [value for name, value in result['headers'] if name == b'host']
        expect(len(hosts) == 1 and parse_host(hosts[0].decode('latin-1')) is not None, f'host {hosts!r}')
        expect(isinstance(result['server'][1], str), 'server port type changed')


async def _unused(*args: Any) -> Any:
    raise AssertionError('the wrapper called receive or send')


def _environ(peer: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    environ: dict[str, Any] = {'REMOTE_ADDR': peer, 'wsgi.url_scheme': 'http', 'SERVER_NAME': 'x', 'SERVER_PORT': '80'}
    for name, value in headers:
        key = 'HTTP_' + name.decode().upper().replace('-', '_')
        text = value.decode('latin-1')
        # A WSGI server joins repeated headers with a comma.
        environ[key] = f'{environ[key]},{text}' if key in environ else text
    return environ


def _check_wsgi(options: dict[str, Any], trusted: TrustedHosts, peer: str, headers: list[tuple[bytes, bytes]]) -> None:
    environ = _environ(peer, headers)
    original = dict(environ)
    seen: list[dict[str, Any]] = []

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(env)
        return []

    wrap_wsgi_with_proxy_headers(app, **options)(environ, None)
    (result,) = seen
    if peer not in trusted:
        expect(result == original, f'untrusted peer {peer!r} changed the environ')
        return
    if result['REMOTE_ADDR'] != peer:
        forwarded_for = original.get('HTTP_X_FORWARDED_FOR', '').encode('latin-1')
        _check_client(result['REMOTE_ADDR'], 0, options['forwarded'], [(b'x-forwarded-for', forwarded_for)])
    expect(result['wsgi.url_scheme'] in ('http', 'https'), f'scheme {result["wsgi.url_scheme"]!r}')
    if result.get('HTTP_HOST') != original.get('HTTP_HOST'):
        expect(parse_host(result['HTTP_HOST']) is not None, f'host {result["HTTP_HOST"]!r}')
        expect(result['SERVER_PORT'].isdigit(), f'server port {result["SERVER_PORT"]!r}')


def check(data: bytes) -> None:
    reader = Reader(data)
    mode = reader.uint()
    spec = reader.choice(_TRUSTED)
    peer = reader.choice(_PEERS)
    headers = _headers(reader)
    options: dict[str, Any] = {'trusted_hosts': spec, 'forwarded': bool(mode & 1), 'forwarded_host': bool(mode & 2)}
    trusted = TrustedHosts(spec)
    _check_asgi(options, trusted, peer, headers)
    _check_wsgi(options, trusted, peer, headers)


def _is_forwarding_value(data: bytes) -> bool:
    return 0 < len(data) < 200 and (b'for=' in data.lower() or data.count(b'.') == 3 or data[:1] == b'[')


def seeds() -> list[bytes]:
    values = list(literals(['proxies/test_proxy_*.py'], _is_forwarding_value))
    out = []
    for index, value in enumerate(values):
        name = 4 if b'for=' in value.lower() else 0  # Forwarded, or X-Forwarded-For
        header = bytes((name, len(value))) + value
        # mode (Forwarded mode for Forwarded values), trusted hosts, peer, one header (+ a proto).
        mode = (1 if name == 4 else 0) | (index & 2)
        out.append(bytes((mode, index % len(_TRUSTED), index % 3, 2)) + header + bytes((1, 5)) + b'https')
    return out


TARGET = Target(name='proxies', check=check, seeds=seeds)
