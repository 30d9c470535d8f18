"""The client side of RFC 6455 that the harness's own checks need: the handshake and single frames.

Shared by the one-message check every WebSocket row passes before its load (``websocket.echo_once``)
and by the client that holds idle WebSockets for the memory benchmark (``idle_client``). Small
messages only: neither sends fragments nor anything above 125 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct

__all__ = [
    'BINARY',
    'CLOSE',
    'PING',
    'PONG',
    'check_upgrade',
    'client_frame',
    'close_frame',
    'handshake',
    'read_frame',
]

_RFC6455_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

BINARY, CLOSE, PING, PONG = 0x2, 0x8, 0x9, 0xA


def handshake(host: str, port: int, path: str) -> tuple[bytes, bytes]:
    """An upgrade request, and the ``Sec-WebSocket-Accept`` value a correct answer carries."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f'GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n'
    )
    accept = base64.b64encode(hashlib.sha1((key + _RFC6455_GUID).encode()).digest())
    return request.encode(), accept


def check_upgrade(head: bytes, accept: bytes) -> None:
    """Raise ConnectionError unless ``head`` (the response head, without its blank line) accepts the upgrade."""
    status_line = head.split(b'\r\n', 1)[0]
    if status_line.split(b' ')[1:2] != [b'101']:
        raise ConnectionError(f'handshake refused: {status_line.decode(errors="replace")}')
    if accept not in head:
        raise ConnectionError(f'handshake: no Sec-WebSocket-Accept {accept.decode()} in {head!r}')


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final frame, masked as a client must send it."""
    if len(payload) > 125:
        raise ValueError('the harness sends short frames only')
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked


def close_frame(code: int = 1000) -> bytes:
    return client_frame(CLOSE, struct.pack('!H', code))


def read_frame(data: bytes | bytearray) -> tuple[bool, int, bytes, int] | None:
    """The first server frame in ``data`` as (final, opcode, payload, bytes used); None while incomplete.

    Raises ConnectionError for a masked frame: a server never masks, so the bytes are not its frame.
    """
    if len(data) < 2:
        return None
    final, opcode, size = bool(data[0] & 0x80), data[0] & 0x0F, data[1] & 0x7F
    if data[1] & 0x80:
        raise ConnectionError(f'a masked frame from the server (first bytes {bytes(data[:2])!r})')
    header = 2
    if size == 126:
        if len(data) < 4:
            return None
        (size,) = struct.unpack_from('!H', data, 2)
        header = 4
    elif size == 127:
        if len(data) < 10:
            return None
        (size,) = struct.unpack_from('!Q', data, 2)
        header = 10
    if len(data) < header + size:
        return None
    return final, opcode, bytes(data[header : header + size]), header + size
