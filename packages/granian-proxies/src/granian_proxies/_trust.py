"""Which peers are trusted proxies, and which forwarded entry names the real client.

The rules are upstream Granian's (``granian.utils.proxies``):

* ``trusted_hosts`` is ``'*'`` (trust everything), a comma-separated string, or an iterable of
  strings. Each entry is an IP address, a CIDR network (when it contains ``/``), or else a literal
  string that must match exactly (a hostname, or ``'unix'`` for a Unix-socket peer).
* An empty host is never trusted, not even with ``'*'``.
* Forwarded-for entries are scanned from the **right** (the entry the nearest proxy appended) and
  the first untrusted one is the client: everything to its left was written by that untrusted
  hop and may be forged. With ``'*'`` the left-most entry wins; if every entry is trusted, the
  left-most one wins as well.

Two small liberties, both only widen what was clearly meant: a network written with host bits set
(``10.0.0.1/8``) is read as its network rather than kept as a literal that could never match, and
an IPv4-mapped IPv6 peer (``::ffff:127.0.0.1``, what a dual-stack socket reports) is checked as
the IPv4 address it is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TypeAlias

__all__ = ['TrustedHosts', 'TrustedHostsSpec', 'parse_ip', 'select_client_index']

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

#: What the wrappers accept as ``trusted_hosts``.
TrustedHostsSpec: TypeAlias = str | Iterable[str]

# How many membership answers a TrustedHosts remembers before it starts over.
_KNOWN_LIMIT = 1024


def parse_ip(text: str) -> IPAddress | None:
    """The address ``text`` spells, or None; IPv4-mapped IPv6 addresses come back as IPv4."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _entries(trusted_hosts: TrustedHostsSpec) -> list[str]:
    if isinstance(trusted_hosts, str):
        trusted_hosts = trusted_hosts.split(',')
    return [entry.strip() for entry in trusted_hosts if entry.strip()]


class TrustedHosts:
    """The set of trusted proxy hosts: ``host in trusted`` tells whether ``host`` is one."""

    __slots__ = ('_known', 'addresses', 'literals', 'networks', 'trust_all')

    def __init__(self, trusted_hosts: TrustedHostsSpec = '127.0.0.1') -> None:
        entries = _entries(trusted_hosts)
        #: True when ``'*'`` was given: every non-empty host is trusted.
        self.trust_all = '*' in entries
        self.addresses: set[IPAddress] = set()
        self.networks: list[IPNetwork] = []
        self.literals: set[str] = set()
        self._known: dict[str, bool] = {}
        for entry in entries:
            if entry == '*':
                continue
            if '/' in entry:
                try:
                    self.networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    self.literals.add(entry)
                continue
            address = parse_ip(entry)
            if address is None:
                self.literals.add(entry)
            else:
                self.addresses.add(address)

    def __contains__(self, host: object) -> bool:
        if not host or not isinstance(host, str):
            return False
        if self.trust_all:
            return True
        # Peers repeat (the proxy is the same few addresses), and parsing an address costs more
        # than the rest of a wrapper's work for an untrusted request: remember recent answers.
        known = self._known.get(host)
        if known is None:
            known = self._check(host)
            if len(self._known) >= _KNOWN_LIMIT:
                self._known.clear()
            self._known[host] = known
        return known

    def _check(self, host: str) -> bool:
        address = parse_ip(host)
        if address is None:
            return host in self.literals
        if address in self.addresses:
            return True
        return any(address in network for network in self.networks)

    def __repr__(self) -> str:
        if self.trust_all:
            return 'TrustedHosts(*)'
        parts = [str(entry) for entry in (*self.addresses, *self.networks)] + sorted(self.literals)
        return f'TrustedHosts({", ".join(parts)})'


def select_client_index(hosts: Sequence[str], trusted: TrustedHosts) -> int | None:
    """The index of the entry in ``hosts`` that names the client, or None when there are none.

    ``hosts`` is in header order: the client (as the first proxy saw it) on the left, each later
    proxy's peer appended to the right.
    """
    if not hosts:
        return None
    if trusted.trust_all:
        return 0
    for index in range(len(hosts) - 1, -1, -1):
        if hosts[index] not in trusted:
            return index
    return 0
