"""HTTP/2 header blocks: the request head an exchange needs, and response header lists.

Inbound, h2 has joined split ``cookie`` fields; the checks of RFC 9113 §8.2 to §8.3 are made here,
in the one pass that also picks the request apart (h2's own validation walks the block through a
chain of generators, which costs more than the rest of the request). A malformed block raises
:class:`MalformedRequest`, which resets that stream with ``PROTOCOL_ERROR`` (a stream error, §8.1.1):

* names are non-empty lower-case tokens (a colon only to start a pseudo-header); values hold no
  CR, LF or NUL and no surrounding whitespace;
* no connection-specific fields, and ``te`` may only say ``trailers``;
* pseudo-headers come first, each at most once, only the request ones, with ``:method``, and
  ``:scheme`` plus a non-empty ``:path`` (except for CONNECT, which needs ``:authority`` instead);
* ``host``, when present with ``:authority``, names the same authority.

Outbound, h2's own validation and normalisation are off (they cost more than the rest of a small
response), so the rules are applied here, once per header:

* names are lower-cased and must be tokens; values must not contain CR, LF or NUL, and lose
  surrounding whitespace (§8.2.1);
* connection-specific fields (``connection``, ``keep-alive``, ``proxy-connection``,
  ``transfer-encoding``, ``upgrade``) are dropped: HTTP/2 frames the body itself (§8.2.2);
* the worker's default fields (``server: granian``, ``date``, configured default headers; see
  :class:`~granian_http.context.ResponseDefaults`) are added, each unless the app set that name,
  and ``content-length`` when the whole body is known and the app gave none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..fields import DIGITS, lower_name
from ._hpack import encode_block

if TYPE_CHECKING:
    from ..context import ResponseDefaults

__all__ = [
    'MalformedRequest',
    'RequestHead',
    'check_trailers',
    'informational_headers',
    'parse_request',
    'response_head',
    'response_headers',
    'trailer_headers',
]

_BAD_VALUE = re.compile(rb'[\r\n\x00]')

_DROP = frozenset((b'connection', b'keep-alive', b'proxy-connection', b'transfer-encoding', b'upgrade'))
_CONTENT_LENGTH = b'content-length'
_SERVER = b'server'
_DATE = b'date'
_SPECIAL = _DROP | {_CONTENT_LENGTH, _SERVER, _DATE}
_NO_EXTRA_NAMES: frozenset[bytes] = frozenset()

_STATUS = {code: b'%d' % code for code in range(100, 600)}
#: The statuses a response can end with: a 1xx is interim (RFC 9110 §15.2), and a client given
#: one as the final answer would wait for another.
_FINAL_STATUS = {code: _STATUS[code] for code in range(200, 600)}

# Bound on the remembered request names below (as for response names in _fields).
_NAMES_MAX = 4096


# Methods nearly every request uses, accepted without a regular expression match.
_METHODS = frozenset((b'GET', b'HEAD', b'POST', b'PUT', b'DELETE', b'OPTIONS', b'PATCH', b'CONNECT'))
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# Request field names: lower-case tokens (RFC 9113 §8.2.1). Checked names are remembered.
_REQUEST_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")
_GOOD_NAMES: set[bytes] = set()
# Field values already found clean (most repeat from request to request); emptied when full.
_GOOD_VALUES: set[bytes] = set()
_VALUES_MAX = 8192
# Only short names and values are remembered, so the caches stay small whatever clients send.
_CACHED_LENGTH = 128
_CONNECTION_SPECIFIC = frozenset((b'connection', b'proxy-connection', b'keep-alive', b'transfer-encoding', b'upgrade'))


class MalformedRequest(ValueError):
    """A request header block RFC 9113 §8 calls malformed."""


class RequestHead:
    """The parts of a request header block an exchange is built from."""

    __slots__ = ('authority', 'headers', 'method', 'path', 'protocol', 'scheme', 'te_trailers')

    def __init__(
        self,
        method: bytes,
        path: bytes,
        scheme: bytes,
        authority: bytes | None,
        protocol: bytes | None,
        headers: list[tuple[bytes, bytes]],
        te_trailers: bool,
    ) -> None:
        self.method = method
        self.path = path
        self.scheme = scheme
        self.authority = authority
        #: RFC 8441's ``:protocol`` (extended CONNECT).
        self.protocol = protocol
        self.headers = headers
        #: The client accepts trailers (``te: trailers``).
        self.te_trailers = te_trailers


def _check_value(name: bytes, value: bytes) -> None:
    if _BAD_VALUE.search(value) is not None or value[:1] in b' \t' or value[-1:] in b' \t':
        raise MalformedRequest(f'invalid value for {name!r}')
    if len(value) <= _CACHED_LENGTH:
        if len(_GOOD_VALUES) >= _VALUES_MAX:
            _GOOD_VALUES.clear()
        _GOOD_VALUES.add(value)


def parse_request(block: Iterable[tuple[bytes, bytes]]) -> RequestHead:
    """Check a request header block and pick it apart; raises :class:`MalformedRequest`."""
    method = path = scheme = authority = protocol = host = None
    headers: list[tuple[bytes, bytes]] = []
    te_trailers = regular = False
    for name, value in block:
        if value not in _GOOD_VALUES:
            _check_value(name, value)
        if name[:1] == b':':
            if regular:
                raise MalformedRequest('pseudo-header after a regular field')
            if name == b':method' and method is None:
                method = value
            elif name == b':path' and path is None:
                path = value
            elif name == b':scheme' and scheme is None:
                scheme = value
            elif name == b':authority' and authority is None:
                authority = value
            elif name == b':protocol' and protocol is None:
                protocol = value
            else:
                raise MalformedRequest(f'unknown or repeated pseudo-header {name!r}')
            continue
        regular = True
        if name not in _GOOD_NAMES:
            if _REQUEST_NAME.fullmatch(name) is None:
                raise MalformedRequest(f'invalid field name {name!r}')
            if name in _CONNECTION_SPECIFIC:
                raise MalformedRequest(f'connection-specific field {name!r}')
            if len(_GOOD_NAMES) < _NAMES_MAX and len(name) <= _CACHED_LENGTH:
                _GOOD_NAMES.add(name)
        if name == b'te':
            if value.lower() != b'trailers':
                raise MalformedRequest('te other than trailers')
            te_trailers = True
        elif name == b'host':
            host = value
        headers.append((name, value))
    if not method:
        raise MalformedRequest('no :method')
    if method not in _METHODS and _TOKEN.fullmatch(method) is None:
        # A method is a token (RFC 9110 §9.1): anything else is malformed, and would not even
        # decode as the ASCII string interfaces are given (found by fuzzing).
        raise MalformedRequest(f'invalid :method {method!r}')
    if method == b'CONNECT' and protocol is None:
        if scheme is not None or path is not None or not authority:
            raise MalformedRequest('CONNECT takes :authority only')
        scheme = path = b''
    else:
        if not scheme or not path:
            raise MalformedRequest('no :scheme or empty :path')
        if path[:1] != b'/' and not (path == b'*' and method == b'OPTIONS'):
            raise MalformedRequest('invalid :path')
        if protocol is not None and method != b'CONNECT':
            raise MalformedRequest(':protocol outside CONNECT')
    if host is not None and authority is not None and host != authority:
        raise MalformedRequest('host and :authority differ')
    return RequestHead(method, path, scheme, authority, protocol, headers, te_trailers)


def check_trailers(block: Iterable[tuple[bytes, bytes]]) -> None:
    """Request trailers carry no pseudo-headers (§8.1); raises :class:`MalformedRequest`."""
    for name, _ in block:
        if name[:1] == b':':
            raise MalformedRequest('pseudo-header in trailers')


def _value(value: bytes) -> bytes:
    if _BAD_VALUE.search(value) is not None:
        raise ValueError(f'Invalid HTTP header value {value!r}')
    if value[:1] in b' \t' or value[-1:] in b' \t':
        value = value.strip(b' \t')
    return value


def _fields(
    headers: Iterable[tuple[bytes, bytes]], out: list[tuple[bytes, bytes]], extra_names: frozenset[bytes]
) -> tuple[int | None, list[bytes] | None]:
    """Append the app's fields to ``out``; return its content-length and the default fields it
    set itself (``server``, ``date``, ``extra_names``), or None for none."""
    length: int | None = None
    overridden: list[bytes] | None = None
    for name, value in headers:
        lname = lower_name(name)
        if lname in _SPECIAL or (extra_names and lname in extra_names):
            if lname in _DROP:
                continue
            if lname == _CONTENT_LENGTH:
                if DIGITS.fullmatch(value) is None:
                    raise ValueError(f'Invalid content-length header value {value!r}')
                if length is not None:
                    continue  # one is enough; a conflicting duplicate is dropped
                length = int(value)
            elif overridden is None:
                # server, date or a configured default header: the app's value is sent instead
                # of ours (a default, never a second value).
                overridden = [lname]
            else:
                overridden.append(lname)
        out.append((lname, _value(value)))
    return length, overridden


def response_headers(
    status: int, headers: Iterable[tuple[bytes, bytes]], defaults: ResponseDefaults, body_length: int | None
) -> tuple[list[tuple[bytes, bytes]], int | None]:
    """The header list of a response, and the content-length the app announced (if any).

    ``body_length`` is the size of the whole body when it is known now; it becomes the
    ``content-length`` unless the app gave one or the status has no body. ``defaults`` carries
    ``alt-svc`` while HTTP/3 is advertised (HTTP/2's snapshot, not HTTP/3's).
    """
    try:
        code = _FINAL_STATUS[status]
    except (KeyError, TypeError):
        raise ValueError(f'Invalid HTTP status code {status!r}') from None
    out = [(b':status', code)]
    length, overridden = _fields(headers, out, defaults.extra_names)
    if overridden is None:
        out.extend(defaults.fields)
    else:
        out.extend(field for field in defaults.fields if field[0] not in overridden)
    if length is None and body_length is not None and status >= 200 and status not in (204, 304):
        out.append((_CONTENT_LENGTH, b'%d' % body_length))
    return out, length


#: A response head: its header list, that list HPACK-encoded, and the app's content-length.
ResponseHead = tuple[list[tuple[bytes, bytes]], bytes, int | None]

# (status, app headers, default fields, body length) -> what response_head returns. A server sends
# few distinct heads, so most cost one lookup; heads whose headers cannot be hashed are not kept.
# The defaults are compared by identity (one object per worker and second: it holds the date).
_HEADS: dict[tuple[int, tuple[tuple[bytes, bytes], ...], ResponseDefaults, int | None], ResponseHead] = {}
_HEADS_MAX = 512


def response_head(
    status: int, headers: Iterable[tuple[bytes, bytes]], defaults: ResponseDefaults, body_length: int | None
) -> ResponseHead:
    """:func:`response_headers`, plus the encoded block, remembered for heads that repeat."""
    fields = tuple(headers)
    key = (status, fields, defaults, body_length)
    try:
        head = _HEADS.get(key)
    except TypeError:  # an unhashable header (a list pair, a bytearray): built every time
        header_list, declared = response_headers(status, fields, defaults, body_length)
        return header_list, encode_block(header_list), declared
    if head is None:
        header_list, declared = response_headers(status, fields, defaults, body_length)
        head = (header_list, encode_block(header_list), declared)
        if len(_HEADS) >= _HEADS_MAX:
            _HEADS.clear()
        _HEADS[key] = head
    return head


def informational_headers(status: int, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A 1xx header list (103 Early Hints): the app's fields only, the defaults go on the final head."""
    out = [(b':status', _STATUS[status])]
    _fields(headers, out, _NO_EXTRA_NAMES)
    return out


def trailer_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A trailer block: plain fields only (no pseudo-headers, no framing fields)."""
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        lname = lower_name(name)
        if lname in _DROP or lname == _CONTENT_LENGTH:
            continue
        out.append((lname, _value(value)))
    return out
