"""A small app wrapped in ``wsgiref.validate.validator``, which checks both the app and the server.

Any check that fails raises inside the worker (a 500 and a logged traceback) and its warnings are
errors here, so a server that deviates from PEP 3333 cannot pass the tests unnoticed.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter('error', WSGIWarning)


def _inner(environ, start_response):
    path = environ['PATH_INFO']
    stream = environ['wsgi.input']
    if path == '/upload':
        digest = hashlib.sha256()
        first_line = stream.readline()
        digest.update(first_line)
        while True:
            block = stream.read(1000)
            if not block:
                break
            digest.update(block)
        body = f'{first_line!r} {digest.hexdigest()}'.encode()
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
        return [body]
    if path == '/lines':
        lines = stream.readlines()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'%d' % len(lines)]
    if path == '/stream':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return (b'chunk %d\n' % index for index in range(100))
    if path == '/write':
        write = start_response('200 OK', [('Content-Type', 'text/plain')])
        write(b'written ')
        return [b'returned']
    if path == '/file':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return environ['wsgi.file_wrapper'](io.BytesIO(b'file body ' * 100), 64)
    if path == '/empty':
        start_response('204 No Content', [])
        return []
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'validated']


app = validator(_inner)
