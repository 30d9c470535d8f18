"""Building PROXY protocol headers for the tests (and the fuzz target's seeds), by the spec's layout."""

from __future__ import annotations

import ipaddress
import struct

from granian_http.proxy_header import V2_SIGNATURE

__all__ = ['tlv', 'v1', 'v2', 'v2_inet']


def v1(
    protocol: str = 'TCP4', src: str = '192.0.2.1', dst: str = '198.51.100.7', sport: int = 56324, dport: int = 443
) -> bytes:
    if protocol == 'UNKNOWN':
        return b'PROXY UNKNOWN\r\n'
    return f'PROXY {protocol} {src} {dst} {sport} {dport}\r\n'.encode()


def v2(command: int = 0x1, family_protocol: int = 0x11, block: bytes = b'', *, version: int = 2) -> bytes:
    """The fixed 16 bytes (signature, version/command, family/protocol, length) and ``block``."""
    return V2_SIGNATURE + bytes([version << 4 | command, family_protocol]) + struct.pack('!H', len(block)) + block


def v2_inet(
    src: str = '192.0.2.1',
    dst: str = '198.51.100.7',
    sport: int = 56324,
    dport: int = 443,
    *,
    tlvs: bytes = b'',
    command: int = 0x1,
    dgram: bool = False,
) -> bytes:
    """A PROXY (or LOCAL) header for TCP (or UDP) over IPv4 or IPv6, as the addresses' family says."""
    source, destination = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    family = 0x1 if source.version == 4 else 0x2
    block = source.packed + destination.packed + struct.pack('!HH', sport, dport) + tlvs
    return v2(command, family << 4 | (0x2 if dgram else 0x1), block)


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack('!H', len(value)) + value
