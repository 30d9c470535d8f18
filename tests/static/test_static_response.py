"""Static responses as data: validators, conditional requests (RFC 9110 §13) and ranges (§14)."""

from __future__ import annotations

import email.utils

import pytest

from granian_server.static_response import (
    Conditions,
    Plan,
    etag_for,
    parse_range,
    plan_response,
    read_conditions,
)

SIZE = 1000
MTIME_NS = 1_700_000_000_123_456_789
MTIME_S = MTIME_NS // 1_000_000_000
ETAG = etag_for(SIZE, MTIME_NS)
LAST_MODIFIED = email.utils.formatdate(MTIME_S, usegmt=True).encode()


def plan(
    method: str = 'GET', expires: int = 60, coding: str | None = None, vary: bool = False, **conditions: bytes
) -> Plan:
    return plan_response(
        method,
        Conditions(**conditions),
        size=SIZE,
        mtime_ns=MTIME_NS,
        media_type='text/plain',
        expires=expires,
        coding=coding,
        vary=vary,
    )


def header(result: Plan, name: bytes) -> bytes | None:
    values = [value for key, value in result.headers if key == name]
    assert len(values) <= 1
    return values[0] if values else None


def http_date(seconds: int) -> bytes:
    return email.utils.formatdate(seconds, usegmt=True).encode()


def test_etag_is_quoted_mtime_and_size_in_hex() -> None:
    assert etag_for(255, 16) == b'"10-ff"'


def test_a_variant_etag_names_its_coding() -> None:
    assert etag_for(255, 16, 'br') == b'"10-ff-br"'
    assert len({etag_for(SIZE, MTIME_NS, coding) for coding in (None, 'gzip', 'br', 'zstd')}) == 4


def test_read_conditions_picks_the_headers_and_joins_repeated_if_none_match() -> None:
    conditions = read_conditions(
        [
            (b'if-none-match', b'"a"'),
            (b'host', b'x'),
            (b'if-none-match', b'"b"'),
            (b'if-modified-since', b'date'),
            (b'range', b'bytes=0-1'),
            (b'if-range', b'"a"'),
            (b'accept-encoding', b'gzip'),
            (b'accept-encoding', b'br;q=0.5'),
        ]
    )
    assert conditions == Conditions(b'"a","b"', b'date', b'bytes=0-1', b'"a"', b'gzip,br;q=0.5')
    assert read_conditions([]) == Conditions()


def test_plain_get() -> None:
    result = plan()
    assert (result.status, result.offset, result.length) == (200, 0, SIZE)
    assert header(result, b'content-type') == b'text/plain'
    assert header(result, b'etag') == ETAG
    assert header(result, b'last-modified') == LAST_MODIFIED
    assert header(result, b'cache-control') == b'max-age=60'
    assert header(result, b'accept-ranges') == b'bytes'


def test_expires_zero_sends_no_cache_control() -> None:
    assert header(plan(expires=0), b'cache-control') is None
    assert header(plan(expires=0, if_none_match=ETAG), b'cache-control') is None


@pytest.mark.parametrize('value', [ETAG, b'W/' + ETAG, b'*', b'"other", ' + ETAG, b'"x",W/' + ETAG])
def test_if_none_match_hit_is_304(value: bytes) -> None:
    result = plan(if_none_match=value)
    assert (result.status, result.length) == (304, 0)
    assert header(result, b'etag') == ETAG
    assert header(result, b'cache-control') == b'max-age=60'
    assert header(result, b'content-type') is None


@pytest.mark.parametrize('method', ['GET', 'HEAD'])
def test_conditionals_apply_to_head_too(method: str) -> None:
    assert plan(method, if_none_match=ETAG).status == 304
    assert plan(method, if_modified_since=LAST_MODIFIED).status == 304


def test_if_none_match_miss_is_200() -> None:
    assert plan(if_none_match=b'"nope"').status == 200
    assert plan(if_none_match=ETAG[:-1]).status == 200


@pytest.mark.parametrize(
    ('since', 'status'),
    [
        (LAST_MODIFIED, 304),
        (http_date(MTIME_S + 3600), 304),
        (http_date(MTIME_S - 1), 200),
        (b'Sunday, 06-Nov-94 08:49:37 GMT', 200),
        (b'not a date', 200),
        (b'', 200),
        (b'\xff\xfe', 200),
    ],
)
def test_if_modified_since(since: bytes, status: int) -> None:
    assert plan(if_modified_since=since).status == status


def test_if_none_match_takes_precedence_over_if_modified_since() -> None:
    # §13.2.2: a present If-None-Match decides alone, even when If-Modified-Since would say 304.
    assert plan(if_none_match=b'"nope"', if_modified_since=http_date(MTIME_S + 3600)).status == 200
    assert plan(if_none_match=ETAG, if_modified_since=http_date(MTIME_S - 3600)).status == 304


@pytest.mark.parametrize(
    ('value', 'expected'),
    [
        (b'bytes=0-9', (0, 9)),
        (b'bytes=10-', (10, SIZE - 1)),
        (b'bytes=-5', (SIZE - 5, SIZE - 1)),
        (b'bytes=-5000', (0, SIZE - 1)),
        (b'bytes=990-5000', (990, SIZE - 1)),
        (b'Bytes = 1-1', (1, 1)),
        (b'bytes=999-999', (999, 999)),
        (b'bytes=1000-', 'unsatisfiable'),
        (b'bytes=5000-6000', 'unsatisfiable'),
        (b'bytes=-0', 'unsatisfiable'),
        (b'bytes=5-1', None),
        (b'bytes=0-1,5-6', None),
        (b'bytes=a-b', None),
        (b'bytes=-', None),
        (b'bytes=1', None),
        (b'bytes=+1-2', None),
        (b'items=0-1', None),
        (b'0-1', None),
    ],
)
def test_parse_range(value: bytes, expected: object) -> None:
    assert parse_range(value, SIZE) == expected


def test_empty_file_cannot_satisfy_any_range() -> None:
    assert parse_range(b'bytes=0-', 0) == 'unsatisfiable'
    assert parse_range(b'bytes=-1', 0) == 'unsatisfiable'


def test_range_is_206_with_content_range() -> None:
    result = plan(range=b'bytes=10-19')
    assert (result.status, result.offset, result.length) == (206, 10, 10)
    assert header(result, b'content-range') == b'bytes 10-19/1000'
    assert header(result, b'etag') == ETAG


def test_unsatisfiable_range_is_416() -> None:
    result = plan(range=b'bytes=2000-')
    assert (result.status, result.length) == (416, 0)
    assert header(result, b'content-range') == b'bytes */1000'


@pytest.mark.parametrize('value', [b'bytes=0-1,3-4', b'bytes=9-1', b'lines=1-2', b'garbage'])
def test_ignored_range_is_the_whole_file(value: bytes) -> None:
    result = plan(range=value)
    assert (result.status, result.offset, result.length) == (200, 0, SIZE)
    assert header(result, b'content-range') is None


def test_range_is_ignored_on_head() -> None:
    result = plan('HEAD', range=b'bytes=0-1')
    assert (result.status, result.length) == (200, SIZE)


@pytest.mark.parametrize(
    ('if_range', 'status'),
    [
        (ETAG, 206),
        (LAST_MODIFIED, 206),
        (b'"stale"', 200),
        (b'W/' + ETAG, 200),
        (http_date(MTIME_S - 10), 200),
        (http_date(MTIME_S + 10), 200),
        (b'garbage', 200),
    ],
)
def test_if_range(if_range: bytes, status: int) -> None:
    result = plan(range=b'bytes=0-9', if_range=if_range)
    assert result.status == status
    assert result.length == (10 if status == 206 else SIZE)


def test_if_range_mismatch_sends_the_whole_file_even_for_an_unsatisfiable_range() -> None:
    assert plan(range=b'bytes=5000-', if_range=b'"stale"').status == 200


def test_304_wins_over_range() -> None:
    assert plan(range=b'bytes=0-9', if_none_match=ETAG).status == 304


# -- a precompressed variant (its own size and time come in as size/mtime_ns) ------------------------


def test_a_variant_has_its_coding_its_etag_and_vary() -> None:
    result = plan(coding='br', vary=True)
    assert result.status == 200
    assert header(result, b'content-type') == b'text/plain'
    assert header(result, b'content-encoding') == b'br'
    assert header(result, b'vary') == b'accept-encoding'
    assert header(result, b'etag') == etag_for(SIZE, MTIME_NS, 'br')


def test_the_original_of_a_file_with_variants_varies_too() -> None:
    result = plan(vary=True)
    assert header(result, b'content-encoding') is None
    assert header(result, b'vary') == b'accept-encoding'
    assert header(plan(), b'vary') is None


def test_a_variant_304_repeats_etag_and_vary() -> None:
    etag = etag_for(SIZE, MTIME_NS, 'gzip')
    result = plan(coding='gzip', vary=True, if_none_match=etag)
    assert result.status == 304
    assert header(result, b'etag') == etag
    assert header(result, b'vary') == b'accept-encoding'
    # The plain file's tag does not match the variant.
    assert plan(coding='gzip', vary=True, if_none_match=ETAG).status == 200


def test_a_variant_range_counts_its_own_bytes_and_if_range_its_own_tag() -> None:
    etag = etag_for(SIZE, MTIME_NS, 'zstd')
    result = plan(coding='zstd', vary=True, range=b'bytes=0-9', if_range=etag)
    assert (result.status, result.length) == (206, 10)
    assert header(result, b'content-range') == b'bytes 0-9/1000'
    assert header(result, b'content-encoding') == b'zstd'
    assert plan(coding='zstd', range=b'bytes=0-9', if_range=ETAG).status == 200
    unsatisfiable = plan(coding='zstd', vary=True, range=b'bytes=1000-')
    assert unsatisfiable.status == 416
    assert header(unsatisfiable, b'vary') == b'accept-encoding'
