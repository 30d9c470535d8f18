"""The option enums of ``granian.constants``.

Every enum mixes in ``str`` so that plain strings compare equal to members: users and upstream's
own tests pass ``'asgi'`` or ``'tls1.2'`` wherever a member is expected.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    'HTTP1Parsers',
    'HTTPModes',
    'Interfaces',
    'Loops',
    'ProxyProtocolModes',
    'RuntimeModes',
    'SSLProtocols',
    'StrEnum',
    'TaskImpl',
]


class StrEnum(str, Enum):
    def __str__(self) -> str:
        return str(self.value)


class Interfaces(StrEnum):
    ASGI = 'asgi'
    ASGINL = 'asginl'
    RSGI = 'rsgi'
    WSGI = 'wsgi'


class HTTPModes(StrEnum):
    auto = 'auto'
    http1 = '1'
    http2 = '2'


class RuntimeModes(StrEnum):
    auto = 'auto'
    mt = 'mt'
    st = 'st'


class Loops(StrEnum):
    auto = 'auto'
    asyncio = 'asyncio'
    rloop = 'rloop'
    uvloop = 'uvloop'
    winloop = 'winloop'


class TaskImpl(StrEnum):
    asyncio = 'asyncio'
    rust = 'rust'


class SSLProtocols(StrEnum):
    tls12 = 'tls1.2'
    tls13 = 'tls1.3'


class HTTP1Parsers(StrEnum):
    """The HTTP/1.1 request parser (``http1_settings.parser``; not upstream's, whose is hyper's)."""

    auto = 'auto'
    h11 = 'h11'
    httptools = 'httptools'


class ProxyProtocolModes(StrEnum):
    """Which PROXY protocol header a connection must start with (``off``: none is read)."""

    off = 'off'
    v1 = 'v1'
    v2 = 'v2'
    auto = 'auto'
