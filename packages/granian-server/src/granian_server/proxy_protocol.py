"""The ``proxy_protocol`` options, checked once in the main process (each worker builds its reader).

``proxy_protocol`` is ``off`` (the default), ``v1``, ``v2`` or ``auto`` (whichever version the
first byte announces); with it on, every connection must start with a PROXY protocol header from
one of ``proxy_protocol_trusted_hosts`` (``granian_http.proxy_protocol`` does the reading).
Trusted hosts are written as ``granian_proxies`` reads its ``trusted_hosts`` (the same parser:
addresses, CIDR networks, ``*``, comma-separated or one per entry; an IPv4-mapped IPv6 peer counts
as its IPv4 address), with one difference: a header is only ever compared with a socket's IP
address, so an entry that is neither an address nor a network (a host name, ``unix``) could never
match and is refused rather than kept as a literal. Unix-socket peers are always trusted: they
have no address, and the socket file's permissions decide who may connect.
"""

from __future__ import annotations

from collections.abc import Iterable

from granian_proxies import TrustedHosts

from .errors import ConfigurationError
from .log import logger

__all__ = ['DEFAULT_TRUSTED_HOSTS', 'check_trusted_hosts']

#: A proxy on the same machine, as ``granian_proxies`` trusts by default.
DEFAULT_TRUSTED_HOSTS = '127.0.0.1'


def check_trusted_hosts(value: str | Iterable[str] | None, enabled: bool) -> str:
    """``proxy_protocol_trusted_hosts`` as one comma-separated string (picklable, for the workers).

    Raises :class:`ConfigurationError` naming the option for an entry that is not an address, a
    network or ``*``, and for an empty list (which would refuse every TCP connection).
    """
    if value is None:
        return DEFAULT_TRUSTED_HOSTS
    # The CLI's repeated option (and GRANIAN_PROXY_PROTOCOL_TRUSTED_HOSTS) gives a list; each entry
    # may itself be comma-separated, as the string form is.
    items = [value] if isinstance(value, str) else list(value)
    entries = [entry.strip() for item in items for entry in str(item).split(',') if entry.strip()]
    if not entries:
        raise ConfigurationError(
            "proxy_protocol_trusted_hosts: no host given; name the proxy's address (e.g. 127.0.0.1), "
            'its network (e.g. 10.0.0.0/8) or *'
        )
    literals = sorted(TrustedHosts(entries).literals)
    if literals:
        raise ConfigurationError(
            f'proxy_protocol_trusted_hosts: {literals[0]!r} is not an IP address or network; give addresses '
            'such as 10.0.0.1, networks such as 10.0.0.0/8, or * (Unix-socket peers are always trusted)'
        )
    spec = ','.join(entries)
    if not enabled and spec != DEFAULT_TRUSTED_HOSTS:
        logger.warning('proxy_protocol_trusted_hosts has no effect without proxy_protocol')
    return spec
