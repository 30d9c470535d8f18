"""RSGI's HTTP objects over the exchange contract: the scope, the protocol, the stream transport.

Upstream's behaviour, which these follow:

* The scope is plain attributes; ``client``, ``server`` (``'ip:port'``, IPv6 in brackets; on a
  Unix socket ``'<path>:0'`` and ``''``) and the headers mapping are built only when read.
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

from granian_http import ClientDisconnected, Exchange, ResponseStateError
from granian_rsgi_spec import (
    RSGI_VERSION,
    HTTPProtocol,
    HTTPStreamTransport,
    ProtocolClosed,
    ProtocolError,
    ResponseHeaders,
)

from ..log import logger
from .common import decode_path
from .rsgi_headers import RSGIHeaders

__all__ = [
    'NO_RESPONSE',
    'RESPONSE_FILE',
    'RESPONSE_SENT',
    'RESPONSE_STREAM',
    'RSGIBodyChunks',
    'RSGIHTTPProtocol',
    'RSGIHTTPScope',
    'RSGIStreamTransport',
    'format_address',
]

_NOT_FOUND_HEADERS = ((b'content-type', b'text/plain; charset=utf-8'),)
_NO_HEADERS: tuple[tuple[bytes, bytes], ...] = ()
_PERCENT = 37  # ord('%'): an int membership test on bytes is several times faster than b'%'

# Apps send the same few headers again and again, usually as constant tuples: encode each once.
# Bounded, so that headers which change on every response cannot grow it without limit.
_ENCODED: dict[tuple[str, str], tuple[bytes, bytes]] = {}
_ENCODED_MAX = 1024


def format_address(address: tuple[str, int] | None) -> str:
    """``'host:port'``, with an IPv6 host in brackets; ``''`` when there is no address."""
    if address is None:
        return ''
    host, port = address
    if ':' in host:
        return f'[{host}]:{port}'
    return f'{host}:{port}'


def _encode_header(header: tuple[str, str]) -> tuple[bytes, bytes]:
    name, value = header
    try:
        pair = (name.encode('latin-1'), value.encode('latin-1'))
    except AttributeError:
        # bytes or another non-str: a TypeError naming what was given, as upstream raises.
        raise TypeError(f'RSGI response headers are (str, str) pairs, not {header!r}') from None
    if len(_ENCODED) < _ENCODED_MAX and type(header) is tuple:
        _ENCODED[header] = pair
    return pair


def _check_bytes(data: object, call: str) -> None:
    """A body that is not bytes-like is refused before the exchange sees it: the wire layer
    would fail halfway (after counting it against the content-length, say)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f'{call} takes bytes, not {type(data).__name__}')


def _encode_headers(headers: ResponseHeaders) -> Sequence[tuple[bytes, bytes]]:
    encoded = []
    lookup = _ENCODED.get
    for header in headers:
        try:
            pair = lookup(header)
        except TypeError:  # a list pair: unhashable, so never cached
            pair = None
        encoded.append(pair or _encode_header(header))
    return encoded


class RSGIHTTPScope:
    """The scope of one HTTP request; satisfies :class:`granian_rsgi_spec.Scope` structurally.

    Not a subclass: the spec declares read-only properties, and plain slots are what make the
    scope cheap to build. What apps read on every request is computed here; ``client``,
    ``server`` and ``headers`` cost formatting, so they are computed when read.
    """

    __slots__ = (
        '_exchange',
        '_headers',
        'authority',
        'http_version',
        'method',
        'path',
        'query_string',
        'scheme',
    )

    proto = 'http'
    rsgi_version = RSGI_VERSION

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._headers: RSGIHeaders | None = None
        self.http_version = exchange.http_version
        self.scheme = exchange.scheme
        self.method = exchange.method
        raw_path = exchange.raw_path
        if _PERCENT in raw_path:
            self.path = decode_path(raw_path)
        else:
            try:
                self.path = raw_path.decode()
            except UnicodeDecodeError:
                self.path = raw_path.decode('utf-8', 'replace')
        query = exchange.query_string
        self.query_string = query.decode('utf-8', 'replace') if query else ''
        self.authority = exchange.authority

    @property
    def client(self) -> str:
        return format_address(self._exchange.client)

    @property
    def server(self) -> str:
        return format_address(self._exchange.server)

    @property
    def headers(self) -> RSGIHeaders:
        headers = self._headers
        if headers is None:
            headers = self._headers = RSGIHeaders(self._exchange.headers)
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
        if type(data) is not bytes:
            _check_bytes(data, 'send_bytes')
        exchange.write(data)
        if exchange.write_paused:
            # The client reads slower than the app writes: wait for it, so that the body is
            # never buffered in the server.
            await exchange.drain()
            if exchange.disconnected:
                raise ProtocolClosed()

    async def send_str(self, data: str) -> None:
        try:
            encoded = data.encode('utf-8')
        except AttributeError:
            raise TypeError(f'send_str takes a str, not {type(data).__name__}') from None
        await self.send_bytes(encoded)


#: :attr:`RSGIHTTPProtocol.state` values: which response the app chose.
NO_RESPONSE, RESPONSE_SENT, RESPONSE_STREAM, RESPONSE_FILE = 0, 1, 2, 3


class RSGIHTTPProtocol(HTTPProtocol):
    """One request's body and response."""

    __slots__ = ('_body_taken', '_exchange', 'pending', 'state', 'status')

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._body_taken = False
        #: One of the ``RESPONSE_*`` values once a response method succeeded.
        self.state = NO_RESPONSE
        #: The status sent, for the access log: 500 until the app chooses one.
        self.status = 500
        #: The stream transport, or the task sending the file.
        self.pending: RSGIStreamTransport | asyncio.Task[None] | None = None

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
    #
    # The three whole-body calls repeat a few lines instead of sharing a helper: this is the
    # path every request takes, and a call costs more than the lines.

    def response_bytes(self, status: int = 200, headers: ResponseHeaders = (), body: bytes = b'') -> None:
        if self.state:
            return
        if type(body) is not bytes:
            _check_bytes(body, 'response_bytes')
        self.status = status
        exchange = self._exchange
        try:
            exchange.start(status, _encode_headers(headers) if headers else _NO_HEADERS)
            exchange.end(body)
        except ResponseStateError:
            # The protocol gave up on this request (the client is gone): nothing can be sent.
            if not exchange.disconnected:
                raise
        self.state = RESPONSE_SENT

    def response_str(self, status: int = 200, headers: ResponseHeaders = (), body: str = '') -> None:
        if self.state:
            return
        try:
            data = body.encode('utf-8')
        except AttributeError:
            raise TypeError(f'response_str takes a str body, not {type(body).__name__}') from None
        self.status = status
        exchange = self._exchange
        try:
            exchange.start(status, _encode_headers(headers) if headers else _NO_HEADERS)
            exchange.end(data)
        except ResponseStateError:
            if not exchange.disconnected:
                raise
        self.state = RESPONSE_SENT

    def response_empty(self, status: int = 200, headers: ResponseHeaders = ()) -> None:
        if self.state:
            return
        self.status = status
        exchange = self._exchange
        try:
            exchange.start(status, _encode_headers(headers) if headers else _NO_HEADERS)
            exchange.end()
        except ResponseStateError:
            if not exchange.disconnected:
                raise
        self.state = RESPONSE_SENT

    def response_file(self, status: int, headers: ResponseHeaders, file: str) -> None:
        if self.state:
            return
        self._start_file(status, headers, file, 0, None)

    def response_file_range(self, status: int, headers: ResponseHeaders, file: str, start: int, end: int) -> None:
        if start >= end or start < 0:
            raise ValueError('Invalid range')
        if self.state:
            return
        self._start_file(status, headers, file, start, end - start)

    def _start_file(self, status: int, headers: ResponseHeaders, file: str, offset: int, count: int | None) -> None:
        self.status = status
        self._exchange.start(status, _encode_headers(headers))
        self.state = RESPONSE_FILE
        self.pending = asyncio.get_running_loop().create_task(self._send_file(file, offset, count))

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

    def response_stream(self, status: int = 200, headers: ResponseHeaders = ()) -> RSGIStreamTransport:
        if self.state:
            raise ProtocolError()
        self.status = status
        exchange = self._exchange
        transport = RSGIStreamTransport(exchange)
        try:
            exchange.start(status, _encode_headers(headers))
            # Upstream sends the head at once: an app may stream nothing for a while (events).
            exchange.flush_head()
        except ResponseStateError:
            if not exchange.disconnected:
                raise
            transport.closed = True
        self.state = RESPONSE_STREAM
        self.pending = transport
        return transport

    # -- after the handler -----------------------------------------------------------------------

    async def settle(self, failed: bool) -> None:
        """Finish the response once the handler returned (or raised), unless it is already sent."""
        pending = self.pending
        if isinstance(pending, asyncio.Task):
            try:
                await pending
            except Exception:
                failed = True
                logger.error('Unable to send the response file', exc_info=True)
        elif pending is not None:
            pending.closed = True
        exchange = self._exchange
        if exchange.response_started:
            # A streamed body: it ends with the handler, or is cut short when the handler failed.
            if failed:
                exchange.abort()
            elif self.state == RESPONSE_STREAM:
                exchange.end()
            return
        self.status = 500
        try:
            exchange.start(500, _NO_HEADERS)
            exchange.end()
        except ResponseStateError:
            if not exchange.disconnected:
                raise
