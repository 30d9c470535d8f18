"""The httptools-based request parser: llhttp (C) for the request line and headers.

The second parser behind the seam of :mod:`._events` (``granian[speedups]`` installs httptools;
the connection picks this parser when it is importable, unless told otherwise). It keeps every
rule of the seam, and gives the h11 parser's status for the same bad input; the HTTP/1.1 test
modules run against both parsers to hold that.

How it splits the work, and why:

* **Heads** go to llhttp, which checks the request line and every header field in C and calls us
  once per field. Only whole heads are read (``read_head``: the connection's guard has found the
  blank line), so llhttp never sees a byte of the next request: the seam's "one request per
  cycle" holds by construction, pipelined bytes return to the guard through
  :meth:`HttptoolsParser.restart`.
* **Bodies** are ours. llhttp would parse them too, but it consumes everything it is given and
  cannot say where a message ended, which the one-request-per-cycle rule needs. A Content-Length
  body is sliced exactly (no parsing to do); a chunked one is read by h11's chunked reader, the
  reference, whose every check then holds here too. After a message with a body, llhttp (which
  expected that body) gets a fresh parser for the next head.
* **Framing and its errors are decided as h11 decides them** (``Transfer-Encoding`` other than
  ``chunked`` is 501, conflicting ``Content-Length`` values 400), so both parsers refuse the same
  requests with the same status.

Only httptools' public API is used, so there is no version to pin beyond the one that has it.
"""

from __future__ import annotations

import h11
import httptools
from h11._readers import ChunkedReader
from h11._receivebuffer import ReceiveBuffer

from ._events import END_OF_MESSAGE, NEED_DATA, Event, ParseError, RequestHead, head_flags

__all__ = ['HttptoolsParser']

_new_head = tuple.__new__
_DIGITS = frozenset(b'0123456789')


# Where a request is (HttptoolsParser._state).
_HEAD, _LENGTH, _CHUNKED, _END, _DONE = 0, 1, 2, 3, 4


class HttptoolsParser:
    """A :class:`~._events.RequestParser` on llhttp for heads, with our own body framing."""

    __slots__ = (
        '_buffer',
        '_chunks',
        '_headers',
        '_limit',
        '_llhttp',
        '_remaining',
        '_state',
        '_target',
        'on_header',
        'on_url',
    )

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self._state = _HEAD
        self._headers: list[tuple[bytes, bytes]] = []
        self._target = b''
        self._remaining = 0
        # A chunked body is read by h11's chunked reader from h11's receive buffer.
        self._chunks: tuple[ChunkedReader, ReceiveBuffer] | None = None
        # httptools looks its callbacks up once, when the parser is made: bound here, as
        # attributes, they cost one Python call per field and no attribute search.
        self.on_url = self._on_url
        self.on_header = self._on_header
        self._llhttp = httptools.HttpRequestParser(self)

    # -- llhttp's callbacks --------------------------------------------------------------------

    def _on_url(self, url: bytes) -> None:
        self._target += url  # a whole head is fed at once: one call, in practice

    def _on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    # -- the seam ------------------------------------------------------------------------------

    def read_head(self, data: bytes, end: int) -> RequestHead:
        if end < len(data):
            # The body's first bytes, or a pipelined request (left for the next cycle).
            self._buffer += data[end:]
            data = data[:end]
        return self._parse_head(data)

    def feed(self, data: bytes) -> None:
        if self._chunks is not None:
            self._chunks[1].__iadd__(data)
        else:
            self._buffer += data

    @property
    def done(self) -> bool:
        return self._state == _DONE

    @property
    def buffered(self) -> int:
        return len(self._chunks[1]) if self._chunks is not None else len(self._buffer)

    def next_event(self) -> Event:
        state = self._state
        if state == _END:
            self._state = _DONE
            return END_OF_MESSAGE
        if state == _LENGTH:
            return self._length_body()
        if state == _CHUNKED:
            return self._chunked_body()
        return NEED_DATA  # no head yet, or the request has ended

    def _parse_head(self, head: bytes) -> RequestHead:
        parser = self._llhttp
        headers: list[tuple[bytes, bytes]] = []
        self._headers = headers
        self._target = b''
        upgraded = False
        try:
            parser.feed_data(head)
        except httptools.HttpParserUpgrade:
            # llhttp stops at the end of the head of an Upgrade request; the head is all we fed.
            upgraded = True
        except httptools.HttpParserError as exc:
            # llhttp refuses a coding other than chunked itself; h11 answers that one with 501.
            status = 501 if 'Transfer-Encoding' in str(exc) else 400
            raise ParseError(status, f'Bad Request: {exc}') from None
        method = parser.get_method()
        http11 = parser.get_http_version() == '1.1'
        chunked = False
        hosts = 0
        lengths: list[bytes] = []
        for name, value in headers:
            if name == b'content-length':
                lengths.extend(part.strip() for part in value.split(b','))
            elif name == b'transfer-encoding':
                # h11's rule: chunked is the only coding it takes, and alone (else 501).
                if value.strip().lower() != b'chunked' or chunked:
                    raise ParseError(501, 'Only Transfer-Encoding: chunked is supported')
                chunked = True
            elif name == b'host':
                hosts += 1
        # RFC 9112 §3.2, as h11 enforces it: an HTTP/1.1 request has exactly one Host (llhttp
        # does not check), an HTTP/1.0 one at most one.
        if hosts > 1 or (http11 and not hosts):
            raise ParseError(400, 'Bad Request: missing or repeated Host header')
        length = 0
        if lengths:
            # As h11: every value the same whole number (a list of equal values is one value).
            if len(set(lengths)) != 1 or not lengths[0] or not _DIGITS.issuperset(lengths[0]):
                raise ParseError(400, 'bad Content-Length')
            length = int(lengths[0])
        if chunked:
            receive = ReceiveBuffer()
            receive += self._buffer
            self._buffer = bytearray()
            self._chunks = (ChunkedReader(), receive)
            self._state = _CHUNKED
        elif length:
            self._remaining = length
            self._state = _LENGTH
        else:
            self._state = _END
        if self._state != _END or upgraded:
            # llhttp now expects the body we keep from it (or stopped at an upgrade): the next
            # head starts a fresh parser.
            self._llhttp = httptools.HttpRequestParser(self)
        fields = (method, self._target, http11, headers, *head_flags(headers, http11))
        return _new_head(RequestHead, fields)

    def _length_body(self) -> Event:
        buffer = self._buffer
        if not buffer:
            return NEED_DATA
        size = self._remaining
        if len(buffer) <= size:
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[:size])
            del buffer[:size]
        self._remaining -= len(data)
        if not self._remaining:
            self._state = _END
        return data

    def _chunked_body(self) -> Event:
        assert self._chunks is not None
        reader, receive = self._chunks
        try:
            event = reader(receive)
        except (h11.LocalProtocolError, h11.RemoteProtocolError) as exc:
            raise ParseError(exc.error_status_hint, str(exc)) from None
        if event is None:
            if len(receive) > self._limit:
                raise ParseError(431, 'Receive buffer too long')  # a chunk-size line that never ends
            return NEED_DATA
        if not isinstance(event, h11.Data):
            # What follows the body belongs to the next request: back into our own buffer.
            self._buffer = bytearray(bytes(receive))
            self._chunks = None
            self._state = _DONE
            return END_OF_MESSAGE
        return event.data

    def pending(self) -> bytes:
        return bytes(self._chunks[1]) if self._chunks is not None else bytes(self._buffer)

    def restart(self) -> bytes:
        pending = self.pending()
        self._buffer = bytearray()
        self._chunks = None
        self._state = _HEAD
        return pending
