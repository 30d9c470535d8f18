"""The bytes the soak sends and expects, known to the app and to the clients alike.

A streamed response is a prefix of one fixed pseudo-random block repeated, so the client can check
every byte it reads (order included: the block does not repeat within 64 KiB) without the server
having to send a checksum. Uploads are slices of one random buffer; the app answers their size and
SHA-256, the client compares with its own.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

__all__ = ['BLOCK', 'digest', 'expected_stream', 'stream_chunks', 'upload_answer']

#: Seeded, so the server and the client build the same block.
BLOCK = random.Random(20240615).randbytes(64 * 1024)


def stream_chunks(size: int, chunk: int) -> Iterator[bytes]:
    """The body of ``/stream?size=&chunk=`` as the app sends it: ``size`` bytes in ``chunk``-sized
    pieces, each made when it is sent (a 4 MiB answer never sits whole in the worker's memory)."""
    for offset in range(0, size, chunk):
        yield expected_stream(min(chunk, size - offset), offset)


def expected_stream(size: int, offset: int = 0) -> bytes:
    """Bytes ``offset`` to ``offset + size`` of the endless repetition of :data:`BLOCK`."""
    out = bytearray()
    position = offset % len(BLOCK)
    while len(out) < size:
        take = min(size - len(out), len(BLOCK) - position)
        out += BLOCK[position : position + take]
        position = 0
    return bytes(out)


def digest(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def upload_answer(size: int, sha256: str) -> bytes:
    """The body of the upload endpoint's answer: what the client compares with what it sent."""
    return f'{size} {sha256}'.encode()
