"""The PROXY protocol header (versions 1 and 2), parsed sans-IO: bytes in, a header or an error out.

A proxy that relays TCP (HAProxy's ``send-proxy``, AWS NLB, ...) can prefix the connection with one
header naming the client and the address the client connected to. The rules below are those of
HAProxy's ``proxy-protocol.txt``, the protocol's specification; where it leaves the receiver a
choice, the choice and its reason are given.

* **One header, first, and only what was configured.** The receiver must not guess whether a header
  is there (a client could then spoof its address): ``v1`` accepts the text form only, ``v2`` the
  binary form only, ``auto`` whichever the first byte announces (``P`` or ``\\r``). Anything else is
  an error; nothing of the connection is used before a complete, valid header.
* **Fail early.** Every byte is checked as it arrives (a wrong signature, an unknown command, a
  syntax error in a half-received line), so garbage is refused at its first bad byte instead of
  after a timeout; the spec recommends aborting as soon as possible.
* **Version 1** is ``PROXY SP (TCP4|TCP6|UNKNOWN) SP src SP dst SP sport SP dport CRLF``, exactly
  one space between fields, at most 107 bytes with the CRLF. Addresses are in canonical form:
  IPv4 as four decimal numbers without leading zeros, IPv6 in hexadecimal groups (``::`` and a
  dotted IPv4 tail accepted, as ``inet_ntop`` writes them; no zone index) and in the family the
  protocol word names. Ports are decimal 0..65535 without leading zeros. A lone CR or LF is
  refused: only CRLF ends the line. ``UNKNOWN`` ignores the rest of its line and means "use the
  socket's addresses".
* **Version 2** is the 12-byte signature, a version/command byte (version 2; command LOCAL or
  PROXY), a family/protocol byte (family UNSPEC, INET, INET6 or UNIX; protocol UNSPEC, STREAM or
  DGRAM), a 16-bit length, then that many bytes: addresses, then TLVs. Unassigned values are
  refused. LOCAL (a proxy's own health check) ignores the whole block, whatever its length.
  Under PROXY, INET and INET6 carry addresses and ports (STREAM and DGRAM alike: they name the
  original endpoints either way); UNIX, and an UNSPEC family or protocol, carry nothing we can
  use, so they mean "use the socket's addresses", as the spec allows. An address block shorter
  than its family needs is refused. TLVs are skipped, but their framing is checked (each
  type-length-value must fit in the block), so a truncated block is an error rather than data we
  misread; the optional CRC32C TLV is not verified (the spec asks it only of receivers that
  support the checksum).
* **Bounded.** At most 107 bytes of a version 1 line and 16 + 65535 of a version 2 header are ever
  held. :meth:`ProxyHeaderParser.read_limit` says how many bytes may be read without reading past
  the header's end, for callers that must not (TLS, whose handshake bytes follow the header).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

__all__ = [
    'MAX_V1_LENGTH',
    'MAX_V2_LENGTH',
    'V2_SIGNATURE',
    'ProxyHeader',
    'ProxyHeaderError',
    'ProxyHeaderParser',
]

#: The longest version 1 line, CRLF included (``PROXY UNKNOWN`` with two full IPv6 addresses).
MAX_V1_LENGTH = 107
#: The longest version 2 header: 16 fixed bytes and a 16-bit length.
MAX_V2_LENGTH = 16 + 0xFFFF
V2_SIGNATURE = b'\r\n\r\n\x00\r\nQUIT\n'

# The shortest complete version 1 line, and the shortest after each protocol word (addresses
# '0.0.0.0' and '::', ports '0'): what a reader may safely ask for before it has seen more.
_SHORTEST_V1 = len(b'PROXY UNKNOWN\r\n')
_SHORTEST_AFTER = ((b'UNKNOWN', _SHORTEST_V1), (b'TCP6', len(b'PROXY TCP6 :: :: 0 0\r\n')), (b'TCP4', 32))
# The shortest spelling of each field after the protocol word: source, destination, two ports.
_FIELD_MIN = {b'TCP4': (7, 7, 1, 1), b'TCP6': (2, 2, 1, 1)}
# The characters each field may hold, checked while the line is still incomplete.
_FIELD_CHARS = {
    b'TCP4': re.compile(rb'[0-9.]*'),
    b'TCP6': re.compile(rb'[0-9A-Fa-f:.]*'),
}
_PORT_CHARS = re.compile(rb'[0-9]*')
_PORT = re.compile(rb'0|[1-9][0-9]{0,4}')

_LOCAL, _PROXY = 0x0, 0x1
_UNSPEC, _INET, _INET6, _UNIX = 0x0, 0x1, 0x2, 0x3
#: Bytes of source and destination address and port, by family.
_ADDRESS_BLOCK = {_UNSPEC: 0, _INET: 12, _INET6: 36, _UNIX: 216}


class ProxyHeaderError(ValueError):
    """The bytes are not a valid PROXY protocol header of an accepted version: close the connection."""


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A complete header: the addresses it names, or ``None`` for "use the socket's"."""

    #: 1 or 2.
    version: int
    #: The source address and port (the client as the proxy saw it); ``None`` for UNKNOWN, LOCAL,
    #: UNIX and UNSPEC, where the socket's peer stands.
    client: tuple[str, int] | None
    #: The destination address and port (what the client connected to); ``None`` with ``client``.
    server: tuple[str, int] | None
    #: How many bytes the header took on the wire.
    length: int


class ProxyHeaderParser:
    """Reads one header from the start of a connection.

    ``feed`` bytes until it returns a :class:`ProxyHeader` (then :attr:`rest` holds the bytes fed
    after it) or raises :class:`ProxyHeaderError`; ``None`` asks for more.
    """

    __slots__ = ('_buffer', '_mode', 'header', 'rest')

    def __init__(self, mode: str = 'auto') -> None:
        if mode not in ('v1', 'v2', 'auto'):
            raise ValueError(f'PROXY protocol mode must be v1, v2 or auto, not {mode!r}')
        self._mode = mode
        self._buffer = b''
        #: The header, once complete.
        self.header: ProxyHeader | None = None
        #: What was fed after the header (the connection's first bytes), once it is complete.
        self.rest = b''

    def feed(self, data: bytes) -> ProxyHeader | None:
        if self.header is not None:
            raise RuntimeError('the PROXY header is complete; the rest of the stream is not ours')
        buffer = self._buffer + data if self._buffer else data
        version = self._version(buffer)
        if version == 0:
            self._buffer = buffer
            return None
        result = _parse_v1(buffer) if version == 1 else _parse_v2(buffer)
        if result is None:
            self._buffer = buffer
            return None
        self.header = result
        self.rest = buffer[result.length :]
        self._buffer = b''
        return result

    def read_limit(self) -> int:
        """How many more bytes the header may still take: reading no more than this never reads
        past its end. Exact for version 2 once its fixed part is in; a lower bound for version 1,
        whose end is the first CRLF (the shortest line the bytes so far could still become)."""
        if self.header is not None:
            return 0
        buffer = self._buffer
        if buffer[:1] == b'\r' or (not buffer and self._mode == 'v2'):
            if len(buffer) < 16:
                return 16 - len(buffer)
            return 16 + int.from_bytes(buffer[14:16], 'big') - len(buffer)
        if not buffer:
            return _SHORTEST_V1
        return _v1_shortest_rest(buffer)

    def _version(self, buffer: bytes) -> int:
        """1 or 2 once the first bytes say which, 0 while there are none; refuses a wrong start."""
        first = buffer[:1]
        if not first:
            return 0
        if first == b'P' and self._mode != 'v2':
            return 1
        if first == b'\r' and self._mode != 'v1':
            return 2
        expected = {'v1': 'a version 1 header', 'v2': 'a version 2 header'}.get(self._mode, 'a PROXY header')
        raise ProxyHeaderError(f'expected {expected}, got {buffer[:16]!r}')


# -- version 1 ---------------------------------------------------------------------------------------


def _parse_v1(buffer: bytes) -> ProxyHeader | None:
    end = buffer.find(b'\r\n', 0, MAX_V1_LENGTH)
    if end < 0:
        _v1_shortest_rest(buffer[:MAX_V1_LENGTH])  # refuses what can no longer become a header
        if len(buffer) >= MAX_V1_LENGTH:
            raise ProxyHeaderError(f'version 1 line without CRLF in its first {MAX_V1_LENGTH} bytes')
        return None
    line = buffer[:end]
    if b'\r' in line:
        # A CR before the CRLF ('...\r\r\n'): a partial line may end in CR (its LF may follow),
        # a complete one may not.
        raise ProxyHeaderError('version 1 line with a bare CR: only CRLF ends it')
    _v1_shortest_rest(line)  # the same checks, on the whole line
    parts = line.split(b' ')
    if len(parts) < 2 or parts[1] not in (b'UNKNOWN', b'TCP4', b'TCP6'):
        raise ProxyHeaderError(f'version 1 line ends before its protocol: {line!r}')
    if parts[1] == b'UNKNOWN':
        return ProxyHeader(1, None, None, end + 2)
    if len(parts) != 6:
        raise ProxyHeaderError(f'version 1 {parts[1].decode()} line needs 4 fields after the protocol: {line!r}')
    parse = _ipv4 if parts[1] == b'TCP4' else _ipv6
    source, destination = parse(parts[2]), parse(parts[3])
    return ProxyHeader(1, (source, _port(parts[4])), (destination, _port(parts[5])), end + 2)


def _v1_shortest_rest(line: bytes) -> int:
    """Check a version 1 line, complete (without its CRLF) or still arriving; return the fewest
    bytes that could complete it (only meaningful while it is incomplete)."""
    if b'\n' in line:
        raise ProxyHeaderError('version 1 line with a bare LF: only CRLF ends it')
    cr = line.find(b'\r')
    if cr >= 0:
        if cr != len(line) - 1:
            raise ProxyHeaderError('version 1 line with a bare CR: only CRLF ends it')
        _v1_shortest_rest(line[:-1])
        return 1
    parts = line.split(b' ')
    if len(parts) == 1:
        if not b'PROXY'.startswith(line):
            raise ProxyHeaderError(f'not a version 1 header: {line!r}')
        return _SHORTEST_V1 - len(line)
    if parts[0] != b'PROXY':
        raise ProxyHeaderError(f'not a version 1 header: {line!r}')
    word = parts[1]
    if len(parts) == 2:
        for name, shortest in _SHORTEST_AFTER:
            if name.startswith(word):
                return shortest - len(line)
        raise ProxyHeaderError(f'version 1 protocol must be TCP4, TCP6 or UNKNOWN, not {word!r}')
    if word == b'UNKNOWN':
        return 2  # anything may follow; only the CRLF ends it
    minimums = _FIELD_MIN.get(word)
    if minimums is None:
        raise ProxyHeaderError(f'version 1 protocol must be TCP4, TCP6 or UNKNOWN, not {word!r}')
    fields = parts[2:]
    if len(fields) > 4:
        raise ProxyHeaderError(f'version 1 line with more than 4 fields after the protocol: {line!r}')
    for index, field in enumerate(fields):
        chars = _FIELD_CHARS[word] if index < 2 else _PORT_CHARS
        if not chars.fullmatch(field) or (not field and index < len(fields) - 1):
            raise ProxyHeaderError(f'version 1 field {index + 1} is not an address or port: {field!r}')
    current = len(fields) - 1
    return max(minimums[current] - len(fields[current]), 0) + sum(1 + size for size in minimums[current + 1 :]) + 2


def _ipv4(text: bytes) -> str:
    try:
        # ipaddress takes exactly four decimal octets and refuses leading zeros: the canonical form.
        return str(ipaddress.IPv4Address(text.decode('ascii')))
    except ValueError:
        raise ProxyHeaderError(f'not an IPv4 address in canonical form: {text!r}') from None


def _ipv6(text: bytes) -> str:
    try:
        # The characters were checked already (no zone index, no brackets).
        return _text6(ipaddress.IPv6Address(text.decode('ascii')).packed)
    except ValueError:
        raise ProxyHeaderError(f'not an IPv6 address: {text!r}') from None


def _text4(packed: bytes) -> str:
    return str(ipaddress.IPv4Address(packed))


def _text6(packed: bytes) -> str:
    # The text the kernel's own peer addresses have (inet_ntop: an IPv4-mapped address keeps its
    # dotted tail), so a proxied client reads like a direct one; ipaddress's str() changed that
    # spelling in Python 3.13 and would make the scope differ between interpreters.
    return socket.inet_ntop(socket.AF_INET6, packed)


def _port(text: bytes) -> int:
    if not _PORT.fullmatch(text) or int(text) > 0xFFFF:
        raise ProxyHeaderError(f'not a port (0 to 65535, no leading zeros): {text!r}')
    return int(text)


# -- version 2 ---------------------------------------------------------------------------------------


def _parse_v2(buffer: bytes) -> ProxyHeader | None:
    signature = buffer[:12]
    if not V2_SIGNATURE.startswith(signature):
        raise ProxyHeaderError(f'not a version 2 signature: {signature!r}')
    if len(buffer) > 12:
        version, command = buffer[12] >> 4, buffer[12] & 0xF
        if version != 2:
            raise ProxyHeaderError(f'version 2 header announcing version {version}')
        if command not in (_LOCAL, _PROXY):
            raise ProxyHeaderError(f'version 2 command {command:#x} is unassigned')
    if len(buffer) > 13:
        family, protocol = buffer[13] >> 4, buffer[13] & 0xF
        if family not in _ADDRESS_BLOCK or protocol > 0x2:
            raise ProxyHeaderError(f'version 2 family/protocol {buffer[13]:#04x} is unassigned')
    if len(buffer) < 16:
        return None
    length = 16 + int.from_bytes(buffer[14:16], 'big')
    block_size = _ADDRESS_BLOCK[family] if protocol != _UNSPEC else 0
    if command == _PROXY and length - 16 < block_size:
        # Known before the block arrives: refuse now rather than wait for bytes that cannot help.
        raise ProxyHeaderError(f'version 2 address block of {length - 16} bytes; the family needs {block_size}')
    if len(buffer) < length:
        return None
    if command == _LOCAL or family == _UNSPEC or protocol == _UNSPEC:
        # LOCAL is the proxy's own connection (a health check); UNSPEC is a connection it could not
        # describe, whose block has no layout we know. Either way the block is skipped unread.
        return ProxyHeader(2, None, None, length)
    _check_tlvs(buffer[16 + block_size : length])
    if family in (_INET, _INET6):
        size = 4 if family == _INET else 16
        text = _text4 if family == _INET else _text6
        source = text(buffer[16 : 16 + size])
        destination = text(buffer[16 + size : 16 + 2 * size])
        ports = 16 + 2 * size
        client = (source, int.from_bytes(buffer[ports : ports + 2], 'big'))
        server = (destination, int.from_bytes(buffer[ports + 2 : ports + 4], 'big'))
        return ProxyHeader(2, client, server, length)
    return ProxyHeader(2, None, None, length)


def _check_tlvs(block: bytes) -> None:
    """Walk the type-length-value entries after the addresses: each must fit, none may be cut."""
    position = 0
    while position < len(block):
        if position + 3 > len(block):
            raise ProxyHeaderError('version 2 TLV cut inside its type and length')
        position += 3 + int.from_bytes(block[position + 1 : position + 3], 'big')
        if position > len(block):
            raise ProxyHeaderError('version 2 TLV longer than the header')
