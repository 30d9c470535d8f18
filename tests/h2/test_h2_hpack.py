"""HPACK pieces of our own (RFC 7541): the stateless encoder against hpack's decoder, and the caching
decoder against hpack's plain one on the same sequences of blocks."""

from __future__ import annotations

import random

import pytest
from hpack import Decoder, Encoder, HeaderTuple, NeverIndexedHeaderTuple
from hpack.exceptions import HPACKError

from granian_http.h2._hpack import CachingDecoder, StatelessEncoder, _keeps_table, encode_block

REQUEST = [(b':method', b'GET'), (b':scheme', b'http'), (b':authority', b'example.com'), (b':path', b'/')]


def _without_indexing(name: bytes, value: bytes, name_index: int = 0) -> bytes:
    """A literal without indexing (§6.2.2), strings not Huffman-coded; lengths below 127."""
    if name_index:
        return bytes((name_index,)) + bytes((len(value),)) + value
    return b'\x00' + bytes((len(name),)) + name + bytes((len(value),)) + value


@pytest.mark.parametrize(
    ('block', 'keeps'),
    [
        pytest.param(b'\x82\x86\x84', True, id='indexed'),
        pytest.param(b'\xff\x80\x01', True, id='indexed-multibyte-index'),
        pytest.param(b'\x82' + _without_indexing(b':path', b'/b', 4), True, id='literal-without-indexing'),
        pytest.param(_without_indexing(b'x-new', b'v'), True, id='literal-new-name'),
        pytest.param(b'\x14\x02/b', True, id='never-indexed'),
        pytest.param(b'\x82\x44\x02/b', False, id='with-indexing'),
        pytest.param(b'\x20\x82', False, id='size-update'),
        pytest.param(b'\x04\x05/b', False, id='value-cut-short'),
        pytest.param(b'\x00\x05x', False, id='name-cut-short'),
        pytest.param(b'\x0f', False, id='index-cut-short'),
        pytest.param(b'\x04\x7f\xff\xff\xff\xff\xff\x01', False, id='huge-length'),
        pytest.param(b'', True, id='empty'),
    ],
)
def test_which_blocks_leave_the_table_alone(block: bytes, keeps: bool) -> None:
    assert _keeps_table(block) is keeps


def test_blocks_hpack_encodes_are_classified_by_what_they_do_to_the_table() -> None:
    encoder = Encoder()
    first = encoder.encode(REQUEST)  # indexes :authority
    again = encoder.encode(REQUEST)  # all indexed now
    secret = encoder.encode([*REQUEST, NeverIndexedHeaderTuple(b'authorization', b'x')])
    assert not _keeps_table(first)
    assert _keeps_table(again)
    assert _keeps_table(secret)
    huffman = encoder.encode([HeaderTuple(b':path', b'/some/longer/path')], huffman=True)
    assert _keeps_table(huffman) is (huffman[0] & 0xC0 != 0x40)


def test_caching_decoder_answers_like_hpack() -> None:
    """A random sequence of repeated, indexing and non-indexing blocks: same answers, same errors."""
    rng = random.Random(8441)
    encoder = Encoder()
    ours, theirs = CachingDecoder(), Decoder()
    paths = [b'/a', b'/b', b'/c/d']
    hits = 0
    for _ in range(400):
        roll = rng.random()
        if roll < 0.1:
            block = encoder.encode([*REQUEST, (b'x-new-%d' % rng.randrange(1000), b'v')])  # adds to the table
        elif roll < 0.15:
            block = b'\xbf\xff\x7f'  # an index far beyond the tables: an error either way
        else:
            path = rng.choice(paths)
            block = encoder.encode(REQUEST[:3]) + _without_indexing(b':path', path, 4)
        try:
            expected = theirs.decode(block, raw=True)
        except HPACKError as exc:
            with pytest.raises(type(exc)):
                ours.decode(block, raw=True)
            continue
        before = len(ours._blocks)
        assert ours.decode(block, raw=True) == expected
        hits += before == len(ours._blocks) and block in ours._blocks
    assert hits > 100  # the cache answered most repeated blocks


def test_caching_decoder_keeps_the_header_list_limit() -> None:
    decoder = CachingDecoder()
    block = _without_indexing(b'x-big', b'v' * 100)
    assert decoder.decode(block, raw=True) == [(b'x-big', b'v' * 100)]
    decoder.max_header_list_size = 50  # the cache is emptied: the same block is now too big
    with pytest.raises(HPACKError):
        decoder.decode(block, raw=True)


def test_stateless_encoder_decodes_with_hpack() -> None:
    encoder = StatelessEncoder()
    decoder = Decoder()
    headers = [
        (b':status', b'200'),
        (b'content-type', b'text/plain'),
        (b'x-custom', b'value'),
        (b'set-cookie', b'secret=1'),
    ]
    assert decoder.decode(encoder.encode(headers), raw=True) == headers
    encoder.header_table_size = 100  # the client changed SETTINGS_HEADER_TABLE_SIZE
    block = encoder.encode(headers)
    assert block[:1] == b'\x20' and block[1:] == encode_block(headers)
    assert decoder.decode(block, raw=True) == headers
    assert encoder.encode(headers) == encode_block(headers)  # the update is sent once
