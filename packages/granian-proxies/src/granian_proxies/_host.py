"""Host values (``Host``, ``X-Forwarded-Host``, RFC 7239 ``host=``) and ports, parsed strictly.

A forwarded host ends up in the Host header and the server address an app builds URLs from, so
anything that is not a plain host name, an IPv4 address or a bracketed IPv6 address, with an
optional numeric port, is rejected rather than passed on.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

__all__ = ['HostPort', 'default_port', 'format_hostport', 'parse_host', 'parse_port']

_NAME = re.compile(r'[A-Za-z0-9._~\-]+')
_DIGITS = re.compile(r'[0-9]{1,5}')


def format_hostport(host: str, port: int | str | None = None) -> str:
    """``host[:port]`` with an IPv6 address in brackets."""
    text = f'[{host}]' if ':' in host else host
    return text if port is None else f'{text}:{port}'


def default_port(scheme: str) -> int:
    """The port a URL of ``scheme`` means when it names none."""
    return 443 if scheme in ('https', 'wss') else 80


@dataclass(frozen=True)
class HostPort:
    """A host (IPv6 without brackets) and the port given with it, if any."""

    name: str
    port: int | None = None

    @property
    def header(self) -> str:
        """The value for a Host header."""
        return format_hostport(self.name, self.port)


def parse_port(text: str) -> int | None:
    """A port number from 1 to 65535, or None."""
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        return None
    port = int(text)
    return port if 0 < port < 65536 else None


def parse_host(text: str) -> HostPort | None:
    """``name``, ``name:port``, ``[v6]`` or ``[v6]:port``; None for anything else."""
    text = text.strip()
    port_text: str | None = None
    if text.startswith('['):
        close = text.find(']')
        if close < 0:
            return None
        try:
            name = ipaddress.IPv6Address(text[1:close]).compressed
        except ValueError:
            return None
        rest = text[close + 1 :]
        if rest:
            if not rest.startswith(':'):
                return None
            port_text = rest[1:]
    else:
        name, colon, after = text.partition(':')
        if colon:
            port_text = after
        if not _NAME.fullmatch(name):
            return None
    if port_text is None:
        return HostPort(name)
    port = parse_port(port_text)
    if port is None or port_text != port_text.strip():
        return None
    return HostPort(name, port)
