"""From a trusted peer's forwarding headers to what the app should see, whatever the interface.

Each wrapper checks its peer against :attr:`ProxyPolicy.trusted`, collects the raw header values
into :class:`ForwardingHeaders` (only then: an untrusted peer costs one set lookup), asks
:meth:`ProxyPolicy.resolve` for a :class:`Resolution`, and writes that into its own scope shape.

Two modes, chosen when the wrapper is built, never mixed per request (a proxy that writes one
family of headers passes the other through from the client untouched, so reading both would let
a client forge whichever one the proxy does not write):

* ``X-Forwarded-*`` (upstream's behaviour, the default): the client comes from the right-to-left
  scan of every ``X-Forwarded-For`` entry. The first non-empty ``X-Forwarded-Proto`` (and, with
  ``forwarded_host``, ``X-Forwarded-Host``/``X-Forwarded-Port``; the first entry of each) apply
  only together with a client, as upstream applies the proto.
* ``Forwarded`` (RFC 7239, ``forwarded=True``): the same scan runs over the elements' ``for=``
  nodes. An element whose ``for=`` is ``unknown``, obfuscated, missing or malformed is never
  trusted, so the scan stops there. The chosen element's own ``proto=`` and ``host=`` apply:
  they were written by the same trusted proxy that saw the client, even when it chose to hide
  the client's address.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._forwarded import parse_forwarded, parse_node
from ._host import HostPort, parse_host, parse_port
from ._trust import TrustedHosts, TrustedHostsSpec, select_client_index

__all__ = ['FORWARDED_PROTOS', 'ForwardingHeaders', 'ProxyPolicy', 'Resolution', 'merge_host']

#: The protos a forwarding header may set; anything else is ignored.
FORWARDED_PROTOS = frozenset(('http', 'https', 'ws', 'wss'))


@dataclass
class ForwardingHeaders:
    """The raw forwarding header values of one request, as its interface presents them."""

    #: Every non-empty ``X-Forwarded-For`` value, in order.
    forwarded_for: list[str] = field(default_factory=list)
    #: The first non-empty ``X-Forwarded-Proto`` value.
    forwarded_proto: str | None = None
    #: The first non-empty ``X-Forwarded-Host`` value.
    forwarded_host: str | None = None
    #: The first non-empty ``X-Forwarded-Port`` value.
    forwarded_port: str | None = None
    #: Every ``Forwarded`` header line, in order.
    forwarded: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Resolution:
    """What to rewrite; None fields leave the request's own value alone."""

    #: The client's host (an IP address, or whatever string upstream's ``X-Forwarded-For`` holds).
    client: str | None = None
    #: The client's port: 0 (as upstream) unless a ``Forwarded`` node gave one.
    client_port: int = 0
    #: One of :data:`FORWARDED_PROTOS`, before any interface-specific mapping.
    proto: str | None = None
    #: The forwarded host, with its port when it named one.
    host: HostPort | None = None
    #: ``X-Forwarded-Port``: overrides the port of :attr:`host` (or of the request's own Host).
    port: int | None = None


def merge_host(resolution: Resolution, own_host: str | None) -> HostPort | None:
    """The host the request should carry: the forwarded one, else its own, with the forwarded
    port applied; None when nothing about the host changes (or there is no host to change)."""
    if resolution.host is None and resolution.port is None:
        return None
    base = resolution.host
    if base is None:
        base = parse_host(own_host) if own_host else None
        if base is None:
            return None
    if resolution.port is not None:
        return HostPort(base.name, resolution.port)
    return base


def _first_entry(value: str | None) -> str:
    return value.split(',', 1)[0].strip() if value else ''


class ProxyPolicy:
    """The trusted hosts and the mode of one wrapper."""

    __slots__ = ('forwarded', 'forwarded_host', 'trusted')

    def __init__(
        self, trusted_hosts: TrustedHostsSpec = '127.0.0.1', *, forwarded: bool = False, forwarded_host: bool = False
    ) -> None:
        self.trusted = TrustedHosts(trusted_hosts)
        self.forwarded = forwarded
        self.forwarded_host = forwarded_host

    def resolve(self, headers: ForwardingHeaders) -> Resolution | None:
        """What a trusted peer's ``headers`` say, or None when they say nothing usable."""
        if self.forwarded:
            return self._resolve_forwarded(headers.forwarded)
        return self._resolve_x_forwarded(headers)

    def _resolve_x_forwarded(self, headers: ForwardingHeaders) -> Resolution | None:
        if not headers.forwarded_for:
            return None
        hosts = [host.strip() for host in ', '.join(headers.forwarded_for).split(',')]
        index = select_client_index(hosts, self.trusted)
        client = hosts[index] if index is not None else ''
        if not client:
            return None
        proto = headers.forwarded_proto.strip() if headers.forwarded_proto else None
        if proto not in FORWARDED_PROTOS:
            proto = None
        if not self.forwarded_host:
            return Resolution(client=client, proto=proto)
        forwarded_host = _first_entry(headers.forwarded_host)
        forwarded_port = _first_entry(headers.forwarded_port)
        return Resolution(
            client=client,
            proto=proto,
            host=parse_host(forwarded_host) if forwarded_host else None,
            port=parse_port(forwarded_port) if forwarded_port else None,
        )

    def _resolve_forwarded(self, lines: list[str]) -> Resolution | None:
        if not lines:
            return None
        elements = parse_forwarded(lines)
        if not elements:
            return None
        nodes = [parse_node(element.for_) if element.for_ is not None else None for element in elements]
        # '' is never trusted: unknown, obfuscated and broken nodes stop the scan.
        keys = [node.host if node is not None and node.is_address else '' for node in nodes]
        index = select_client_index(keys, self.trusted)
        if index is None:
            return None
        element, node = elements[index], nodes[index]
        client = node.host if node is not None and node.is_address else None
        proto = element.proto.lower() if element.proto else None
        if proto not in FORWARDED_PROTOS:
            proto = None
        host = parse_host(element.host) if self.forwarded_host and element.host else None
        if client is None and proto is None and host is None:
            return None
        return Resolution(
            client=client,
            client_port=(node.port or 0) if client is not None and node is not None else 0,
            proto=proto,
            host=host,
        )
