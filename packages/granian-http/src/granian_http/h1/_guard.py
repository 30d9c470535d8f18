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

__all__ = ['MAX_HEADERS', 'MAX_REQUEST_LINE', 'check_head', 'check_partial_head', 'find_head_end']

#: More header lines than this is a 431 (hyper's default; a browser sends about 20).
MAX_HEADERS = 100
#: A longer request line is a 414 (hyper's limit: it fits the 16-bit lengths of its parser).
MAX_REQUEST_LINE = 65534


def find_head_end(data: bytes) -> int:
    """Return the offset just past the blank line that ends the head, or -1.

    Parsers accept a bare LF as a line end (as RFC 9112 §2.2 allows), so a head may end in ``\\n\\n``
    or ``\\n\\r\\n`` as well as the usual ``\\r\\n\\r\\n``.
    """
    end = data.find(b'\r\n\r\n')
    if end >= 0:
        return end + 4
    lf = data.find(b'\n\n')
    lfcrlf = data.find(b'\n\r\n')
    if lf < 0 and lfcrlf < 0:
        return -1
    if lfcrlf < 0 or 0 <= lf < lfcrlf:
        return lf + 2
    return lfcrlf + 3


def check_partial_head(data: bytes, limit: int) -> None:
    """Refuse an incomplete head that has already grown past what we would accept."""
    if len(data) > limit:
        first_line_end = data.find(b'\n')
        if first_line_end < 0 or first_line_end > MAX_REQUEST_LINE:
            raise ParseError(414, 'URI Too Long')
        raise ParseError(431, 'Request Header Fields Too Large')
    if data.find(b'\n') < 0 and len(data) > MAX_REQUEST_LINE:
        raise ParseError(414, 'URI Too Long')


def check_head(data: bytes, end: int, limit: int) -> None:
    """Check the head ``data[:end]``; raise :class:`~._events.ParseError` if we refuse it."""
    line_end = data.find(b'\n', 0, end)
    if line_end > MAX_REQUEST_LINE:
        raise ParseError(414, 'URI Too Long')
    if end > limit:
        raise ParseError(431, 'Request Header Fields Too Large')
    version_at = data.rfind(b' ', 0, line_end)
    version = data[version_at + 1 : line_end].rstrip(b'\r')
    if version != b'HTTP/1.1' and version != b'HTTP/1.0':
        if version.startswith(b'HTTP/') and len(version) == 8 and version[5:6].isdigit() and version[7:8].isdigit():
            raise ParseError(505, 'HTTP Version Not Supported')
        raise ParseError(400, 'Bad Request')
    if data.count(b'\n', 0, end) - 2 > MAX_HEADERS:
        raise ParseError(431, 'Request Header Fields Too Large')
    if data.find(b'\n ', 0, end) >= 0 or data.find(b'\n\t', 0, end) >= 0:
        raise ParseError(400, 'Bad Request: obsolete line folding')
    lowered = data[:end].lower()
    if b'\ntransfer-encoding:' in lowered and b'\ncontent-length:' in lowered:
        raise ParseError(400, 'Bad Request: both Content-Length and Transfer-Encoding')
