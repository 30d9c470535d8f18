"""RSGI's HTTP objects over the exchange contract: the scope, the protocol, the stream transport.

Upstream's behaviour, which these follow:

* The scope is plain attributes; the headers mapping is built only when the app asks for it.
* The body is read once, whole (``await protocol()``) or in chunks (``async for``); the iterator
  ends with an empty chunk. Reading it again is a :class:`ProtocolError`, a client that leaves
  mid-body a :class:`ProtocolClosed`.
* The ``response_*`` calls are synchronous and only the first counts; a later one is ignored,
  except ``response_stream``, which raises :class:`ProtocolError` (it has no transport to give).
* ``response_bytes``/``str``/``empty`` hand the whole response to the exchange at once, so it
  leaves in one write. ``response_file`` sends the file from a task of its own, so the app may go
  on (and, say, wait for the disconnect) while it is sent.
* After the handler returns, :meth:`RSGIHTTPProtocol.settle` ends a streamed body, or answers
  500 with an empty body when nothing was chosen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from granian_http.exchange import ClientDisconnected, Exchange, ResponseStateError
from granian_rsgi_spec import (
    RSGI_VERSION,
    HTTPProtocol,
    HTTPStreamTransport,
    ProtocolClosed,
    ProtocolError,
    ResponseHeaders,
)

from .common import decode_path
from .rsgi_headers import RSGIHeaders

__all__ = ['RSGIBodyChunks', 'RSGIHTTPProtocol', 'RSGIHTTPScope', 'RSGIStreamTransport', 'format_address']

_NOT_FOUND_HEADERS = ((b'content-type', b'text/plain; charset=utf-8'),)
_NO_HEADERS: tuple[tuple[bytes, bytes], ...] = ()

# The local address repeats on every request of a worker: format it once.
_SERVER_STRINGS: dict[tuple[str, int], str] = {}
_SERVER_STRINGS_MAX = 64


def format_address(address: tuple[str, int] | None) -> str:
    """``'host:port'``, with an IPv6 host in brackets; ``''`` when there is no address."""
    if address is None:
        return ''
    host, port = address
    if ':' in host:
        return f'[{host}]:{port}'
    return f'{host}:{port}'


def _server_string(address: tuple[str, int] | None) -> str:
    if address is None:
        return ''
    text = _SERVER_STRINGS.get(address)
    if text is None:
        text = format_address(address)
        if len(_SERVER_STRINGS) < _SERVER_STRINGS_MAX:
            _SERVER_STRINGS[address] = text
    return text


def _encode_headers(headers: ResponseHeaders) -> Sequence[tuple[bytes, bytes]]:
    if not headers:
        return _NO_HEADERS
    return [(name.encode('latin-1'), value.encode('latin-1')) for name, value in headers]


class RSGIHTTPScope:
    """The scope of one HTTP request; satisfies :class:`granian_rsgi_spec.Scope` structurally.

    Not a subclass: the spec declares read-only properties, and plain slots are what make the
    scope cheap to build.
    """

    __slots__ = (
        '_headers',
        '_raw_headers',
        'authority',
        'client',
        'http_version',
        'method',
        'path',
        'query_string',
        'scheme',
        'server',
    )

    proto = 'http'
    rsgi_version = RSGI_VERSION

    def __init__(self, exchange: Exchange) -> None:
        self.http_version = exchange.http_version
        self.scheme = exchange.scheme
        self.method = exchange.method
        self.path = decode_path(exchange.raw_path)
        self.query_string = exchange.query_string.decode('utf-8', 'replace')
        self.authority = exchange.authority
        self.server = _server_string(exchange.server)
        self.client = format_address(exchange.client)
        self._raw_headers = exchange.headers
        self._headers: RSGIHeaders | None = None

    @property
    def headers(self) -> RSGIHeaders:
        headers = self._headers
        if headers is None:
            headers = self._headers = RSGIHeaders(self._raw_headers)
        return headers

    def __repr__(self) -> str:
        return (
            f'<RSGIHTTPScope {self.method} {self.path!r} query_string={self.query_string!r} '
            f'http_version={self.http_version!r} client={self.client!r}>'
        )


class RSGIBodyChunks:
    """``async for chunk in protocol``: the request body as it arrives, then one ``b''``."""

    __slots__ = ('_exchange', '_over')

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._over = False

    def __aiter__(self) -> RSGIBodyChunks:
        return self

    async def __anext__(self) -> bytes:
        if self._over:
            raise StopAsyncIteration
        try:
            chunk = await self._exchange.read_body()
        except ClientDisconnected:
            self._over = True
            raise ProtocolClosed() from None
        if not chunk:
            self._over = True
        return chunk


class RSGIStreamTransport(HTTPStreamTransport):
    """The body of a ``response_stream`` response."""

    __slots__ = ('_exchange', 'closed')

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        #: Set once the handler returned: the body is over.
        self.closed = False

    async def send_bytes(self, data: bytes) -> None:
        exchange = self._exchange
        if self.closed or exchange.disconnected:
            raise ProtocolClosed()
        exchange.write(data)
        if exchange.write_paused:
            # The client reads slower than the app writes: wait for it, so that the body is
            # never buffered in the server.
            await exchange.drain()
            if exchange.disconnected:
                raise ProtocolClosed()

    async def send_str(self, data: str) -> None:
        await self.send_bytes(data.encode('utf-8'))


class RSGIHTTPProtocol(HTTPProtocol):
    """One request's body and response."""

    __slots__ = ('_body_taken', '_done', '_exchange', '_responded', 'file_task', 'status', 'stream')

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._body_taken = False
        #: A response method was called (later ones are ignored).
        self._responded = False
        #: The response has been handed to the exchange in full.
        self._done = False
        #: The status sent, for the access log: 500 until the app chooses one.
        self.status = 500
        self.stream: RSGIStreamTransport | None = None
        self.file_task: asyncio.Task[None] | None = None

    # -- request body ----------------------------------------------------------------------------

    async def __call__(self) -> bytes:
        if self._body_taken:
            raise ProtocolError()
        self._body_taken = True
        read = self._exchange.read_body
        chunks: list[bytes] = []
        try:
            while chunk := await read():
                chunks.append(chunk)
        except ClientDisconnected:
            raise ProtocolClosed() from None
        if len(chunks) == 1:
            return chunks[0]
        return b''.join(chunks)

    def __aiter__(self) -> RSGIBodyChunks:
        if self._body_taken:
            raise ProtocolError()
        self._body_taken = True
        return RSGIBodyChunks(self._exchange)

    async def client_disconnect(self) -> None:
        await self._exchange.wait_disconnect()

    # -- response --------------------------------------------------------------------------------

    def response_empty(self, status: int = 200, headers: ResponseHeaders = ()) -> None:
        if self._responded:
            return
        self._responded = True
        self.status = status
        self._send_whole(status, headers, b'')

    def response_str(self, status: int = 200, headers: ResponseHeaders = (), body: str = '') -> None:
        if self._responded:
            return
        self._responded = True
        self.status = status
        self._send_whole(status, headers, body.encode('utf-8'))

    def response_bytes(self, status: int = 200, headers: ResponseHeaders = (), body: bytes = b'') -> None:
        if self._responded:
            return
        self._responded = True
        self.status = status
        self._send_whole(status, headers, body)

    def _send_whole(self, status: int, headers: ResponseHeaders, body: bytes) -> None:
        exchange = self._exchange
        try:
            exchange.start(status, _encode_headers(headers))
            exchange.end(body)
        except ResponseStateError:
            # The protocol gave up on this request (the client is gone): nothing can be sent.
            if not exchange.disconnected:
                raise
        self._done = True

    def response_file(self, status: int, headers: ResponseHeaders, file: str) -> None:
        if self._responded:
            return
        self._start_file(status, headers, file, 0, None)

    def response_file_range(self, status: int, headers: ResponseHeaders, file: str, start: int, end: int) -> None:
        if start >= end or start < 0:
            raise ValueError('Invalid range')
        if self._responded:
            return
        self._start_file(status, headers, file, start, end - start)

    def _start_file(self, status: int, headers: ResponseHeaders, file: str, offset: int, count: int | None) -> None:
        self._responded = True
        self.status = status
        self._exchange.start(status, _encode_headers(headers))
        self.file_task = asyncio.get_running_loop().create_task(self._send_file(file, offset, count))

    async def _send_file(self, path: str, offset: int, count: int | None) -> None:
        exchange = self._exchange
        try:
            await exchange.send_file(path, offset, count)
        except OSError:
            if exchange.response_started:
                # A read failed halfway: the client must not take the body as complete.
                exchange.abort()
            else:
                self.status = 404
                exchange.start(404, _NOT_FOUND_HEADERS)
                exchange.end(b'Not found')
        except ResponseStateError:
            if not exchange.disconnected:
                raise
        self._done = True

    def response_stream(self, status: int = 200, headers: ResponseHeaders = ()) -> RSGIStreamTransport:
        if self._responded:
            raise ProtocolError()
        self._responded = True
        self.status = status
        exchange = self._exchange
        transport = self.stream = RSGIStreamTransport(exchange)
        try:
            exchange.start(status, _encode_headers(headers))
            # Upstream sends the head at once: an app may stream nothing for a while (events).
            exchange.flush_head()
        except ResponseStateError:
            if not exchange.disconnected:
                raise
            transport.closed = True
        return transport

    # -- after the handler -----------------------------------------------------------------------

    def settle(self, failed: bool) -> None:
        """Finish the response once the handler (and a file being sent) is over."""
        if self._done:
            return
        self._done = True
        stream = self.stream
        if stream is not None:
            stream.closed = True
        exchange = self._exchange
        if exchange.response_started:
            # A streamed body: it ends with the handler, or is cut short when the handler failed.
            if failed:
                exchange.abort()
            else:
                exchange.end()
            return
        self.status = 500
        try:
            exchange.start(500, _NO_HEADERS)
            exchange.end()
        except ResponseStateError:
            if not exchange.disconnected:
                raise
