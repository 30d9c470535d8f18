"""Building the WSGI ``environ`` for one request, as upstream Granian builds it, plus what PEP 3333
asks for and upstream leaves out.

Upstream's environ is a copy of ``os.environ`` (taken once per worker) and a few fixed keys, then
the request's keys on top (the request wins, #879):

* ``SERVER_NAME``/``SERVER_PORT`` from the local address, ``REMOTE_ADDR`` (the IP only);
* ``PATH_INFO`` percent-decoded and then decoded as latin-1, ``QUERY_STRING`` raw as latin-1;
* ``CONTENT_TYPE`` and ``CONTENT_LENGTH`` without the ``HTTP_`` prefix, every other header as
  ``HTTP_<NAME>``, repeated headers joined with ``,`` (cookies with ``;``), and ``HTTP_HOST`` from
  the request authority when there is no ``host`` header (HTTP/2);
* ``SCRIPT_NAME`` is ``url_path_prefix`` and the prefix is cut from ``PATH_INFO``.

Added here: ``REMOTE_PORT``, ``wsgi.input_terminated`` (the input ends with the body, which
Werkzeug needs for chunked uploads, upstream #909) and ``wsgi.file_wrapper`` (upstream #40, #434).
"""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import unquote_to_bytes

from granian_http import Exchange

__all__ = ['SERVER_PROTOCOLS', 'base_environ', 'build_environ']

#: ``Exchange.http_version`` to ``SERVER_PROTOCOL``. Upstream says ``'HTTP/1'`` for HTTP/1.0;
#: CGI (RFC 3875 §4.1.16), which PEP 3333 defers to, wants ``'HTTP/1.0'``.
SERVER_PROTOCOLS = {'1.1': 'HTTP/1.1', '1': 'HTTP/1.0', '2': 'HTTP/2', '3': 'HTTP/3'}

# Header name (lower-case bytes) -> environ key. Names repeat across requests, so after warm-up a
# header costs one lookup; bounded so that clients making up names cannot grow it without limit.
_KEYS: dict[bytes, str] = {b'content-type': 'CONTENT_TYPE', b'content-length': 'CONTENT_LENGTH'}
_KEYS_MAX = 4096


def _environ_key(name: bytes) -> str:
    key = _KEYS.get(name)
    if key is None:
        key = 'HTTP_' + name.decode('latin-1').upper().replace('-', '_')
        if len(_KEYS) < _KEYS_MAX:
            _KEYS[name] = key
    return key


def base_environ(script_name: str, file_wrapper: Any) -> dict[str, Any]:
    """The keys every request of this worker shares: taken once, copied per request."""
    environ: dict[str, Any] = dict(os.environ)
    environ.update(
        {
            'GATEWAY_INTERFACE': 'CGI/1.1',
            'SCRIPT_NAME': script_name,
            'SERVER_SOFTWARE': 'Granian',
            'wsgi.errors': sys.stderr,
            'wsgi.file_wrapper': file_wrapper,
            'wsgi.input_terminated': True,
            'wsgi.multiprocess': False,
            'wsgi.multithread': True,
            'wsgi.run_once': False,
            'wsgi.version': (1, 0),
        }
    )
    return environ


def build_environ(base: dict[str, Any], script_name: str, exchange: Exchange, body: Any) -> dict[str, Any]:
    """The environ of one request: ``base`` plus the request's own keys."""
    environ = base.copy()
    raw_path = exchange.raw_path
    if 37 in raw_path:  # b'%': a byte search is cheaper than a substring search
        raw_path = unquote_to_bytes(raw_path)
    path = raw_path.decode('latin-1')
    # Cut the prefix only where it really is one (upstream cuts blindly, #721).
    if script_name and (path == script_name or path.startswith(script_name + '/')):
        path = path[len(script_name) :] or '/'
    server = exchange.server
    client = exchange.client
    environ['REQUEST_METHOD'] = exchange.method
    environ['PATH_INFO'] = path
    environ['QUERY_STRING'] = exchange.query_string.decode('latin-1')
    environ['SERVER_PROTOCOL'] = SERVER_PROTOCOLS.get(exchange.http_version, 'HTTP/1.1')
    if server is not None:
        environ['SERVER_NAME'] = server[0]
        environ['SERVER_PORT'] = str(server[1])
    if client is not None:
        environ['REMOTE_ADDR'] = client[0]
        environ['REMOTE_PORT'] = str(client[1])
    else:
        environ['REMOTE_ADDR'] = ''
    environ['wsgi.url_scheme'] = exchange.scheme
    environ['wsgi.input'] = body

    headers: dict[str, str] = {}
    for name, value in exchange.headers:
        key = _KEYS.get(name) or _environ_key(name)
        text = value.decode('latin-1')
        previous = headers.get(key)
        if previous is None:
            headers[key] = text
        else:
            headers[key] = previous + ('; ' if key == 'HTTP_COOKIE' else ',') + text
    environ.update(headers)
    if 'HTTP_HOST' not in headers and exchange.authority:
        environ['HTTP_HOST'] = exchange.authority
    return environ
