"""The HTTP/1.1 parser seam: the small vocabulary a request parser speaks to the connection.

The connection never sees a parser library's own types. It finds where a head ends (with
:mod:`._guard`, which refuses what no parser should read) and hands the parser (:mod:`._h11`, the
default and the reference; :mod:`._httptools` beside it) that whole head with
:meth:`RequestParser.read_head`, which returns a :class:`RequestHead`: the request line and
headers, with the three facts the connection acts on already worked out (keep-alive,
``Expect: 100-continue``, an ``Upgrade`` header). The rest of the request comes from
:meth:`RequestParser.next_event` as these events:

* body bytes, as a plain bytes-like object (the data, de-chunked);
* :data:`END_OF_MESSAGE`: the request (body included) is complete;
* :data:`NEED_DATA`: nothing more until more bytes are fed.

A malformed request raises :class:`ParseError` carrying the status to answer with (400, 413, 414,
431, 501, 505): the connection answers it and closes.

The rules every parser must keep (the connection relies on each):

1. **Heads come whole, through the guard, once.** The connection calls ``read_head(data, end)``
   only with a head the guard has checked and found the end of (``data[:end]``), so a parser
   never searches for the end again and never reads a head the guard did not see; what follows
   the head in the same read (``data[end:]``, the body's first bytes or a pipelined request) is
   the parser's as if fed.
2. **One request per cycle.** After :data:`END_OF_MESSAGE` the parser returns :data:`NEED_DATA`
   until :meth:`RequestParser.restart`, which the connection calls once the response is done; the
   bytes it returns (a pipelined request) go through the guard before the next ``read_head``.
3. **The same answer for the same bad input.** The status a parser gives a malformed request is
   the one the h11 parser gives; the HTTP/1.1 test modules run against every parser to hold it.
4. **Bounded memory.** :attr:`RequestParser.buffered` reports what the parser holds unparsed, so
   the connection can stop reading; a chunk-size line that never ends is a ``ParseError(431)``.
"""

from __future__ import annotations

from typing import Final, NamedTuple, Protocol

__all__ = [
    'END_OF_MESSAGE',
    'NEED_DATA',
    'Event',
    'ParseError',
    'RequestHead',
    'RequestParser',
    'Signal',
    'head_flags',
]


class ParseError(Exception):
    """A request we refuse, with the status to answer (the reason goes to the debug log)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Signal:
    """The two events that carry no data; compared by identity."""

    __slots__ = ('name',)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NEED_DATA: Final = Signal('NEED_DATA')
END_OF_MESSAGE: Final = Signal('END_OF_MESSAGE')


class RequestHead(NamedTuple):
    """A request's line and headers, as the connection needs them.

    A tuple: the head is built once per request, and a parser can build it with
    ``tuple.__new__(RequestHead, (...))``, a C call, instead of a Python ``__init__``.
    """

    #: The method token as sent (methods are case-sensitive, RFC 9110 §9.1).
    method: bytes
    #: The request-target as sent (origin-form, absolute-form or asterisk-form).
    target: bytes
    #: HTTP/1.1 (``True``) or HTTP/1.0; other versions never get this far (505).
    http11: bool
    #: ``(name, value)`` pairs in the order received: names lower-case, values without the
    #: surrounding whitespace (RFC 9112 §5).
    headers: list[tuple[bytes, bytes]]
    #: What the request asks for: HTTP/1.1 unless ``Connection: close``, HTTP/1.0 only with
    #: ``Connection: keep-alive`` (RFC 9112 §9.3). The server may still say no.
    keep_alive: bool
    #: ``Expect: 100-continue`` on HTTP/1.1 (an HTTP/1.0 client cannot wait for a 100).
    expect_continue: bool
    #: An ``Upgrade`` header is present (a WebSocket or h2c candidate).
    upgrade: bool


#: What :meth:`RequestParser.next_event` returns (a head comes from ``read_head`` instead).
Event = bytes | bytearray | Signal


def head_flags(headers: list[tuple[bytes, bytes]], http11: bool) -> tuple[bool, bool, bool]:
    """``keep_alive``, ``expect_continue`` and ``upgrade`` of a head, from its lower-case fields.

    The rules of :class:`RequestHead`'s last three fields, in one place for every parser (a
    second pass over the fields costs ~1,700 instructions per request against folding these
    tests into the parsers' own loops: 0.6 % of a small request, paid for one set of rules).
    """
    keep_alive = http11  # HTTP/1.1 stays open unless asked to close; HTTP/1.0 only when asked
    upgrade = expect_continue = False
    for name, value in headers:
        if name == b'connection':
            # find, not ``in``: see _guard.head_end (browsers send this header on every request).
            lowered = value.lower()
            if lowered.find(b'close') >= 0:
                keep_alive = False
            elif lowered.find(b'keep-alive') >= 0:
                keep_alive = True
        elif name == b'upgrade':
            upgrade = True
        elif name == b'expect':
            # RFC 9110 §10.1.1; an HTTP/1.0 client cannot wait for a 100 (h11's rule too).
            expect_continue = http11 and value.lower().find(b'100-continue') >= 0
    return keep_alive, expect_continue, upgrade


class RequestParser(Protocol):
    """What the connection needs of a request parser (see the rules above)."""

    def read_head(self, data: bytes, end: int) -> RequestHead:
        """The head ``data[:end]`` (whole, checked by the guard); ``data[end:]`` is kept as fed.
        Raises :class:`ParseError` for a head the parser refuses."""

    def feed(self, data: bytes) -> None:
        """Add bytes received from the client after the head."""

    def next_event(self) -> Event:
        """The next event of the current request's body; raises :class:`ParseError` for a bad one."""

    @property
    def done(self) -> bool:
        """True once the current request has ended (what is buffered belongs to the next one)."""

    @property
    def buffered(self) -> int:
        """Bytes held but not parsed yet."""

    def pending(self) -> bytes:
        """The bytes received but not parsed (a pipelined request, or a new protocol's first bytes)."""

    def restart(self) -> bytes:
        """Get ready for the next request; return the unparsed bytes for the connection to check."""
