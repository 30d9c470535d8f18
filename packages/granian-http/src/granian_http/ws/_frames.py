"""The common WebSocket frames, read and written without wsproto's machinery.

Most traffic is small, unfragmented text and binary messages with no extension negotiated. For
those frames wsproto's general parser and serializer cost more than half of an echoed message, so
the session handles them here and gives everything else to wsproto, which stays the reference:

* reading, a frame takes this path only if it is complete in the bytes at hand, final (FIN), with
  no RSV bit, text or binary, masked (clients must mask), and with a 7- or 16-bit length in its
  minimal form; a text payload must also be valid UTF-8. The first frame that is anything else
  ends the fast path for this read: it and all bytes after it go to wsproto, which accepts it or
  fails the connection with the right code. So control frames, fragments, compressed frames,
  64-bit lengths and every malformed frame are wsproto's;
* writing, a whole unmasked frame is a two- or four-byte header plus the payload.

The session uses this only while wsproto holds no partial frame or message, so the two never
disagree about where a frame starts.
"""

from __future__ import annotations

__all__ = ['frame', 'read_simple_frames']

_TEXT = 0x81  # FIN + text
_BINARY = 0x82  # FIN + binary


def _unmask(payload: bytes, mask: bytes) -> bytes:
    size = len(payload)
    if not size:
        return b''
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, 'big') ^ int.from_bytes(key, 'big')).to_bytes(size, 'big')


def read_simple_frames(data: bytes, limit: int) -> tuple[list[str | bytes], int]:
    """Decode the leading run of simple frames in ``data``.

    Returns the messages and how many bytes they took; the bytes from there on are not simple
    frames (or not complete ones) and belong to wsproto. ``limit`` is the largest message taken.
    """
    messages: list[str | bytes] = []
    end = len(data)
    pos = 0
    while end - pos >= 6:
        first = data[pos]
        second = data[pos + 1]
        if (first != _TEXT and first != _BINARY) or not second & 0x80:
            break
        length = second & 0x7F
        if length < 126:
            start = pos + 6
        elif length == 126:
            if end - pos < 8:
                break
            length = (data[pos + 2] << 8) | data[pos + 3]
            if length < 126:  # not the minimal form: wsproto decides
                break
            start = pos + 8
        else:
            break
        stop = start + length
        if stop > end or length > limit:
            break
        payload = _unmask(data[start:stop], data[start - 4 : start])
        if first == _TEXT:
            try:
                messages.append(payload.decode('utf-8'))
            except UnicodeDecodeError:
                break
        else:
            messages.append(payload)
        pos = stop
    return messages, pos


def frame(data: str | bytes) -> bytes:
    """A whole, unmasked server frame carrying ``data`` (text for str, binary for bytes)."""
    if isinstance(data, str):
        payload = data.encode('utf-8')
        first = _TEXT
    else:
        payload = data
        first = _BINARY
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return bytes((first, 126)) + size.to_bytes(2, 'big') + payload
    return bytes((first, 127)) + size.to_bytes(8, 'big') + payload
