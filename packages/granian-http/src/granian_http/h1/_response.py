"""Serializing HTTP/1.1 response heads.

We write responses ourselves rather than through h11's ``send``, which re-validates and copies
every header and cost about half of a small request's budget. What we write is checked against
h11 as a client in the protocol tests, so h11 stays the reference for the output too.

The rules applied here (RFC 9112 §6, RFC 9110 §6.4.1, §8.6):

* names are sent lower-case and must be tokens; values must not contain CR, LF or NUL;
* ``content-length``, ``transfer-encoding`` and ``connection`` from the app are framing, which is
  ours to decide: we honour an app's ``content-length`` and ``connection: close`` and write the
  framing headers ourselves;
* 1xx, 204 and 304 responses and responses to HEAD carry no body;
* the worker's default fields (``server: granian``, ``date``, configured default headers; see
  :class:`~granian_http.context.ResponseDefaults`) are added, each unless the app set that name.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING

from ..fields import DIGITS, NAMES, lower_name

if TYPE_CHECKING:
    from ..context import ResponseDefaults

__all__ = ['FRAMING_CHUNKED', 'FRAMING_CLOSE', 'FRAMING_LENGTH', 'FRAMING_NONE', 'ResponseHead', 'build_head']

FRAMING_NONE = 0  # no body may follow
FRAMING_LENGTH = 1  # exactly content-length bytes follow
FRAMING_CHUNKED = 2  # chunked transfer coding
FRAMING_CLOSE = 3  # the body ends when the connection closes (HTTP/1.0 streams)


_STATUS_LINES: dict[tuple[int, bool], bytes] = {}
for _status in HTTPStatus:
    for _v11 in (True, False):
        _STATUS_LINES[(_status.value, _v11)] = b'HTTP/1.%d %d %s\r\n' % (
            1 if _v11 else 0,
            _status.value,
            _status.phrase.encode('ascii'),
        )

_CONTENT_LENGTH = b'content-length'
_TRANSFER_ENCODING = b'transfer-encoding'
_CONNECTION = b'connection'
_SERVER = b'server'
_DATE = b'date'
_SPECIAL = frozenset((_CONTENT_LENGTH, _TRANSFER_ENCODING, _CONNECTION, _SERVER, _DATE))


def status_line(status: int, http11: bool) -> bytes:
    try:
        return _STATUS_LINES[(status, http11)]
    except KeyError:
        if not 100 <= status <= 999:
            raise ValueError(f'Invalid HTTP status code {status!r}') from None
        # An unregistered code is legal; its reason phrase may be empty (RFC 9112 §4).
        return b'HTTP/1.%d %d \r\n' % (1 if http11 else 0, status)


#: The serialized head, the framing the body must follow, the body size the head announced (with
#: ``FRAMING_LENGTH``), and whether the connection stays open. A tuple, not an object: it is built
#: once per response and taken apart at once.
ResponseHead = tuple[bytes, int, int, bool]


#: What the app's part of a head comes to, once checked: the status line and the app's field
#: lines, the app's content-length (``None`` if it set none), whether the connection may stay
#: open after the app's ``connection`` field, and the default fields' names it set itself.
_AppPart = tuple[bytes, bytes | None, bool, tuple[bytes, ...] | None]

# (status, http11, keep_alive, configured default names, *app fields) -> its _AppPart. Apps send
# the same few heads over and over (the same status, the same content-type, often the same
# content-length): a hit costs building and hashing this key, where serializing and checking the
# fields costs about 6,000 instructions (callgrind). Bounded: past _CACHE_MAX distinct heads (an
# app varying a value per response) the others are built every time, as without a cache.
_CACHE: dict[tuple[object, ...], _AppPart] = {}
_CACHE_MAX = 512


def _app_part(
    status: int,
    headers: Iterable[tuple[bytes, bytes]],
    http11: bool,
    keep_alive: bool,
    extra_names: frozenset[bytes],
) -> _AppPart:
    """Serialize and check the status line and the app's fields (``ValueError`` for a field that
    cannot be sent)."""
    # status_line's lookup, inlined for the statuses every response has.
    line = _STATUS_LINES.get((status, http11))
    parts = [line if line is not None else status_line(status, http11)]
    add = parts.append
    lines = 1
    app_length: bytes | None = None
    # The default fields the app set itself (they are then its own, sent once), None for none.
    overridden: list[bytes] | None = None
    for name, value in headers:
        lname = NAMES.get(name) or lower_name(name)
        if lname in _SPECIAL or (extra_names and lname in extra_names):
            if lname == _CONTENT_LENGTH:
                # The app's length is honoured (it may stream a body it knows the size of), but
                # written by us, once: a second, conflicting value would be a smuggling vector.
                if app_length is None:
                    if DIGITS.fullmatch(value) is None:
                        raise ValueError(f'Invalid content-length header value {value!r}')
                    app_length = value
                continue
            if lname == _CONNECTION:
                # The app may close the connection after its response, never keep it open when
                # we would not (and its other connection options have no meaning to us).
                if value.lower().find(b'close') >= 0:  # find: see _guard.head_end
                    keep_alive = False
                continue
            if lname == _TRANSFER_ENCODING:
                continue  # the framing is ours: chunked only when we stream without a length
            # server, date or a configured default header: the app's value is sent instead of
            # ours (a default, never a second value).
            if overridden is None:
                overridden = [lname]
            else:
                overridden.append(lname)
        add(lname)
        add(b': ')
        add(value)
        add(b'\r\n')
        lines += 1
    data = b''.join(parts)
    # One check over the whole part instead of one per value: every line break must be one we
    # wrote, so a value cannot smuggle in a header or end the head early. (What build_head adds
    # after it is ours: digits, fixed lines, and default fields checked once per worker.)
    if data.count(b'\n') != lines or data.count(b'\r') != lines or 0 in data:
        raise ValueError('Invalid HTTP header value: line breaks and NUL are not allowed')
    return data, app_length, keep_alive, tuple(overridden) if overridden is not None else None


def build_head(
    status: int,
    headers: Iterable[tuple[bytes, bytes]],
    http11: bool,
    keep_alive: bool,
    head_request: bool,
    body_length: int | None,
    defaults: ResponseDefaults,
    /,
) -> ResponseHead:
    """Serialize a response head. (Positional arguments only: it runs once per response, and
    keyword arguments cost a name match each.)

    ``body_length`` is the size of the whole body when it is already known (the response is
    being sent in one piece), ``None`` when the body will be streamed. ``keep_alive`` says whether
    the connection may serve another request; the app can only narrow it.
    """
    extra_names = defaults.extra_names
    kind = type(headers)
    if kind is list or kind is tuple:
        try:
            key = (status, http11, keep_alive, extra_names, *headers)
            part = _CACHE.get(key)
        except TypeError:  # a field the app gave as a list, or a bytearray: not hashable
            part = None
            key = None
        if part is None:
            part = _app_part(status, headers, http11, keep_alive, extra_names)
            if key is not None and len(_CACHE) < _CACHE_MAX:
                _CACHE[key] = part
    else:
        part = _app_part(status, headers, http11, keep_alive, extra_names)  # read once: no key
    data, app_length, keep_alive, overridden = part

    if status < 200 or status == 204:
        # RFC 9110 §15.2, §15.3.5: no body, and no content-length either (§8.6 forbids it here).
        framing, length = FRAMING_NONE, 0
    elif status == 304 or head_request:
        # No body follows, but the head describes the one a GET would get (RFC 9110 §9.3.2).
        framing, length = FRAMING_NONE, 0
        if app_length is not None:
            data += b'content-length: ' + app_length + b'\r\n'
        elif body_length and status != 304:
            data += b'content-length: %d\r\n' % body_length
    elif app_length is not None:
        # The app's own length wins over the size of what it gave us now: a short or long body
        # is then cut or ends the connection (see the exchange's framing).
        framing, length = FRAMING_LENGTH, int(app_length)
        data += b'content-length: ' + app_length + b'\r\n'
    elif body_length is not None:
        framing, length = FRAMING_LENGTH, body_length
        data += b'content-length: %d\r\n' % body_length
    elif http11:
        # A streamed body of unknown size: chunked, so the connection can be reused (§7.1).
        framing, length = FRAMING_CHUNKED, 0
        data += b'transfer-encoding: chunked\r\n'
    else:
        # An HTTP/1.0 client cannot read chunks: the end of the connection ends the body.
        framing, length, keep_alive = FRAMING_CLOSE, 0, False

    if not keep_alive:
        # Say it (RFC 9112 §9.6), so the client does not send another request into a closing
        # connection.
        data += b'connection: close\r\n'
    elif not http11:
        # HTTP/1.0 closes by default: staying open must be said (RFC 9112 §C.2.2).
        data += b'connection: keep-alive\r\n'
    if overridden is None:
        data += defaults.head + b'\r\n'
    else:
        data += b''.join([field_line for lname, field_line in defaults.lines if lname not in overridden]) + b'\r\n'
    return data, framing, length, keep_alive
