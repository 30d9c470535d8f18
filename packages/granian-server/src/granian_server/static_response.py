"""Which response a static file gets: validators, conditional requests and byte ranges.

Pure functions over the request's method and headers and the file's size and modification time,
so every case is unit-testable without a server. RFC 9110 is the reference:

* ``ETag`` is ``"<mtime_ns hex>-<size hex>"`` (cheap, and it changes whenever the file does),
  with ``-<coding>`` added for a precompressed variant (:mod:`.static_precompressed`), so no two
  representations share one; ``Last-Modified`` is the modification time in whole seconds.
* §13.2.2 precedence: ``If-None-Match`` (weak comparison, ``*`` matches) decides alone when it
  is present; only without it is ``If-Modified-Since`` looked at. A hit is a 304 for GET and
  HEAD. An unparsable date is ignored.
* §14.2 ``Range`` is honoured on GET only, for one ``bytes`` range (``a-b``, ``a-``, ``-n``):
  206 with ``content-range``, or 416 with ``content-range: bytes */size`` when it cannot be
  satisfied. A header that does not parse, another unit, or several ranges get the whole file
  (200), which the RFC allows.
* §13.1.5 ``If-Range``: the range is served only when the validator matches, an entity tag by
  strong comparison (a weak one never matches) or a date equal to ``Last-Modified``; otherwise
  the whole file is sent.
"""

from __future__ import annotations

import email.utils
from functools import lru_cache
from typing import Literal, NamedTuple

from granian_http import Headers

__all__ = [
    'Conditions',
    'Plan',
    'etag_for',
    'parse_range',
    'plan_response',
    'read_conditions',
]


@lru_cache(maxsize=1024)
def _http_date(seconds: int) -> bytes:
    return email.utils.formatdate(seconds, usegmt=True).encode('ascii')


def etag_for(size: int, mtime_ns: int, coding: str | None = None) -> bytes:
    if coding is None:
        return b'"%x-%x"' % (mtime_ns, size)
    return b'"%x-%x-%s"' % (mtime_ns, size, coding.encode('ascii'))


class Conditions(NamedTuple):
    """The request headers that shape a static response (each ``None`` when absent)."""

    if_none_match: bytes | None = None
    if_modified_since: bytes | None = None
    range: bytes | None = None
    if_range: bytes | None = None
    #: Only looked at when precompressed variants are served.
    accept_encoding: bytes | None = None


def read_conditions(headers: Headers) -> Conditions:
    """Pick the conditional, range and coding headers out of a request (names are lower-case)."""
    none_match = modified_since = byte_range = if_range = accept_encoding = None
    for name, value in headers:
        # Repeated list fields form one comma-separated list (RFC 9110 §5.3).
        if name == b'if-none-match':
            none_match = value if none_match is None else none_match + b',' + value
        elif name == b'accept-encoding':
            accept_encoding = value if accept_encoding is None else accept_encoding + b',' + value
        elif name == b'if-modified-since':
            modified_since = value
        elif name == b'range':
            byte_range = value
        elif name == b'if-range':
            if_range = value
    return Conditions(none_match, modified_since, byte_range, if_range, accept_encoding)


def _parse_date(value: bytes) -> int | None:
    try:
        parsed = email.utils.parsedate_tz(value.decode('latin-1'))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    try:
        return email.utils.mktime_tz(parsed)
    except (OverflowError, ValueError):
        return None


def _none_match(header: bytes, etag: bytes) -> bool:
    """Weak comparison of ``etag`` with each tag in an ``If-None-Match`` list."""
    for candidate in header.split(b','):
        candidate = candidate.strip()
        if candidate == b'*':
            return True
        if candidate.startswith(b'W/'):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def parse_range(header: bytes, size: int) -> tuple[int, int] | Literal['unsatisfiable'] | None:
    """The one byte range a ``Range`` header asks for, as ``(first, last)`` inclusive.

    Returns ``None`` when the header is to be ignored (does not parse, another unit, several
    ranges) and ``'unsatisfiable'`` when it parses but no byte of a ``size``-byte file is in it.
    """
    unit, sep, spec = header.partition(b'=')
    if not sep or unit.strip().lower() != b'bytes':
        return None
    spec = spec.strip()
    if b',' in spec:
        return None
    first_text, dash, last_text = spec.partition(b'-')
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or (first_text and not first_text.isdigit()) or (last_text and not last_text.isdigit()):
        return None
    if not first_text:
        if not last_text:
            return None
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            return 'unsatisfiable'
        return (max(0, size - suffix), size - 1)
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None
    if first >= size:
        return 'unsatisfiable'
    return (first, min(last, size - 1))


def _if_range_holds(value: bytes, etag: bytes, mtime_s: int) -> bool:
    value = value.strip()
    if value.startswith(b'W/'):
        return False
    if value.startswith(b'"'):
        return value == etag
    return _parse_date(value) == mtime_s


class Plan(NamedTuple):
    """The response to send: status and headers, and which bytes of the file (if any) follow."""

    status: int
    headers: list[tuple[bytes, bytes]]
    offset: int = 0
    #: How many bytes of the file form the body; 0 for a response without one.
    length: int = 0


def plan_response(
    method: str,
    conditions: Conditions,
    *,
    size: int,
    mtime_ns: int,
    media_type: str,
    expires: int,
    coding: str | None = None,
    vary: bool = False,
) -> Plan:
    """Decide the response for a GET or HEAD of a file of ``size`` bytes modified at ``mtime_ns``.

    ``coding`` is the ``content-encoding`` of a precompressed variant (whose own size and time
    these are); ``vary`` adds ``vary: accept-encoding`` for a file that has variants.
    """
    mtime_s = mtime_ns // 1_000_000_000
    etag = etag_for(size, mtime_ns, coding)
    # A 304 repeats what a cache needs to refresh its copy (RFC 9110 §15.4.5).
    not_modified = [(b'etag', etag)]
    if expires:
        not_modified.append((b'cache-control', b'max-age=%d' % expires))
    if vary:
        not_modified.append((b'vary', b'accept-encoding'))

    if conditions.if_none_match is not None:
        if _none_match(conditions.if_none_match, etag):
            return Plan(304, not_modified)
    elif conditions.if_modified_since is not None:
        since = _parse_date(conditions.if_modified_since)
        if since is not None and mtime_s <= since:
            return Plan(304, not_modified)

    headers = [(b'content-type', media_type.encode('latin-1'))]
    if coding is not None:
        headers.append((b'content-encoding', coding.encode('ascii')))
    headers += [
        (b'accept-ranges', b'bytes'),
        (b'last-modified', _http_date(mtime_s)),
        *not_modified,
    ]
    if (
        method == 'GET'
        and conditions.range is not None
        and (conditions.if_range is None or _if_range_holds(conditions.if_range, etag, mtime_s))
    ):
        wanted = parse_range(conditions.range, size)
        if wanted == 'unsatisfiable':
            headers.append((b'content-range', b'bytes */%d' % size))
            return Plan(416, headers)
        if wanted is not None:
            first, last = wanted
            headers.append((b'content-range', b'bytes %d-%d/%d' % (first, last, size)))
            return Plan(206, headers, first, last - first + 1)
    return Plan(200, headers, 0, size)
