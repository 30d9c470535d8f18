"""Which precompressed variant a client gets: ``Accept-Encoding`` per RFC 9110 §12.5.3, ties broken
as upstream's pull request #791 does (zstd, br, gzip), and the variants found on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from granian_server.static_precompressed import (
    acceptable_codings,
    available_codings,
    choose_variant,
    parse_accept_encoding,
)
from granian_server.static_resolve import Found, open_static_file

ALL = ['zstd', 'br', 'gzip']


@pytest.mark.parametrize(
    ('header', 'weights'),
    [
        (b'gzip', {'gzip': 1000}),
        (b'gzip, deflate, br, zstd', {'gzip': 1000, 'deflate': 1000, 'br': 1000, 'zstd': 1000}),
        (b'br;q=0.5, gzip;q=0.25,zstd;q=0.125', {'br': 500, 'gzip': 250, 'zstd': 125}),
        (b'GZIP;Q=0.5', {'gzip': 500}),
        (b'br ; q=1.000', {'br': 1000}),
        (b'gzip;q=0., br;q=1.', {'gzip': 0, 'br': 1000}),
        (b'*;q=0.1, identity;q=0', {'*': 100, 'identity': 0}),
        (b'x-gzip', {'gzip': 1000}),
        # The first weight of a coding named twice stands.
        (b'gzip;q=0.2, gzip', {'gzip': 200}),
        (b'x-gzip;q=0.3, gzip;q=1', {'gzip': 300}),
        # Malformed weights drop their entry; garbage tokens are skipped; empty members are allowed.
        (b'gzip;q=1.5, br;q=0.1234, zstd;q=abc, deflate;q=-1', {}),
        (b'gzip;q=, br;q', {}),
        (b', ,gzip,,', {'gzip': 1000}),
        (b'g zip, "br", br', {'br': 1000}),
        (b'', {}),
        (b'gzip;level=9', {'gzip': 1000}),
    ],
)
def test_parse_accept_encoding(header: bytes, weights: dict[str, int]) -> None:
    assert parse_accept_encoding(header) == weights


@pytest.mark.parametrize(
    ('header', 'expected'),
    [
        # A client that did not ask, or asked for nothing, gets the file as is.
        (None, []),
        (b'', []),
        (b'identity', []),
        (b'deflate', []),
        # One coding, in any case, or the x-gzip alias.
        (b'gzip', ['gzip']),
        (b'BR', ['br']),
        (b'zstd', ['zstd']),
        (b'x-gzip', ['gzip']),
        # Equal weights: zstd, then br, then gzip, whatever the client's order.
        (b'gzip, deflate, br, zstd', ['zstd', 'br', 'gzip']),
        (b'gzip, br', ['br', 'gzip']),
        # The highest weight wins.
        (b'br;q=0.5, gzip', ['gzip', 'br']),
        (b'zstd;q=0.1, br;q=0.2, gzip;q=0.3', ['gzip', 'br', 'zstd']),
        # q=0 refuses.
        (b'zstd;q=0, br, gzip', ['br', 'gzip']),
        (b'gzip;q=0, br;q=0, zstd;q=0', []),
        # '*' is every coding not named.
        (b'*', ['zstd', 'br', 'gzip']),
        (b'*;q=0.5, br;q=0', ['zstd', 'gzip']),
        (b'*;q=0.5, gzip', ['gzip', 'zstd', 'br']),
        (b'*;q=0', []),
        # identity wins only with a strictly higher weight.
        (b'gzip;q=0.5, identity', []),
        (b'gzip, identity', ['gzip']),
        (b'gzip;q=0.5, br, identity;q=0.7', ['br']),
        (b'*;q=0.9, identity;q=0.5', ['zstd', 'br', 'gzip']),
        # Refusing identity does not make an unaccepted coding acceptable.
        (b'identity;q=0, deflate', []),
        (b'gzip;q=2', []),
    ],
)
def test_acceptable_codings(header: bytes | None, expected: list[str]) -> None:
    assert acceptable_codings(header, ALL) == expected


def test_only_available_codings_are_offered() -> None:
    assert acceptable_codings(b'zstd, br, gzip;q=0.5', ['gzip']) == ['gzip']
    assert acceptable_codings(b'zstd, br', ['gzip']) == []
    assert acceptable_codings(b'gzip', []) == []


# -- the files ------------------------------------------------------------------------------------


def open_file(mount: Path, name: str) -> Found:
    found = open_static_file(os.path.realpath(mount), b'/' + name.encode(), None)
    assert isinstance(found, Found)
    return found


def test_available_codings_are_regular_files_beside_the_file(tmp_path: Path) -> None:
    (tmp_path / 'a.css').write_bytes(b'a')
    (tmp_path / 'a.css.gz').write_bytes(b'gz')
    (tmp_path / 'a.css.br').mkdir()
    (tmp_path / 'a.css.zst').symlink_to(tmp_path / 'missing')
    assert available_codings(str(tmp_path / 'a.css')) == ['gzip']
    (tmp_path / 'b.css').write_bytes(b'b')
    assert available_codings(str(tmp_path / 'b.css')) == []


def test_choose_variant(tmp_path: Path) -> None:
    mount = tmp_path / 'mount'
    mount.mkdir()
    (mount / 'a.css').write_bytes(b'plain')
    (mount / 'a.css.br').write_bytes(b'brotli bytes')
    (mount / 'a.css.gz').write_bytes(b'gzip')
    found = open_file(mount, 'a.css')
    try:
        for header, coding, content in [
            (b'br, gzip', 'br', b'brotli bytes'),
            (b'gzip', 'gzip', b'gzip'),
            (b'zstd', None, b'plain'),
            (None, None, b'plain'),
        ]:
            variant = choose_variant(str(mount.resolve()), found, header)
            assert (variant.coding, variant.vary) == (coding, True)
            assert os.pread(variant.file.fd, 100, 0) == content
            assert variant.file.size == len(content)
            if variant.file is not found:
                os.close(variant.file.fd)
    finally:
        os.close(found.fd)


def test_a_variant_outside_the_mount_is_passed_over(tmp_path: Path) -> None:
    mount = tmp_path / 'mount'
    mount.mkdir()
    (tmp_path / 'secret').write_bytes(b'secret')
    (mount / 'a.css').write_bytes(b'plain')
    (mount / 'a.css.zst').symlink_to(tmp_path / 'secret')
    (mount / 'a.css.gz').write_bytes(b'gzip')
    found = open_file(mount, 'a.css')
    try:
        variant = choose_variant(str(mount.resolve()), found, b'zstd, gzip;q=0.5')
        assert variant.coding == 'gzip'
        assert os.pread(variant.file.fd, 100, 0) == b'gzip'
        os.close(variant.file.fd)
        alone = choose_variant(str(mount.resolve()), found, b'zstd')
        assert (alone.file, alone.coding, alone.vary) == (found, None, True)
    finally:
        os.close(found.fd)


def test_a_file_without_variants_does_not_vary(tmp_path: Path) -> None:
    (tmp_path / 'a.css').write_bytes(b'plain')
    found = open_file(tmp_path, 'a.css')
    try:
        assert choose_variant(str(tmp_path.resolve()), found, b'gzip, br, zstd') == (found, None, False)
    finally:
        os.close(found.fd)
