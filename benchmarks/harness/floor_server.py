"""A floor server: the least a Python HTTP/1.1 server can do per request, as a measuring stick.

This is NOT a server and must never serve anything but the benchmark. It exists to answer one
question of issue 12: how little CPU per request can *any* Python server spend on a given event
loop to serve the benchmark's app through a real ASGI (or WSGI) call? Its rows in the benchmark
(``floor-*``) are the floor under ours and the peers, and take part in no target.

What it does, per connection an ``asyncio.Protocol``, per request:

- finds the end of the head and splits the request line and header lines with ``bytes.split`` /
  ``partition``, lower-casing names (``--parser split``), or lets ``httptools`` do it
  (``--parser httptools``, with the fewest callbacks);
- waits for a Content-Length body to be complete, then calls the app once with the same scope keys
  our server builds (ASGI), or a minimal PEP 3333 environ (WSGI, called inline on the loop);
- drives the ASGI coroutine directly with ``coro.send(None)`` and makes a Task of it only if it
  suspends (the benchmark app never does), the cheapest dispatch there is;
- answers with a status line, the app's headers, a cached ``date`` and a ``content-length`` when
  the app gave none, head and body in one write, and keeps the connection alive as HTTP/1.1 (or
  the client's ``Connection``) says; an unsized streamed body is ended by closing the connection.

What it leaves out, deliberately: any validation of the request (a malformed one raises in
``data_received`` and asyncio drops the connection), any limit (head size, header count, body
size, connections), every timeout (head, keep-alive, body, shutdown), chunked bodies (both ways),
``Expect: 100-continue``, upgrades (WebSocket, h2c), HTTP/2, TLS, lifespan (the scope's ``state``
is a fresh empty dict), ``http.disconnect`` while the app runs (only once it waits for more body),
back-pressure (no ``pause_writing``), access logs, workers, signals (SIGTERM kills the process) and
graceful shutdown. Pipelined requests are answered in order, nothing more.

Usage (from benchmarks/apps, or with it on ``PYTHONPATH``, as the harness runs servers)::

    python floor_server.py --loop uvloop --parser httptools --interface asgi asgi_app:app
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import io
import sys
import traceback
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes

try:
    import httptools
except ImportError:  # --parser httptools says so, with one line
    httptools = None

_ASGI_VERSION = {'version': '3.0', 'spec_version': '2.4'}
_EXTENSIONS: dict[str, Any] = {}
_STATUS = {s.value: b'HTTP/1.1 %d %s\r\n' % (s.value, s.phrase.encode()) for s in HTTPStatus}
_CLOSE = b'connection: close\r\n'
# A real server must send Date (RFC 9110 6.6.1); formatted once a second, as the fast ones do.
_date = b''


def _refresh_date(loop: asyncio.AbstractEventLoop) -> None:
    global _date
    _date = b'date: %s\r\n' % formatdate(usegmt=True).encode()
    loop.call_later(1.0, _refresh_date, loop)


def _path(raw_path: bytes) -> bytes:
    # Percent-decoding only when there is a '%': the byte search is cheaper than the call.
    return unquote_to_bytes(raw_path) if b'%' in raw_path else raw_path


class _Connection(asyncio.Protocol):
    """What both parsers and both interfaces share: the transport, the order of responses."""

    app: Any

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.server = tuple(map(str, transport.get_extra_info('sockname')[:2]))
        self.client = tuple(map(str, transport.get_extra_info('peername')[:2]))
        self.busy: asyncio.Task[None] | None = None
        self.queued: list[tuple[Any, ...]] = []
        self.lost: asyncio.Future[None] | None = None
        self.buffer = b''
        self.setup()

    def setup(self) -> None:
        """Per-connection parser state (the parser classes override it)."""

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)

    def request(self, method: str, target: bytes, version: str, headers: list[Any], body: bytes, keep: bool) -> None:
        # A request parsed while an earlier one still runs waits for it: responses stay in order.
        if self.busy is not None:
            self.queued.append((method, target, version, headers, body, keep))
        else:
            self.serve(method, target, version, headers, body, keep)

    def serve(self, method: str, target: bytes, version: str, headers: list[Any], body: bytes, keep: bool) -> None:
        raise NotImplementedError

    def respond(self, head: list[bytes], body: bytes, keep: bool, end: bool = True) -> None:
        """The head (status line and fields so far) and the first body, in one write."""
        head.append(_date)
        if not keep:
            head.append(_CLOSE)
        head.append(b'\r\n')
        head.append(body)
        self.transport.write(b''.join(head))
        if end and not keep:
            self.transport.close()

    def resumed(self) -> None:
        """An app that suspended has finished: serve what was parsed meanwhile."""
        self.busy = None
        while self.queued and self.busy is None:
            self.serve(*self.queued.pop(0))


class _Split(_Connection):
    """The head split with bytes methods; Content-Length bodies only."""

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        while True:
            end = buffer.find(b'\r\n\r\n')
            if end < 0:
                break
            lines = buffer[:end].split(b'\r\n')
            method, target, version = lines[0].split(b' ', 2)
            headers = []
            length = 0
            connection = None
            for line in lines[1:]:
                name, _, value = line.partition(b':')
                name = name.lower()
                value = value.strip()
                headers.append((name, value))
                if name == b'content-length':
                    length = int(value)
                elif name == b'connection':
                    connection = value.lower()
            start = end + 4
            if len(buffer) - start < length:
                break  # the body is not all here: parse the head again when more comes
            body = buffer[start : start + length]
            buffer = buffer[start + length :]
            v11 = version == b'HTTP/1.1'
            keep = connection != b'close' if v11 else connection == b'keep-alive'
            self.request(method.decode(), target, '1.1' if v11 else '1.0', headers, body, keep)
        self.buffer = buffer


class _Httptools(_Connection):
    """httptools' C parser with the callbacks a request needs, nothing more."""

    def setup(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.url = b''
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self.transport.close()  # a bad request or an upgrade: neither is the floor's business

    def on_message_begin(self) -> None:
        self.url = b''
        self.headers = []
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        parser = self.parser
        body = b''.join(self.body)
        keep = parser.should_keep_alive()
        self.request(parser.get_method().decode(), self.url, parser.get_http_version(), self.headers, body, keep)


async def _resume(coroutine: Any, awaited: Any) -> None:
    """Go on with a coroutine that suspended on ``awaited`` (a future, or None for a bare yield),
    as a Task would: wait for it, then resume the coroutine, which reads the outcome itself."""
    while True:
        if awaited is not None:
            # The coroutine yielded it with the blocking flag set; a Task clears the flag before
            # waiting on it, and a future awaited again with the flag still set refuses.
            awaited._asyncio_future_blocking = False
        try:
            await (awaited if awaited is not None else asyncio.sleep(0))
        except BaseException:
            pass  # the coroutine gets the failure (or our cancellation) from its own future
        try:
            awaited = coroutine.send(None)
        except StopIteration:
            return


class _Cycle:
    """One ASGI request: its body for ``receive``, the response ``send`` writes."""

    __slots__ = ('body', 'conn', 'done', 'head', 'keep', 'sized', 'started')

    def __init__(self, conn: _Connection, body: bytes, keep: bool) -> None:
        self.conn = conn
        self.body: bytes | None = body
        self.keep = keep
        self.head: list[bytes] = []
        self.sized = self.started = self.done = False

    async def receive(self) -> dict[str, Any]:
        body = self.body
        if body is not None:
            self.body = None
            return {'type': 'http.request', 'body': body, 'more_body': False}
        # The body was all read: what is left to wait for is the client going away.
        conn = self.conn
        if conn.lost is None:
            conn.lost = asyncio.get_running_loop().create_future()
        await conn.lost
        return {'type': 'http.disconnect'}

    async def send(self, message: dict[str, Any]) -> None:
        if message['type'] == 'http.response.start':
            self.head = [_STATUS[message['status']]]
            for name, value in message.get('headers', ()):
                self.head.append(b'%s: %s\r\n' % (name, value))
                self.sized = self.sized or name.lower() == b'content-length'
            return
        body = message.get('body', b'')
        more = message.get('more_body', False)
        if self.started:
            self.conn.transport.write(body)
            if not more and not self.keep:
                self.conn.transport.close()
        else:
            self.started = True
            if not self.sized and more:
                self.keep = False  # an unsized stream ends with the connection: the floor never chunks
            elif not self.sized:
                self.head.append(b'content-length: %d\r\n' % len(body))
            self.conn.respond(self.head, body, self.keep, end=not more)
        self.done = not more

    def ended(self) -> None:
        """After the app returned: an app that never answered gets a 500, one cut short a close."""
        if self.done or self.conn.transport.is_closing():
            return
        if self.started:
            self.conn.transport.close()
        else:
            self.conn.respond([_STATUS[500], b'content-length: 0\r\n'], b'', False)


class _ASGI(_Connection):
    def serve(self, method: str, target: bytes, version: str, headers: list[Any], body: bytes, keep: bool) -> None:
        raw_path, _, query = target.partition(b'?')
        scope = {
            'type': 'http',
            'asgi': _ASGI_VERSION,
            'extensions': _EXTENSIONS,
            'http_version': version,
            'server': self.server,
            'client': self.client,
            'scheme': 'http',
            'method': method,
            'root_path': '',
            'path': _path(raw_path).decode('utf-8', 'replace'),
            'raw_path': raw_path,
            'query_string': query,
            'headers': headers,
            'state': {},
        }
        cycle = _Cycle(self, body, keep)
        coroutine = self.app(scope, cycle.receive, cycle.send)
        try:
            awaited = coroutine.send(None)
        except StopIteration:
            cycle.ended()
            return
        except Exception:
            traceback.print_exc()
            cycle.ended()
            return
        # It suspended: from here on it is an ordinary Task, and later requests wait for it.
        self.busy = asyncio.get_running_loop().create_task(_resume(coroutine, awaited))

        def finished(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                traceback.print_exception(task.exception())
            cycle.ended()
            self.resumed()

        self.busy.add_done_callback(finished)


class _WSGI(_Connection):
    """The WSGI app called inline on the loop: no thread, so nothing else runs while it does."""

    def serve(self, method: str, target: bytes, version: str, headers: list[Any], body: bytes, keep: bool) -> None:
        raw_path, _, query = target.partition(b'?')
        environ: dict[str, Any] = {
            'REQUEST_METHOD': method,
            'SCRIPT_NAME': '',
            'PATH_INFO': _path(raw_path).decode('latin-1'),
            'QUERY_STRING': query.decode('latin-1'),
            'SERVER_NAME': self.server[0],
            'SERVER_PORT': self.server[1],
            'SERVER_PROTOCOL': 'HTTP/' + version,
            'REMOTE_ADDR': self.client[0],
            'wsgi.version': (1, 0),
            'wsgi.url_scheme': 'http',
            'wsgi.input': io.BytesIO(body),
            'wsgi.errors': sys.stderr,
            'wsgi.multithread': False,
            'wsgi.multiprocess': False,
            'wsgi.run_once': False,
        }
        for name, value in headers:
            key = name.decode('latin-1').upper().replace('-', '_')
            if key not in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
                key = 'HTTP_' + key
            text = value.decode('latin-1')
            environ[key] = environ[key] + ',' + text if key in environ else text
        status: list[Any] = []
        chunks: list[bytes] = []  # what the app gives write() and then its iterable, sent as one body

        def start_response(line: str, fields: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            status[:] = [line, fields]
            return chunks.append

        try:
            result = self.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, 'close'):
                    result.close()
        except Exception:
            traceback.print_exc()
            self.respond([_STATUS[500], b'content-length: 0\r\n'], b'', False)
            return
        line, response_headers = status
        content = b''.join(chunks)
        head = [b'HTTP/1.1 %s\r\n' % line.encode('latin-1')]
        sized = False
        for name, value in response_headers:
            head.append(b'%s: %s\r\n' % (name.encode('latin-1'), value.encode('latin-1')))
            sized = sized or name.lower() == 'content-length'
        if not sized:
            head.append(b'content-length: %d\r\n' % len(content))
        self.respond(head, content, keep)


def _load(target: str) -> Any:
    module, _, attr = target.partition(':')
    try:
        return getattr(importlib.import_module(module), attr or 'app')
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f'floor_server: cannot load the app {target!r}: {exc}') from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument('--loop', choices=('asyncio', 'uvloop'), default='asyncio')
    parser.add_argument('--parser', choices=('split', 'httptools'), default='split')
    parser.add_argument('--interface', choices=('asgi', 'wsgi'), default='asgi')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8000)
    parser.add_argument('app', help='module:attr, importable from sys.path (e.g. asgi_app:app)')
    args = parser.parse_args(argv)
    try:
        if args.parser == 'httptools' and httptools is None:
            raise ImportError(name='httptools')
        if args.loop == 'uvloop':
            import uvloop

            loop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()
    except ImportError as exc:
        raise SystemExit(f'floor_server: {exc.name} is not installed: pip install {exc.name}') from None
    parse = _Httptools if args.parser == 'httptools' else _Split
    interface = _WSGI if args.interface == 'wsgi' else _ASGI
    protocol = type('Floor', (parse, interface), {'app': staticmethod(_load(args.app))})
    asyncio.set_event_loop(loop)
    _refresh_date(loop)
    server = loop.run_until_complete(loop.create_server(protocol, args.host, args.port, backlog=2048))
    host, port = server.sockets[0].getsockname()[:2]
    print(f'Listening at: http://{host}:{port}', flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
