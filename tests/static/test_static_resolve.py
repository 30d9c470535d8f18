"""Path resolution for static mounts: the security boundary, driven directly with real files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

from granian_server.static_resolve import FALL_THROUGH, NOT_FOUND, Found, Resolution, open_static_file, split_segments

Resolver = Callable[..., Resolution]


@pytest.fixture
def mount(tmp_path: Path) -> Path:
    """``tmp/public`` is the mount; ``tmp/secret.txt`` and ``tmp/public2`` sit next to it."""
    (tmp_path / 'secret.txt').write_text('TOP SECRET')
    public = tmp_path / 'public'
    public.mkdir()
    (public / 'hello.txt').write_text('hello')
    (public / 'sub').mkdir()
    (public / 'sub' / 'index.html').write_text('<p>index</p>')
    (public / 'empty-dir').mkdir()
    (public / 'こんにちは.png').write_bytes(b'\x89PNG')
    (public / 'link-in').symlink_to('hello.txt')
    (public / 'link-out').symlink_to(tmp_path / 'secret.txt')
    (public / 'dir-out').symlink_to(tmp_path)
    (public / 'dangling-out').symlink_to(tmp_path / 'nowhere.txt')
    # Shares the mount's name as a string prefix: only a component-wise check keeps it out.
    (tmp_path / 'public2').mkdir()
    (tmp_path / 'public2' / 'secret2.txt').write_text('TOP SECRET 2')
    (public / 'sibling').symlink_to(tmp_path / 'public2')
    return Path(os.path.realpath(public))


@pytest.fixture
def resolve(mount: Path) -> Iterator[Resolver]:
    opened: list[int] = []

    def run(request_rest: bytes, dir_to_file: str | None = None) -> Resolution:
        # As the router does: the whole path is percent-decoded once, then split after the route.
        result = open_static_file(str(mount), unquote_to_bytes(request_rest), dir_to_file)
        if isinstance(result, Found):
            opened.append(result.fd)
        return result

    yield run
    for fd in opened:
        os.close(fd)


def read(found: Resolution) -> bytes:
    assert isinstance(found, Found), found
    return os.pread(found.fd, 1 << 16, 0)


def test_split_segments_drops_empty_and_dot_segments() -> None:
    assert split_segments(b'/a//b/./c/') == ['a', 'b', 'c']
    assert split_segments(b'//etc/passwd') == ['etc', 'passwd']
    assert split_segments(b'/../x') == ['..', 'x']
    assert split_segments(b'') == []


@pytest.mark.parametrize('rest', [b'/a\x00b', b'/..\\secret.txt', b'\\etc\\passwd', b'/sub\\index.html'])
def test_split_segments_refuses_nul_and_backslash(rest: bytes) -> None:
    assert split_segments(rest) is None


def test_split_segments_keeps_non_utf8_bytes_exact() -> None:
    (segment,) = split_segments(b'/caf\xe9.txt') or ['']
    assert os.fsencode(segment) == b'caf\xe9.txt'


def test_a_file_in_the_mount(resolve: Resolver, mount: Path) -> None:
    found = resolve(b'/hello.txt')
    assert read(found) == b'hello'
    assert isinstance(found, Found)
    assert found.path == str(mount / 'hello.txt')
    assert found.size == 5
    assert found.mtime_ns == (mount / 'hello.txt').stat().st_mtime_ns


def test_non_ascii_name_from_percent_encoded_utf8(resolve: Resolver) -> None:
    rest = '/こんにちは.png'.encode()
    encoded = b''.join(b'%%%02X' % byte if byte > 127 else bytes([byte]) for byte in rest)
    assert read(resolve(encoded)) == b'\x89PNG'


def test_dot_segments_inside_the_mount_resolve(resolve: Resolver) -> None:
    assert read(resolve(b'/sub/../hello.txt')) == b'hello'
    assert read(resolve(b'/./hello.txt')) == b'hello'


def test_symlink_inside_the_mount_is_served(resolve: Resolver) -> None:
    assert read(resolve(b'/link-in')) == b'hello'


@pytest.mark.parametrize(
    'rest',
    [
        b'/../secret.txt',
        b'/%2e%2e/secret.txt',
        b'/%2E%2E%2Fsecret.txt',
        b'/..%2fsecret.txt',
        b'/sub/../../secret.txt',
        b'/..',
        b'/../public2/secret2.txt',
        b'/link-out',
        b'/dir-out/secret.txt',
        b'/dangling-out',
        b'/sibling/secret2.txt',
        b'/..%5csecret.txt',
        b'/..\\secret.txt',
        b'/hello.txt%00.png',
        b'/%00',
    ],
)
def test_escapes_are_not_found(resolve: Resolver, rest: bytes) -> None:
    assert resolve(rest) is NOT_FOUND


def test_double_encoding_is_decoded_once(resolve: Resolver, mount: Path) -> None:
    assert resolve(b'/%252e%252e/secret.txt') is NOT_FOUND
    # The once-decoded name is taken literally: a file really called that is served.
    (mount / '%2e%2e').mkdir()
    (mount / '%2e%2e' / 'secret.txt').write_text('inside')
    assert read(resolve(b'/%252e%252e/secret.txt')) == b'inside'


def test_absolute_looking_paths_stay_in_the_mount(resolve: Resolver, mount: Path) -> None:
    assert resolve(b'//etc/passwd') is NOT_FOUND
    assert resolve(b'/%2fetc%2fpasswd') is NOT_FOUND
    (mount / 'etc').mkdir()
    (mount / 'etc' / 'passwd').write_text('mount copy')
    assert read(resolve(b'//etc/passwd')) == b'mount copy'


def test_missing_file_is_not_found(resolve: Resolver) -> None:
    assert resolve(b'/nope.txt') is NOT_FOUND
    assert resolve(b'/nope/deeper.txt') is NOT_FOUND


def test_other_errors_fall_through(resolve: Resolver) -> None:
    # ENOTDIR: upstream lets the next mount and then the app answer.
    assert resolve(b'/hello.txt/more') is FALL_THROUGH


def test_directories(resolve: Resolver) -> None:
    assert resolve(b'/sub') is NOT_FOUND
    assert resolve(b'') is NOT_FOUND
    assert read(resolve(b'/sub', 'index.html')) == b'<p>index</p>'
    assert read(resolve(b'/sub/', 'index.html')) == b'<p>index</p>'
    assert resolve(b'/empty-dir', 'index.html') is NOT_FOUND


def test_dir_to_file_cannot_leave_the_mount(resolve: Resolver) -> None:
    assert resolve(b'/sub', '../../secret.txt') is NOT_FOUND
    assert resolve(b'/', '../secret.txt') is NOT_FOUND


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='no FIFOs on this platform')
def test_a_fifo_is_not_opened_for_reading(resolve: Resolver, mount: Path) -> None:
    os.mkfifo(mount / 'pipe')
    # Opening a FIFO for reading would block until a writer appears; it must not be served.
    assert resolve(b'/pipe') is NOT_FOUND
