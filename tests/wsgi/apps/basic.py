"""A plain WSGI app with one route per behaviour the tests look at.

``WSGI_TEST_DIR`` names a directory the app and the test share: the app leaves marker files there
(``closed-<tag>`` when a body's ``close()`` ran, ``entered-<tag>`` when a request started) and waits
for ``release`` to appear before a ``/block`` request returns.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

SHARED = Path(os.environ.get('WSGI_TEST_DIR', '.'))
CHUNK = b'x' * 65536
LOCK = threading.Lock()
STATE: dict[str, int] = {'active': 0, 'max_active': 0}
PRODUCED: dict[str, int] = {}


def _json(start_response, data, status='200 OK'):
    body = json.dumps(data).encode()
    start_response(status, [('content-type', 'application/json'), ('content-length', str(len(body)))])
    return [body]


def _query(environ):
    return {key: values[-1] for key, values in parse_qs(environ['QUERY_STRING']).items()}


def _mark(name, text=''):
    (SHARED / name).write_text(text)


class ClosingBody:
    """An iterable that is not a list or a generator and records its close()."""

    def __init__(self, tag, parts):
        self.tag = tag
        self.parts = parts

    def __iter__(self):
        return iter(self.parts)

    def close(self):
        _mark(f'closed-{self.tag}')


def _stream(tag, size, chunk, pause):
    produced = 0
    try:
        while produced < size:
            piece = chunk[: size - produced]
            produced += len(piece)
            with LOCK:
                PRODUCED[tag] = produced
            yield piece
            if pause:
                time.sleep(pause)
    finally:
        _mark(f'closed-{tag}', str(produced))


def environ_view(environ, start_response):
    view = {key: value for key, value in environ.items() if isinstance(value, str)}
    view['wsgi.version'] = list(environ['wsgi.version'])
    for key in ('wsgi.multithread', 'wsgi.multiprocess', 'wsgi.run_once', 'wsgi.input_terminated'):
        view[key] = environ.get(key)
    view['wsgi.file_wrapper'] = callable(environ.get('wsgi.file_wrapper'))
    view['wsgi.errors'] = environ['wsgi.errors'] is sys.stderr
    view['thread'] = threading.current_thread().name
    return _json(start_response, view)


def input_ops(environ, start_response):
    stream = environ['wsgi.input']
    op = _query(environ).get('op', 'read')
    if op == 'read':
        result = [stream.read().decode()]
    elif op == 'read3':
        result = []
        while True:
            piece = stream.read(3)
            result.append(piece.decode())
            if not piece:
                break
    elif op == 'readline':
        result = []
        while True:
            line = stream.readline()
            result.append(line.decode())
            if not line:
                break
    elif op == 'readline5':
        result = []
        while True:
            line = stream.readline(5)
            result.append(line.decode())
            if not line:
                break
    elif op == 'readlines':
        result = [line.decode() for line in stream.readlines()]
    elif op == 'readlines_hint':
        result = [line.decode() for line in stream.readlines(4)]
        result.append('|' + stream.read().decode())
    elif op == 'iter':
        result = [line.decode() for line in stream]
    else:  # mixed
        result = [stream.read(2).decode(), stream.readline().decode(), stream.read(0).decode(), stream.read().decode()]
    return _json(start_response, result)


def hash_body(environ, start_response):
    digest = hashlib.sha256()
    size = 0
    read = environ['wsgi.input'].read
    while True:
        block = read(65536)
        if not block:
            break
        size += len(block)
        digest.update(block)
    return _json(start_response, {'size': size, 'sha256': digest.hexdigest()})


def stream(environ, start_response):
    query = _query(environ)
    size = int(query.get('size', 1 << 20))
    tag = query.get('tag', 'stream')
    headers = [('content-type', 'application/octet-stream')]
    if 'length' in query:
        headers.append(('content-length', str(size)))
    start_response('200 OK', headers)
    pause = float(query.get('pause', 0))
    return _stream(tag, size, CHUNK[: int(query.get('chunk', len(CHUNK)))], pause)


def progress(environ, start_response):
    with LOCK:
        produced = PRODUCED.get(_query(environ)['tag'], 0)
    return _json(start_response, {'produced': produced})


def write_callable(environ, start_response):
    write = start_response('200 OK', [('content-type', 'text/plain')])
    write(b'one,')
    write(b'')
    write(b'two,')
    return [b'three']


def exc_info_before(environ, start_response):
    start_response('200 OK', [('content-type', 'text/plain')])
    try:
        raise ValueError('changed my mind')
    except ValueError:
        start_response('503 Service Unavailable', [('x-error', 'yes')], sys.exc_info())
    return [b'handled']


def exc_info_after(environ, start_response):
    start_response('200 OK', [('content-type', 'text/plain')])
    yield b'first'
    try:
        raise ValueError('too late')
    except ValueError:
        # Headers are out: PEP 3333 says start_response re-raises.
        start_response('500 Internal Server Error', [], sys.exc_info())
    yield b'never'


def boom(environ, start_response):
    raise RuntimeError('boom before start')


def boom_generator(environ, start_response):
    tag = _query(environ).get('tag', 'boom_gen')
    mid = _query(environ).get('mid') == '1'

    def body():
        try:
            if mid:
                yield CHUNK
            raise RuntimeError('boom in the body')
        finally:
            _mark(f'closed-{tag}')

    start_response('200 OK', [('content-type', 'text/plain')])
    return body()


def closing_body(environ, start_response):
    start_response('200 OK', [('content-type', 'text/plain')])
    return ClosingBody(_query(environ).get('tag', 'closing'), [b'a', b'b', b'c'])


def reason(environ, start_response):
    start_response('200 Custom Reason', [('content-type', 'text/plain')])
    return [b'ok']


def bad_headers(environ, start_response):
    start_response(
        '200 OK',
        [
            ('x-good', 'yes'),
            ('x-split', 'a\r\nx-injected: 1'),
            ('x-euro', '\u20ac'),
            ('bad name', 'v'),
            ('x-also-good', 'fine'),
        ],
    )
    return [b'ok']


def file_response(environ, start_response):
    query = _query(environ)
    handle = open(query['path'], 'rb')  # noqa: SIM115 - the server closes it through the wrapper
    handle.seek(int(query.get('offset', 0)))
    headers = [('content-type', 'application/octet-stream')]
    if 'length' in query:
        headers.append(('content-length', query['length']))
    start_response('200 OK', headers)
    return environ['wsgi.file_wrapper'](handle, 65536)


def file_bytesio(environ, start_response):
    start_response('200 OK', [('content-type', 'text/plain')])
    return environ['wsgi.file_wrapper'](io.BytesIO(b'in memory file ' * 1000), 4096)


def block(environ, start_response):
    tag = _query(environ).get('tag', 'block')
    with LOCK:
        STATE['active'] += 1
        STATE['max_active'] = max(STATE['max_active'], STATE['active'])
    try:
        _mark(f'entered-{tag}')
        deadline = time.monotonic() + 30
        while not (SHARED / 'release').exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        with LOCK:
            STATE['active'] -= 1
    return _json(start_response, {'thread': threading.current_thread().name})


def stats(environ, start_response):
    with LOCK:
        return _json(start_response, dict(STATE))


def hello(environ, start_response):
    start_response('200 OK', [('content-type', 'text/plain')])
    return [b'Hello, world!']


ROUTES = {
    '/environ': environ_view,
    '/input': input_ops,
    '/hash': hash_body,
    '/stream': stream,
    '/progress': progress,
    '/write': write_callable,
    '/exc_info_before': exc_info_before,
    '/exc_info_after': exc_info_after,
    '/boom': boom,
    '/boom_gen': boom_generator,
    '/closing': closing_body,
    '/reason': reason,
    '/bad_headers': bad_headers,
    '/file': file_response,
    '/file_bytesio': file_bytesio,
    '/block': block,
    '/stats': stats,
}


def app(environ, start_response):
    path = environ['PATH_INFO']
    handler = environ_view if path.startswith('/environ') else ROUTES.get(path, hello)
    return handler(environ, start_response)
