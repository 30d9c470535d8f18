"""The PROXY protocol header parser against the spec (HAProxy's proxy-protocol.txt), field by field.

Every valid form is read in one piece, byte by byte, and in the reads ``read_limit`` allows (which
must never pass the header's end); every malformed one is refused, and refused as early as the
bytes allow.
"""

from __future__ import annotations

import pytest

from granian_http import ProxyHeader, ProxyHeaderError, ProxyHeaderParser
from granian_http.proxy_header import MAX_V1_LENGTH, MAX_V2_LENGTH, V2_SIGNATURE
from proxy_protocol.headers import tlv, v1, v2, v2_inet

IPV6_MAX = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'

VALID = [
    # version 1
    (v1(), ProxyHeader(1, ('192.0.2.1', 56324), ('198.51.100.7', 443), len(v1()))),
    (b'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n', None),
    (b'PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n', ProxyHeader(1, ('0.0.0.0', 0), ('0.0.0.0', 0), 32)),
    (v1('TCP6', '2001:db8::1', '::1', 1, 2), ProxyHeader(1, ('2001:db8::1', 1), ('::1', 2), 32)),
    (v1('TCP6', 'FE80:0000:0000:0000:0000:0000:0000:0001', '::', 0, 0), None),
    (v1('TCP6', IPV6_MAX, IPV6_MAX, 65535, 65535), None),
    (v1('TCP6', '::ffff:127.0.0.1', '::1', 5, 6), ProxyHeader(1, ('::ffff:127.0.0.1', 5), ('::1', 6), 37)),
    (b'PROXY UNKNOWN\r\n', ProxyHeader(1, None, None, 15)),
    (f'PROXY UNKNOWN {IPV6_MAX} {IPV6_MAX} 65535 65535\r\n'.encode(), ProxyHeader(1, None, None, MAX_V1_LENGTH)),
    (b'PROXY UNKNOWN anything at all, even \x00\xff\r\n', None),
    # version 2
    (v2_inet(), ProxyHeader(2, ('192.0.2.1', 56324), ('198.51.100.7', 443), 28)),
    (v2_inet('2001:db8::5', '2001:db8::6', 7, 8), ProxyHeader(2, ('2001:db8::5', 7), ('2001:db8::6', 8), 52)),
    (v2_inet(dgram=True), ProxyHeader(2, ('192.0.2.1', 56324), ('198.51.100.7', 443), 28)),
    (
        v2_inet(tlvs=tlv(0x01, b'h2') + tlv(0x04, b'') + tlv(0x20, b'\x01\x00\x00\x00\x00' + tlv(0x21, b'TLSv1.3'))),
        None,
    ),
    (v2_inet(tlvs=tlv(0xE0, b'x' * 1000)), None),
    # LOCAL: the block is discarded whatever it holds (even addresses, even a broken TLV).
    (v2(0x0, 0x00), ProxyHeader(2, None, None, 16)),
    (v2(0x0, 0x11, b'\x01\x02\x03'), ProxyHeader(2, None, None, 19)),
    (v2_inet(command=0x0), ProxyHeader(2, None, None, 28)),
    # UNSPEC family or protocol, and UNIX: the socket's addresses stand.
    (v2(0x1, 0x00), ProxyHeader(2, None, None, 16)),
    (v2(0x1, 0x00, b'opaque'), ProxyHeader(2, None, None, 22)),
    (v2(0x1, 0x10, b'opaque'), ProxyHeader(2, None, None, 22)),
    (v2(0x1, 0x31, b'/run/a.sock'.ljust(108, b'\x00') + b'/run/b.sock'.ljust(108, b'\x00')), None),
    (v2(0x1, 0x32, bytes(216) + tlv(0x05, b'id')), ProxyHeader(2, None, None, 16 + 216 + 5)),
]


def _feed_all(parser: ProxyHeaderParser, chunks: list[bytes]) -> ProxyHeader | None:
    result = None
    for chunk in chunks:
        assert result is None, 'the header was complete before its last byte'
        result = parser.feed(chunk)
    return result


@pytest.mark.parametrize(('data', 'expected'), VALID, ids=range(len(VALID)))
@pytest.mark.parametrize('mode', ['auto', 'exact'])
def test_a_valid_header_is_read_whole_and_the_rest_kept(data: bytes, expected: ProxyHeader | None, mode: str) -> None:
    mode = ('v1' if data[:1] == b'P' else 'v2') if mode == 'exact' else 'auto'
    parser = ProxyHeaderParser(mode)
    header = parser.feed(data + b'GET / HTTP/1.1\r\n')
    assert header is not None
    assert header.length == len(data)
    if expected is not None:
        assert header == expected
    assert parser.rest == b'GET / HTTP/1.1\r\n'
    assert parser.read_limit() == 0


@pytest.mark.parametrize(('data', 'expected'), VALID, ids=range(len(VALID)))
def test_a_header_arriving_byte_by_byte_is_the_same(data: bytes, expected: ProxyHeader | None) -> None:
    parser = ProxyHeaderParser()
    header = _feed_all(parser, [data[i : i + 1] for i in range(len(data))])
    assert header == (expected or ProxyHeaderParser().feed(data))
    assert parser.rest == b''


@pytest.mark.parametrize(('data', 'expected'), VALID, ids=range(len(VALID)))
def test_read_limit_never_reads_past_the_header(data: bytes, expected: ProxyHeader | None) -> None:
    """What a TLS listener relies on: reading only ``read_limit`` bytes at a time, the header's
    last read ends exactly at its end, so the handshake's bytes stay unread."""
    parser = ProxyHeaderParser()
    position = reads = 0
    header = None
    while header is None:
        limit = parser.read_limit()
        assert 0 < limit <= len(data) - position
        header = parser.feed(data[position : position + limit])
        position += limit
        reads += 1
    assert position == len(data) and parser.rest == b''
    # Far fewer reads than bytes: the limit is the shortest line the bytes so far could become.
    # (After 'PROXY UNKNOWN ' anything may come before the CRLF: two bytes at a time there.)
    if not data.startswith(b'PROXY UNKNOWN '):
        assert reads <= 16


def test_read_limit_before_any_byte() -> None:
    assert ProxyHeaderParser('v1').read_limit() == len(b'PROXY UNKNOWN\r\n')
    assert ProxyHeaderParser('auto').read_limit() == 15
    assert ProxyHeaderParser('v2').read_limit() == 16
    parser = ProxyHeaderParser('v2')
    assert parser.feed(v2_inet()[:16]) is None
    assert parser.read_limit() == 12  # exact once the length is known


MALFORMED_V1 = [
    b'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\n',  # LF alone
    b'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\r\n',  # CR alone
    b'PROXY UNKNOWN whatever\r\r\n',  # CR alone, where anything else goes (found by fuzzing)
    b'PROXY TCP4 192.0.2.1 198.51.100.7 56324\r443\r\n',
    b'PROXY  TCP4 192.0.2.1 198.51.100.7 56324 443\r\n',  # two spaces
    b'PROXY TCP4 192.0.2.1  198.51.100.7 56324 443\r\n',
    b'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443 \r\n',
    b'PROXY TCP4 192.0.2.1 198.51.100.7 56324\r\n',  # a field missing
    b'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443 80\r\n',  # one too many
    b'PROXY TCP5 192.0.2.1 198.51.100.7 56324 443\r\n',
    b'PROXY tcp4 192.0.2.1 198.51.100.7 56324 443\r\n',
    b'PROXY UNKNOWNX\r\n',
    b'PROXY\r\n',
    b'PROXY \r\n',
    b'PROXY TCP4\r\n',
    b'PROXYTCP4 192.0.2.1 198.51.100.7 56324 443\r\n',
    b'proxy TCP4 192.0.2.1 198.51.100.7 56324 443\r\n',
    b'PROXY TCP4 192.0.2.01 198.51.100.7 56324 443\r\n',  # leading zero
    b'PROXY TCP4 192.0.2.256 198.51.100.7 56324 443\r\n',
    b'PROXY TCP4 192.0.2 198.51.100.7 56324 443\r\n',
    b'PROXY TCP4 0x7f.0.0.1 198.51.100.7 56324 443\r\n',
    b'PROXY TCP4 2001:db8::1 198.51.100.7 56324 443\r\n',  # family mismatch
    b'PROXY TCP6 192.0.2.1 ::1 56324 443\r\n',
    b'PROXY TCP6 fe80::1%eth0 ::1 56324 443\r\n',  # zone index
    b'PROXY TCP6 [::1] ::1 56324 443\r\n',
    b'PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 56324 443\r\n',
    b'PROXY TCP6 1::2::3 ::1 56324 443\r\n',
    b'PROXY TCP4 192.0.2.1 198.51.100.7 056324 443\r\n',  # leading zero
    b'PROXY TCP4 192.0.2.1 198.51.100.7 65536 443\r\n',
    b'PROXY TCP4 192.0.2.1 198.51.100.7 -1 443\r\n',
    b'PROXY TCP4 192.0.2.1 198.51.100.7 +1 443\r\n',
    b'PROXY TCP4 192.0.2.1 198.51.100.7 1_0 443\r\n',
    b'PROXY TCP4 \xd9\xa1.0.0.1 198.51.100.7 56324 443\r\n',  # a non-ASCII digit
    b'PROXY UNKNOWN ' + b'x' * (MAX_V1_LENGTH - 15) + b'\r\n',  # 108 bytes
]


@pytest.mark.parametrize('data', MALFORMED_V1, ids=range(len(MALFORMED_V1)))
def test_a_malformed_version_1_line_is_refused(data: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        ProxyHeaderParser('v1').feed(data)


@pytest.mark.parametrize('data', MALFORMED_V1, ids=range(len(MALFORMED_V1)))
def test_a_malformed_version_1_line_is_refused_byte_by_byte_too(data: bytes) -> None:
    parser = ProxyHeaderParser('auto')
    with pytest.raises(ProxyHeaderError):
        _feed_all(parser, [data[i : i + 1] for i in range(len(data))])


@pytest.mark.parametrize(
    ('prefix', 'why'),
    [
        (b'G', 'not P'),
        (b'PROXI', 'a wrong letter'),
        (b'PROXY X', 'no protocol starts so'),
        (b'PROXY TCP4 1.2.3.4 1.2.3.4 1 2 ', 'a fifth field'),
        (b'PROXY TCP4 1.2.3.a', 'a letter in an IPv4 address'),
        (b'PROXY TCP6 1:2:g', 'not hexadecimal'),
        (b'PROXY TCP4 1.2.3.4 1.2.3.4 1a', 'a letter in a port'),
        (b'PROXY TCP4 1.2.3.4\n', 'a bare LF'),
        (b'PROXY TCP4 1.2.3.4\rx', 'a bare CR'),
        (b'PROXY UNKNOWN ' + b'x' * 100, 'no CRLF in 107 bytes'),
    ],
)
def test_a_version_1_line_is_refused_at_its_first_bad_byte(prefix: bytes, why: str) -> None:
    # No CRLF yet: an error now, not after a timeout.
    with pytest.raises(ProxyHeaderError):
        ProxyHeaderParser().feed(prefix)


MALFORMED_V2 = [
    (v2_inet(), 12, b'\x11', 'version 1 in the version nibble'),
    (v2_inet(), 12, b'\x31', 'version 3'),
    (v2_inet(), 12, b'\x22', 'command 2'),
    (v2_inet(), 12, b'\x2f', 'command 15'),
    (v2_inet(), 13, b'\x41', 'family 4'),
    (v2_inet(), 13, b'\x13', 'protocol 3'),
    (v2_inet(), 13, b'\xff', 'both unassigned'),
    (v2_inet(), 4, b'\x01', 'a wrong signature byte'),
    (v2_inet(), 11, b'\x00', 'the signature without its last byte'),
]


@pytest.mark.parametrize(('header', 'at', 'byte', 'why'), MALFORMED_V2, ids=[case[3] for case in MALFORMED_V2])
def test_a_version_2_header_with_an_unassigned_or_wrong_byte_is_refused(
    header: bytes, at: int, byte: bytes, why: str
) -> None:
    broken = header[:at] + byte + header[at + 1 :]
    with pytest.raises(ProxyHeaderError):
        ProxyHeaderParser('v2').feed(broken)
    # ... and at that byte, before the rest arrives.
    with pytest.raises(ProxyHeaderError):
        ProxyHeaderParser('auto').feed(broken[: at + 1])


@pytest.mark.parametrize(
    ('family_protocol', 'size'),
    [(0x11, 12), (0x12, 12), (0x21, 36), (0x22, 36), (0x31, 216), (0x32, 216)],
)
def test_a_version_2_address_block_shorter_than_its_family_is_refused_at_once(family_protocol: int, size: int) -> None:
    header = v2(0x1, family_protocol, bytes(size - 1))
    with pytest.raises(ProxyHeaderError, match='address block'):
        ProxyHeaderParser().feed(header[:16])  # known from the length alone
    assert ProxyHeaderParser().feed(v2(0x1, family_protocol, bytes(size))) is not None


@pytest.mark.parametrize(
    'tlvs',
    [
        b'\x01',  # cut inside type and length
        b'\x01\x00',
        tlv(0x01, b'h2')[:-1],  # value shorter than its length
        tlv(0x01, b'h2') + b'\x04\x00\x05abc',  # the second one too long
    ],
)
def test_a_truncated_tlv_is_refused(tlvs: bytes) -> None:
    with pytest.raises(ProxyHeaderError, match='TLV'):
        ProxyHeaderParser().feed(v2_inet(tlvs=tlvs))


def test_the_largest_version_2_header_is_read_and_no_more_is_held() -> None:
    block = bytes(12) + tlv(0xE1, bytes(0xFFFF - 12 - 3))
    header = v2(0x1, 0x11, block)
    assert len(header) == MAX_V2_LENGTH
    parser = ProxyHeaderParser()
    result = None
    for start in range(0, len(header), 4096):
        assert result is None
        result = parser.feed(header[start : start + 4096])
    assert result == ProxyHeader(2, ('0.0.0.0', 0), ('0.0.0.0', 0), MAX_V2_LENGTH)


@pytest.mark.parametrize(
    ('mode', 'data'),
    [
        ('v1', v2_inet()),
        ('v1', V2_SIGNATURE[:1]),
        ('v2', v1()),
        ('v2', b'P'),
        ('auto', b'GET / HTTP/1.1\r\n\r\n'),
        ('auto', b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),  # an HTTP/2 preface instead of a header
        ('auto', b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'),  # a TLS ClientHello
        ('auto', b'\r\n\r\n\x00\r\nQUIX'),
    ],
)
def test_a_header_of_the_version_not_configured_or_none_at_all_is_refused(mode: str, data: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        ProxyHeaderParser(mode).feed(data)


def test_truncated_headers_only_ever_need_more_data() -> None:
    for data, _ in VALID:
        parser = ProxyHeaderParser()
        assert parser.feed(data[:-1]) is None, data


def test_the_parser_reads_one_header_only() -> None:
    parser = ProxyHeaderParser()
    assert parser.feed(v1() + v1()) is not None
    assert parser.rest == v1()
    with pytest.raises(RuntimeError):
        parser.feed(b'more')


def test_an_unknown_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match='v1, v2 or auto'):
        ProxyHeaderParser('v3')
