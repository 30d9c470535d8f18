"""HPACK (RFC 7541) for the server side: a stateless encoder, and a decoder that remembers blocks.

**Encoder.**

hpack's encoder searches the tables, Huffman-codes and indexes every field, which costs more than
the rest of a small response. This one never touches the dynamic table: a field is either a full
static-table match (``:status: 200``), or a literal *without indexing* that reuses a static-table
name where there is one. Its output for a field therefore never depends on what was sent before,
so each field's bytes are computed once and cached, for all connections. The price is a few dozen bytes per response,
the trade netty made for the same reason.

``set-cookie`` values are sent *never indexed* (§7.1.3), so no intermediary puts them in a table.

h2 calls :meth:`StatelessEncoder.encode` and sets :attr:`header_table_size` when the client
changes SETTINGS_HEADER_TABLE_SIZE; we then open the next block with a size update to 0 (§4.2),
which is always true for a table we never use.

**Decoder.** A client repeating a request sends, once its fields are in the dynamic table, the
same block again and again: *indexed* fields, plus literals it chose not to index (nghttp2, and so
curl and h2load, never indexes ``:path``). Decoding such a block changes no state, so
:class:`CachingDecoder` keeps its result and answers the next identical block from the cache. Any
block that can change the table (a literal with indexing, a size update) is decoded by hpack as
usual and empties the cache, as do changes of the limits; so the cache never outlives the table
state it was decoded against, and every limit still applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hpack import Decoder
from hpack.table import HeaderTable

__all__ = ['CachingDecoder', 'StatelessEncoder', 'encode_block']

_CACHE_MAX = 4096
_NEVER_INDEXED = frozenset((b'set-cookie', b'authorization', b'proxy-authorization'))


def _integer(value: int, prefix_bits: int, first: int) -> bytes:
    """An HPACK integer (§5.1) whose first byte carries ``first`` above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(data: bytes) -> bytes:
    return _integer(len(data), 7, 0) + data


_STATIC_FULL: dict[tuple[bytes, bytes], int] = {}
_STATIC_NAME: dict[bytes, int] = {}
for _index, (_name, _value) in enumerate(HeaderTable.STATIC_TABLE, 1):
    if _value:
        _STATIC_FULL.setdefault((_name, _value), _index)
    _STATIC_NAME.setdefault(_name, _index)


def encode_field(name: bytes, value: bytes) -> bytes:
    """The HPACK representation of one field, independent of any table state."""
    index = _STATIC_FULL.get((name, value))
    if index is not None:
        return _integer(index, 7, 0x80)
    first = 0x10 if name in _NEVER_INDEXED else 0x00
    index = _STATIC_NAME.get(name)
    if index is not None:
        return _integer(index, 4, first) + _string(value)
    return bytes((first,)) + _string(name) + _string(value)


# (name, value) -> encoded field, shared by every connection (the encoding has no state).
_CACHE: dict[tuple[bytes, bytes], bytes] = {}


def encode_block(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The fields of a header block, the same on every connection (see the module docstring)."""
    cache = _CACHE
    parts = []
    for name, value in headers:
        key = (name, value)
        encoded = cache.get(key)
        if encoded is None:
            encoded = encode_field(name, value)
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            cache[key] = encoded
        parts.append(encoded)
    return b''.join(parts)


class StatelessEncoder:
    """Duck-types the part of ``hpack.Encoder`` that h2 uses."""

    __slots__ = ('_size_update',)

    def __init__(self) -> None:
        self._size_update = False

    @property
    def header_table_size(self) -> int:
        return 0

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        self._size_update = True

    def block_start(self) -> bytes:
        """What the next block must start with: the size update owed since the client's change."""
        if self._size_update:
            self._size_update = False
            return b'\x20'  # dynamic table size update to 0
        return b''

    def encode(self, headers: Iterable[tuple[bytes, bytes]], huffman: bool = True) -> bytes:
        return self.block_start() + encode_block(headers)


def _skip_integer(block: bytes, index: int, prefix_mask: int) -> tuple[int, int]:
    """Read an HPACK integer (§5.1) at ``index``: its value and the index after it (-1 if cut)."""
    size = len(block)
    value = block[index] & prefix_mask
    index += 1
    if value == prefix_mask:
        shift = 0
        while True:
            if index >= size or shift > 28:
                return 0, -1
            byte = block[index]
            index += 1
            value += (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
    return value, index


def _skip_string(block: bytes, index: int) -> int:
    """The index after the string literal (§5.2) at ``index``; -1 if it runs past the block."""
    if index >= len(block):
        return -1
    length, index = _skip_integer(block, index, 0x7F)
    if index < 0 or index + length > len(block):
        return -1
    return index + length


def _keeps_table(block: bytes) -> bool:
    """True when decoding ``block`` leaves the dynamic table as it is: every field is indexed
    (§6.1) or a literal without indexing or never indexed (§6.2.2, §6.2.3); no field is added to
    the table (§6.2.1) and the table size is not updated (§6.3)."""
    index = 0
    size = len(block)
    while index < size:
        first = block[index]
        if first & 0x80:
            _, index = _skip_integer(block, index, 0x7F)
        elif first & 0xE0:  # 01xxxxxx adds to the table; 001xxxxx resizes it
            return False
        else:
            name_index, index = _skip_integer(block, index, 0x0F)
            if index >= 0 and name_index == 0:
                index = _skip_string(block, index)
            if index >= 0:
                index = _skip_string(block, index)
        if index < 0:
            return False  # malformed: hpack says how
    return True


class CachingDecoder(Decoder):
    """hpack's decoder, answering repeated blocks that leave the table as it is from a small
    per-connection cache."""

    _CACHE_MAX = 32

    def __init__(self) -> None:
        self._blocks: dict[bytes, Any] = {}
        super().__init__()

    # The limits are plain attributes in hpack; changing one must empty the cache.

    @property
    def max_header_list_size(self) -> int:
        return self._max_list

    @max_header_list_size.setter
    def max_header_list_size(self, value: int) -> None:
        self._max_list = value
        self._blocks.clear()

    @property
    def max_allowed_table_size(self) -> int:
        return self._max_table

    @max_allowed_table_size.setter
    def max_allowed_table_size(self, value: int) -> None:
        self._max_table = value
        self._blocks.clear()

    def decode(self, data: bytes, raw: bool = False) -> Any:
        block = bytes(data)
        blocks = self._blocks
        cached = blocks.get(block)
        if cached is not None:
            return cached
        headers = super().decode(block, raw)
        if raw and _keeps_table(block):
            if len(blocks) >= self._CACHE_MAX:
                blocks.clear()
            blocks[block] = headers
        else:
            blocks.clear()  # the table may have changed
        return headers
