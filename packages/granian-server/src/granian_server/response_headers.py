"""The response header options: ``server_header``, ``date_header`` and ``headers`` (Uvicorn's names;
upstream's issues #315 and #594 ask for them).

``headers`` are default fields for every response the server writes: the app's, static files, the
server's own errors and WebSocket handshakes (interim responses, 100 Continue, the 101 before h2c
and 103 Early Hints, carry only their own fields, as before: the final response that follows has
the defaults). Each is added unless the app set that name itself, so a default never becomes a
second value of a field the app chose (Uvicorn appends them to whatever the app sends; two
``cache-control`` or ``strict-transport-security`` fields would leave a client to pick one). A
``server`` default replaces ``server: granian``; ``date`` cannot be a default (it is the time of the
response: ``date_header=False`` turns it off).

They are checked here, once, with messages naming the option; the protocol layer checks them again
as its own guard (``granian_http.ServeContext``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import ConfigurationError

__all__ = ['check_header_flag', 'parse_headers']

#: RFC 9110 §5.1: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 9110 §5.5: visible characters, spaces and tabs, and obs-text; no other control character
#: (CR, LF and NUL would end the field or the head, and the others have no meaning in a value).
_BAD_VALUE = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')
#: Names the server decides per response (framing, the connection, HTTP/2's connection-specific
#: fields), which a fixed default would break.
_PER_RESPONSE = frozenset(
    ('content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer')
)

HeaderOption = Sequence[str | tuple[str, str]] | str


def check_header_flag(option: str, value: object) -> bool:
    """``server_header`` and ``date_header`` are booleans: a string such as 'false' would read as true."""
    if not isinstance(value, bool):
        raise ConfigurationError(f'{option}: must be True or False, not {value!r}')
    return value


def _split(item: object) -> tuple[str, str]:
    if isinstance(item, str):
        name, sep, value = item.partition(':')
        if not sep:
            raise ConfigurationError(f'headers: {item!r} is not NAME:VALUE (e.g. x-frame-options:DENY)')
        return name, value
    if isinstance(item, tuple | list) and len(item) == 2 and all(isinstance(part, str) for part in item):
        return item[0], item[1]
    raise ConfigurationError(f'headers: {item!r} is neither a NAME:VALUE string nor a (name, value) pair of strings')


def _check(name: str, value: str) -> tuple[str, str]:
    if _TOKEN.fullmatch(name) is None:
        raise ConfigurationError(
            f"headers: {name!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~, no spaces)"
        )
    lname = name.lower()
    if lname in _PER_RESPONSE:
        raise ConfigurationError(f'headers: {lname} is decided for each response by the server, not a default')
    if lname == 'date':
        raise ConfigurationError('headers: date is the time of each response; date_header=False turns it off')
    value = value.strip(' \t')
    if _BAD_VALUE.search(value) is not None:
        raise ConfigurationError(f'headers: the value of {lname} has a line break, NUL or other control character')
    try:
        value.encode('latin-1')
    except UnicodeEncodeError:
        raise ConfigurationError(f'headers: the value of {lname} is not latin-1 text: {value!r}') from None
    return lname, value


def parse_headers(value: HeaderOption | None) -> tuple[tuple[str, str], ...]:
    """The ``headers`` option as checked ``(lower-case name, value)`` pairs, in the order given."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    pairs = tuple(_check(*_split(item)) for item in items)
    if sum(1 for name, _ in pairs if name == 'server') > 1:
        raise ConfigurationError('headers: server is given more than once; a response has one server header')
    return pairs
