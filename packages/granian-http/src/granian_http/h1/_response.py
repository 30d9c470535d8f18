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
    # The lookups of status_line and lower_name, inlined for the statuses and names every response
    # has (two Python calls per response otherwise); the functions handle the rest.
    line = _STATUS_LINES.get((status, http11))
    parts = [line if line is not None else status_line(status, http11)]
    add = parts.append
    lines = 1
    app_length: bytes | None = None
    # The default fields the app set itself (they are then its own, sent once), None for none.
    overridden: list[bytes] | None = None
    extra_names = defaults.extra_names
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
                if b'close' in value.lower():
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

    if status < 200 or status == 204:
        # RFC 9110 §15.2, §15.3.5: no body, and no content-length either (§8.6 forbids it here).
        framing, length = FRAMING_NONE, 0
    elif status == 304 or head_request:
        # No body follows, but the head describes the one a GET would get (RFC 9110 §9.3.2).
        framing, length = FRAMING_NONE, 0
        if app_length is not None:
            add(b'content-length: ' + app_length + b'\r\n')
            lines += 1
        elif body_length and status != 304:
            add(b'content-length: %d\r\n' % body_length)
            lines += 1
    elif app_length is not None:
        # The app's own length wins over the size of what it gave us now: a short or long body
        # is then cut or ends the connection (see the exchange's framing).
        framing, length = FRAMING_LENGTH, int(app_length)
        add(b'content-length: ' + app_length + b'\r\n')
        lines += 1
    elif body_length is not None:
        framing, length = FRAMING_LENGTH, body_length
        add(b'content-length: %d\r\n' % body_length)
        lines += 1
    elif http11:
        # A streamed body of unknown size: chunked, so the connection can be reused (§7.1).
        framing, length = FRAMING_CHUNKED, 0
        add(b'transfer-encoding: chunked\r\n')
        lines += 1
    else:
        # An HTTP/1.0 client cannot read chunks: the end of the connection ends the body.
        framing, length, keep_alive = FRAMING_CLOSE, 0, False

    if not keep_alive:
        # Say it (RFC 9112 §9.6), so the client does not send another request into a closing
        # connection.
        add(b'connection: close\r\n')
        lines += 1
    elif not http11:
        # HTTP/1.0 closes by default: staying open must be said (RFC 9112 §C.2.2).
        add(b'connection: keep-alive\r\n')
        lines += 1
    if overridden is None:
        add(defaults.head)
        lines += defaults.head_lines
    else:
        for lname, field_line in defaults.lines:
            if lname not in overridden:
                add(field_line)
                lines += 1
    add(b'\r\n')
    data = b''.join(parts)
    # One check over the whole head instead of one per value: every line break must be one we
    # wrote, so a value cannot smuggle in a header or end the head early.
    # (The default fields, alt-svc among them, are counted line by line above.)
    if data.count(b'\n') != lines + 1 or data.count(b'\r') != lines + 1 or b'\x00' in data:
        raise ValueError('Invalid HTTP header value: line breaks and NUL are not allowed')
    return data, framing, length, keep_alive
