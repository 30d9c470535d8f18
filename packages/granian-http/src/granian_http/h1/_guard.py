"""Checks on a raw HTTP/1.1 request head, made before any parser reads it.

Parsers are faithful, but lenient where lenience lets one request hide inside another or lets a
client spend our memory, and two parsers are lenient in different places. These cases are refused
here, up front and the same way whichever parser sits behind the seam, as hardened servers (nginx,
h2o, hyper) refuse them:

* a head larger than the buffer limit, even when it arrives in a single read (h11's own limit
  only applies to an event that is still incomplete);
* more header lines than :data:`MAX_HEADERS` (hyper's default);
* obs-fold continuation lines (RFC 9112 §5.2 allows a server to reject them, and h11 would join
  them into a value other parsers may read differently);
* ``Content-Length`` together with ``Transfer-Encoding`` (RFC 9112 §6.3 says such a message may
  be a smuggling attempt; we answer 400 and close instead of picking one);
* a request line longer than :data:`MAX_REQUEST_LINE` (414, as hyper does);
* an HTTP version other than 1.0 and 1.1 (505).

Everything else (token syntax, a missing Host, conflicting Content-Length values, chunk syntax) is
the parser's job, held to h11's answers (see :mod:`._events`).
"""

from __future__ import annotations

from ._events import ParseError

__all__ = ['MAX_HEADERS', 'MAX_REQUEST_LINE', 'head_end']

#: More header lines than this is a 431 (hyper's default; a browser sends about 20).
MAX_HEADERS = 100
#: A longer request line is a 414 (hyper's limit: it fits the 16-bit lengths of its parser).
MAX_REQUEST_LINE = 65534
# The end of the usual request line.
_HTTP11_CR = b' HTTP/1.1\r'


def head_end(data: bytes, limit: int) -> int:
    """Where the head in ``data`` ends (just past its blank line), or -1 while it is incomplete.

    Raises :class:`~._events.ParseError` for a head we refuse, complete or not: an incomplete
    head is checked too, so a client cannot make us buffer what we would refuse once it ended.
    One function does the finding and the checking, because it runs once per request.
    """
    end = data.find(b'\r\n\r\n')
    if end >= 0:
        end += 4
    else:
        # Parsers accept a bare LF as a line end (RFC 9112 §2.2 allows it), so a head may also
        # end in \n\n or \n\r\n.
        lf = data.find(b'\n\n')
        lfcrlf = data.find(b'\n\r\n')
        if lf < 0 and lfcrlf < 0:
            _check_partial(data, limit)
            return -1
        end = lf + 2 if lfcrlf < 0 or 0 <= lf < lfcrlf else lfcrlf + 3
    line_end = data.find(b'\n', 0, end)
    if line_end > MAX_REQUEST_LINE:
        raise ParseError(414, 'URI Too Long')
    if end > limit:
        # Parsers only bound a head that is still incomplete; one that arrives whole in a single
        # read would otherwise be taken at any size.
        raise ParseError(431, 'Request Header Fields Too Large')
    # The version is what follows the line's last space: nearly always " HTTP/1.1" before a CR,
    # which one slice tells; anything else is read out in full (four calls).
    if data[line_end - 10 : line_end] != _HTTP11_CR:
        version = data[data.rfind(b' ', 0, line_end) + 1 : line_end].rstrip(b'\r')
        if version != b'HTTP/1.1' and version != b'HTTP/1.0':
            # A well-formed HTTP-version we do not speak is 505 (RFC 9110 §15.6.6); anything else
            # in its place is not an HTTP/1.x request at all.
            if version.startswith(b'HTTP/') and len(version) == 8 and version[5:6].isdigit() and version[7:8].isdigit():
                raise ParseError(505, 'HTTP Version Not Supported')
            raise ParseError(400, 'Bad Request')
    # Line feeds count the lines: the request line and the blank line are two of them.
    if data.count(b'\n', 0, end) - 2 > MAX_HEADERS:
        raise ParseError(431, 'Request Header Fields Too Large')
    # A line starting with whitespace continues the previous one (obs-fold, §5.2): parsers that
    # join it and parsers that reject it would read two different requests.
    if data.find(b'\n ', 0, end) >= 0 or data.find(b'\n\t', 0, end) >= 0:
        raise ParseError(400, 'Bad Request: obsolete line folding')
    # Both framings at once is the classic smuggling setup (§6.3, §11.2): one hop reads one,
    # the next hop the other. Names are case-insensitive: one lower-cased copy of the head.
    # (find, not ``in``: on CPython 3.11-3.13 ``bytes in bytes`` first tries the needle as an
    # integer and raises and clears a TypeError inside, which costs two to four times the search.)
    lowered = data[:end].lower()
    if lowered.find(b'\ntransfer-encoding:') >= 0 and lowered.find(b'\ncontent-length:') >= 0:
        raise ParseError(400, 'Bad Request: both Content-Length and Transfer-Encoding')
    return end


def _check_partial(data: bytes, limit: int) -> None:
    """Refuse an incomplete head that has already grown past what we would accept."""
    if len(data) > limit:
        first_line_end = data.find(b'\n')
        if first_line_end < 0 or first_line_end > MAX_REQUEST_LINE:
            raise ParseError(414, 'URI Too Long')
        raise ParseError(431, 'Request Header Fields Too Large')
    if len(data) > MAX_REQUEST_LINE and data.find(b'\n') < 0:
        raise ParseError(414, 'URI Too Long')
