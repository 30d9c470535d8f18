"""Fuzz target ``proxy-protocol``: the PROXY protocol header parser (``granian_http.proxy_header``).

Input: ``[config][cut points][payload]`` (:func:`.harness.encode`). The config picks the mode
(``v1``, ``v2``, ``auto``). The payload is fed three ways: whole, in the fuzzer's cuts, and in reads
of ``read_limit()`` bytes (what a TLS listener does). Properties:

* never an exception but :class:`ProxyHeaderError`;
* the three ways agree: the same header and the same rest, or all refuse, or all still need data
  (an early check that refuses a prefix of a valid header would show here);
* reading by ``read_limit`` never takes a byte past the header;
* a header is at most 107 bytes (version 1) or 16 + 65535 (version 2), of the configured version,
  re-reads the same from its own bytes, and names valid addresses with ports in range; nothing
  held while incomplete exceeds those maxima.
"""

from __future__ import annotations

import ipaddress

from granian_http import ProxyHeader, ProxyHeaderError, ProxyHeaderParser
from granian_http.proxy_header import MAX_V1_LENGTH, MAX_V2_LENGTH

from .harness import Reader, Target, cut, encode, expect, read_plan
from .seeds import literals

__all__ = ['TARGET']

_MODES = ('auto', 'v1', 'v2')
Outcome = tuple[str, ProxyHeader | None, bytes]


def _outcome(parser: ProxyHeaderParser, pieces: list[bytes]) -> Outcome:
    try:
        for index, piece in enumerate(pieces):
            header = parser.feed(piece)
            expect(len(parser._buffer) <= MAX_V2_LENGTH, f'{len(parser._buffer)} bytes held')
            if header is not None:
                return 'header', header, parser.rest + b''.join(pieces[index + 1 :])
    except ProxyHeaderError:
        return 'refused', None, b''
    return 'need-data', None, b''


def _by_read_limit(mode: str, payload: bytes) -> Outcome:
    parser = ProxyHeaderParser(mode)
    position = 0
    try:
        while position < len(payload):
            limit = parser.read_limit()
            expect(limit > 0, 'read_limit 0 before the header is complete')
            header = parser.feed(payload[position : position + limit])
            position += limit
            if header is not None:
                expect(parser.rest == b'', f'read_limit read {len(parser.rest)} bytes past the header')
                expect(position == header.length, 'the header ended before the reads did')
                return 'header', header, payload[position:]
    except ProxyHeaderError:
        return 'refused', None, b''
    return 'need-data', None, b''


def _check_header(mode: str, header: ProxyHeader, payload: bytes) -> None:
    expect(mode == 'auto' or header.version == int(mode[1]), f'v{header.version} header in {mode} mode')
    expect(header.length <= (MAX_V1_LENGTH if header.version == 1 else MAX_V2_LENGTH), f'{header.length} bytes')
    expect((header.client is None) == (header.server is None), 'one address without the other')
    for address in (header.client, header.server):
        if address is not None:
            ipaddress.ip_address(address[0])  # raises, a failure, for anything but an address
            expect(0 <= address[1] <= 0xFFFF, f'port {address[1]}')
    again = ProxyHeaderParser(mode).feed(payload[: header.length])
    expect(again == header, f'{again!r} re-read from the same bytes, was {header!r}')


def check(data: bytes) -> None:
    reader = Reader(data)
    config, points = read_plan(reader)
    mode = _MODES[config % len(_MODES)]
    payload = reader.rest()
    whole = _outcome(ProxyHeaderParser(mode), [payload] if payload else [])
    pieces = _outcome(ProxyHeaderParser(mode), cut(payload, points))
    limited = _by_read_limit(mode, payload)
    expect(whole == pieces, f'whole {whole[:2]} but in pieces {pieces[:2]}')
    expect(whole == limited, f'whole {whole[:2]} but by read_limit {limited[:2]}')
    kind, header, rest = whole
    if kind == 'header':
        assert header is not None
        _check_header(mode, header, payload)
        expect(rest == payload[header.length :], 'rest is not what followed the header')


def _is_header(value: bytes) -> bool:
    return value.startswith((b'PROXY', b'\r\n\r\n\x00'))


def seeds() -> list[bytes]:
    from proxy_protocol.headers import tlv, v1, v2, v2_inet

    headers = list(literals(['proxy_protocol/test_*.py'], _is_header))
    headers += [
        v1(),
        v1('TCP6', '2001:db8::1', '::1', 1, 2),
        v1('UNKNOWN'),
        v2_inet(),
        v2_inet('2001:db8::5', '2001:db8::6', 7, 8, tlvs=tlv(0x01, b'h2') + tlv(0x04, b'')),
        v2_inet(command=0x0),
        v2(0x1, 0x31, bytes(216)),
        v2(0x0, 0x00),
    ]
    request = b'GET / HTTP/1.1\r\nhost: x\r\n\r\n'
    return [encode(header + request, config, (5, 17)) for header in headers for config in range(len(_MODES))]


TARGET = Target(name='proxy-protocol', check=check, seeds=seeds)
