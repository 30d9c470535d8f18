"""The h11-based request parser: the default one behind the seam, and the reference for any other.

h11 is a faithful, careful parser. ``h11.Connection`` wraps its readers in a state machine for
both peers: keep-alive, 100-continue, protocol switches and the server's own writes, all of which
the connection decides itself (it writes responses with :mod:`._response`). That bookkeeping cost
as much as the parsing (about 28 µs of a small request, against 12 µs for the readers alone), so
this adapter drives h11's readers directly: its request-line and header reader (which builds and
validates the ``h11.Request``), its body-framing rule, and its Content-Length and chunked readers.
Every check stays h11's; only the state machine is left out.

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
from h11._readers import READERS, maybe_read_from_IDLE_client
from h11._receivebuffer import ReceiveBuffer
from h11._state import SEND_BODY

from ._events import END_OF_MESSAGE, NEED_DATA, Event, ParseError, RequestHead

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


def _done(_: ReceiveBuffer) -> None:
    """The reader after the end of a request: nothing more until the next cycle."""
    return None


#: The buffer of a parser between requests, shared and never written to: an idle keep-alive
#: connection holds no buffer of its own (~150 bytes each). feed() replaces it before any write.
_EMPTY = ReceiveBuffer()


class H11Parser:
    """A :class:`~._events.RequestParser` on h11's readers."""

    __slots__ = ('_buffer', '_limit', '_reader')

    def __init__(self, limit: int) -> None:
        self._buffer = _EMPTY
        #: None while expecting a head; then the body reader; then :func:`_done`.
        self._reader: Callable[[ReceiveBuffer], Any] | None = None
        self._limit = limit

    def feed(self, data: bytes) -> None:
        buffer = self._buffer
        if buffer is _EMPTY:
            buffer = self._buffer = ReceiveBuffer()
        buffer += data

    @property
    def done(self) -> bool:
        return self._reader is _done

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_event(self) -> Event:
        reader = self._reader
        if reader is None:
            if self._buffer is _EMPTY:
                return NEED_DATA  # nothing fed since the last request (and _EMPTY stays untouched)
            try:
                request = maybe_read_from_IDLE_client(self._buffer)
                if request is None:
                    return NEED_DATA
                framing, args = _body_framing(request.method, request)
            except _H11_ERRORS as exc:
                raise _refusal(exc) from None
            self._reader = _BODY_READERS[framing](*args)
            # The head in our terms, written out here rather than in a helper (once per request).
            # h11 keeps (raw name, lower-case name, value) triples; its public iteration would
            # build a second list of pairs we would then copy again.
            headers = [(name, value) for _, name, value in request.headers._full_items]
            http11 = request.http_version == b'1.1'
            # HTTP/1.1 stays open unless asked to close; HTTP/1.0 only when asked to stay open.
            keep_alive = http11
            upgrade = expect_continue = False
            for name, value in headers:
                if name == b'connection':
                    value = value.lower()
                    if b'close' in value:
                        keep_alive = False
                    elif b'keep-alive' in value:
                        keep_alive = True
                elif name == b'upgrade':
                    upgrade = True
                elif name == b'expect':
                    # RFC 9110 §10.1.1; an HTTP/1.0 client cannot wait for a 100 (h11's rule too).
                    expect_continue = http11 and b'100-continue' in value.lower()
            fields = (request.method, request.target, http11, headers, keep_alive, expect_continue, upgrade)
            return _new_head(RequestHead, fields)
        try:
            event = reader(self._buffer)
        except _H11_ERRORS as exc:
            raise _refusal(exc) from None
        if event is None:
            if reader is not _done and len(self._buffer) > self._limit:
                # Only a chunk-size line can grow without an event: one that never ends.
                raise ParseError(431, 'Receive buffer too long')
            return NEED_DATA
        kind = type(event)
        if kind is _Data:
            return event.data  # type: ignore[no-any-return]
        if kind is _EndOfMessage:
            self._reader = _done
            return END_OF_MESSAGE
        raise ParseError(400, f'unexpected h11 event {event!r}')  # pragma: no cover (h11 yields no other)

    def pending(self) -> bytes:
        return bytes(self._buffer)

    def restart(self) -> bytes:
        pending = bytes(self._buffer)
        self._buffer = _EMPTY
        self._reader = None
        return pending
