"""The h11-based request parser: the default one behind the seam, and the reference for any other.

h11 is a faithful, careful parser. ``h11.Connection`` wraps its readers in a state machine for
both peers: keep-alive, 100-continue, protocol switches and the server's own writes, all of which
the connection decides itself (it writes responses with :mod:`._response`). That bookkeeping cost
as much as the parsing (about 28 µs of a small request, against 12 µs for the readers alone), so
this adapter drives h11's readers directly: its request-line and header reader (which builds and
validates the ``h11.Request``), its body-framing rule, and its Content-Length and chunked readers.
Every check stays h11's; only the state machine is left out.

**The usual head is read without h11's reader, with h11's own grammar.** h11's head reader is
careful but spends most of its time on plumbing: a generator per stage, a ``validate`` call per
line, an ``h11.Request`` whose constructor re-checks what the reader has just matched, and the
receive buffer's bytearray copies: about a quarter of a small request's instructions. A head
made only of what every client sends (CRLF line ends, no continuation lines, at most one plain
``Content-Length``, no ``Transfer-Encoding``, one ``Host`` on HTTP/1.1) is read here from the
bytes, matching the request line and every field line with h11's own compiled patterns
(``h11._readers.request_line_re`` and ``header_field_re``), so it accepts exactly what h11
accepts and reads the same fields; a Content-Length body that came whole in the same read is
then handed out as a slice (h11's length reader would copy it through its buffer twice).
Anything else, valid or not, goes to h11's reader unchanged: every refusal, with its status, is
still h11's own, and unusual framing is still decided by h11.
``tests/http/test_h11_fast_head.py`` holds the two readers to the same result on a corpus and on
thousands of mutations of it.

The readers are h11 internals (``h11._readers``, ``h11._receivebuffer``, ``h11._connection``, the
headers' ``_full_items``), used nowhere else in granian-http. :data:`WRITTEN_FOR` names the h11
minor versions they were written against (granian-http's pin admits only those), and
``tests/http/test_h11_adapter.py`` fails loudly if the installed h11 lacks any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h11
from h11._connection import _body_framing
from h11._readers import READERS, header_field_re, maybe_read_from_IDLE_client, request_line_re
from h11._receivebuffer import ReceiveBuffer
from h11._state import SEND_BODY

from ._events import END_OF_MESSAGE, NEED_DATA, Event, ParseError, RequestHead, head_flags

__all__ = ['WRITTEN_FOR', 'H11Parser']

#: The h11 minor versions this adapter was written and tested against.
WRITTEN_FOR = ('0.16',)

# Framing name ("content-length", "chunked") -> h11's body reader class.
_BODY_READERS: dict[str, Callable[..., Any]] = READERS[SEND_BODY]  # type: ignore[assignment]
_Request = h11.Request
_Data = h11.Data
# RequestHead's fields in order, without the Python __new__ a NamedTuple call goes through.
_new_head = tuple.__new__
_EndOfMessage = h11.EndOfMessage


# h11's readers raise LocalProtocolError too; its Connection would re-raise them as the remote's.
_H11_ERRORS = (h11.LocalProtocolError, h11.RemoteProtocolError)


def _refusal(exc: h11.ProtocolError) -> ParseError:
    """The status h11 would answer with (its hint), and its reason."""
    return ParseError(exc.error_status_hint, str(exc))


_content_length_reader = _BODY_READERS['content-length']
# h11's patterns, fully matched: the same acceptance as its reader (which calls fullmatch too).
_request_line = request_line_re.fullmatch
_field_line = header_field_re.fullmatch
# h11 refuses a Content-Length of more digits (CONTENT_LENGTH_MAX_DIGITS); a longer one is left
# to it, so that refusal stays its own.
_MAX_LENGTH_DIGITS = 20


def _fast_head(data: bytes, end: int) -> tuple[RequestHead, int] | None:
    """The head ``data[:end]`` as h11 would read it, and its body length; ``None`` when it is not
    of the usual kind (see the module's docstring) and h11's reader must decide."""
    if not data.endswith(b'\r\n\r\n', 0, end):
        return None  # a bare LF ends the head: h11's reader takes it
    lines = data[: end - 4].split(b'\r\n')
    line = lines[0]
    # The patterns take no CR, LF or leading whitespace, so a bare LF inside a line (h11 splits
    # lines on it) or a continuation line fails them too, and h11 reads that head instead.
    match = _request_line(line)
    if match is None:
        return None
    method, target, version = match.group('method', 'target', 'http_version')
    http11 = version == b'1.1'
    hosts = 0
    length = -1
    headers: list[tuple[bytes, bytes]] = []
    append = headers.append
    for line in lines[1:]:
        match = _field_line(line)
        if match is None:
            return None
        name, value = match.group('field_name', 'field_value')
        name = name.lower()
        if name == b'host':
            hosts += 1
        elif name == b'content-length':
            # h11 keeps one normalized value out of lists and repeats; only the plain case here.
            if length >= 0 or not value.isdigit() or len(value) > _MAX_LENGTH_DIGITS:
                return None
            length = int(value)
        elif name == b'transfer-encoding':
            return None
        append((name, value))
    if hosts > 1 or (http11 and not hosts):
        return None  # h11 refuses it, with its own reason
    fields = (method, target, http11, headers, *head_flags(headers, http11))
    return _new_head(RequestHead, fields), max(length, 0)


#: The buffer of a parser between requests, shared and never written to: an idle keep-alive
#: connection holds no buffer of its own (~150 bytes each). feed() replaces it before any write.
_EMPTY = ReceiveBuffer()


# Where a request is (H11Parser._state): its head not read yet; its body being read by an h11
# reader; a whole body that came with the head, handed out next (h11's content-length reader
# would copy it through its buffer twice); its end next (no body, or the held body is out);
# ended, nothing more until restart.
_HEAD, _READER, _HELD, _ENDS, _DONE = 0, 1, 2, 3, 4


class H11Parser:
    """A :class:`~._events.RequestParser` on h11's readers."""

    __slots__ = ('_body', '_buffer', '_limit', '_reader', '_state')

    def __init__(self, limit: int) -> None:
        self._buffer = _EMPTY
        #: A whole body that came with its head, until it is read (state _HELD).
        self._body = b''
        self._state = _HEAD
        #: h11's body reader (state _READER).
        self._reader: Callable[[ReceiveBuffer], Any] | None = None
        self._limit = limit

    def read_head(self, data: bytes, end: int) -> RequestHead:
        fast = _fast_head(data, end)
        if fast is not None:
            head, length = fast
            if not length:
                self._state = _ENDS
            elif len(data) - end >= length:
                # The usual small upload: the whole body came in the same read.
                self._state = _HELD
                self._body = data[end : end + length]
                end += length
            else:
                self._state = _READER
                self._reader = _content_length_reader(length)
            if end < len(data):
                # The body's first bytes, or a pipelined request: h11's buffer from here.
                rest = self._buffer = ReceiveBuffer()
                rest += data[end:]
            return head
        # Not the usual head: h11's reader reads it (and any refusal is its own).
        buffer = self._buffer = ReceiveBuffer()
        buffer += data
        try:
            request = maybe_read_from_IDLE_client(buffer)
            if request is None:
                # Cannot happen: the guard's end of a head is never before h11's blank line.
                raise ParseError(400, 'Bad Request: incomplete head')
            framing, args = _body_framing(request.method, request)
        except _H11_ERRORS as exc:
            raise _refusal(exc) from None
        self._state = _READER
        self._reader = _BODY_READERS[framing](*args)
        # h11 keeps (raw name, lower-case name, value) triples; its public iteration would
        # build a second list of pairs we would then copy again.
        headers = [(name, value) for _, name, value in request.headers._full_items]
        http11 = request.http_version == b'1.1'
        return RequestHead(request.method, request.target, http11, headers, *head_flags(headers, http11))

    def feed(self, data: bytes) -> None:
        buffer = self._buffer
        if buffer is _EMPTY:
            buffer = self._buffer = ReceiveBuffer()
        buffer += data

    @property
    def done(self) -> bool:
        return self._state == _DONE

    @property
    def buffered(self) -> int:
        return len(self._body) + len(self._buffer)

    def next_event(self) -> Event:
        state = self._state
        if state == _ENDS:
            self._state = _DONE
            return END_OF_MESSAGE
        if state == _HELD:
            body, self._body = self._body, b''
            self._state = _ENDS
            return body
        if state != _READER:
            return NEED_DATA  # no head yet, or the request has ended
        try:
            event = self._reader(self._buffer)  # type: ignore[misc]
        except _H11_ERRORS as exc:
            raise _refusal(exc) from None
        if event is None:
            if len(self._buffer) > self._limit:
                # Only a chunk-size line can grow without an event: one that never ends.
                raise ParseError(431, 'Receive buffer too long')
            return NEED_DATA
        kind = type(event)
        if kind is _Data:
            return event.data  # type: ignore[no-any-return]
        if kind is _EndOfMessage:
            self._state = _DONE
            self._reader = None
            return END_OF_MESSAGE
        raise ParseError(400, f'unexpected h11 event {event!r}')  # pragma: no cover (h11 yields no other)

    def pending(self) -> bytes:
        # What is fed but not read: a body not read yet, then the rest.
        return self._body + bytes(self._buffer) if self._body else bytes(self._buffer)

    def restart(self) -> bytes:
        pending = self.pending()
        self._body = b''
        self._buffer = _EMPTY
        self._state = _HEAD
        self._reader = None
        return pending
