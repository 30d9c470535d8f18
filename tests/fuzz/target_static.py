"""Fuzz target ``static``: the static-path resolver with arbitrary request paths.

Input: ``[dir_to_file?][raw path]``. The path is percent-decoded once, as the static router does,
and resolved by :func:`granian_server.static_resolve.open_static_file` inside a mount built once
per process: files, a sub-directory with an index, a symlink to a file outside the mount, a
symlink to a directory outside it, a FIFO, and a sibling directory whose name extends the mount's
(``public2`` beside ``public``), each outside target holding a secret.

Properties: never an exception (the documented outcomes are a :class:`Found` or ``NOT_FOUND`` /
``FALL_THROUGH``); a :class:`Found` is a regular file whose real path is inside the mount's real
path, never a secret; no file descriptor is left open but the one handed over.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
from pathlib import Path
from urllib.parse import unquote_to_bytes

from granian_server.static_resolve import FALL_THROUGH, NOT_FOUND, Found, open_static_file

from .harness import Reader, Target, expect
from .seeds import literals

__all__ = ['TARGET']

_SECRET = b'secret: never served'
_mount: str | None = None


def _tree() -> str:
    """The mount's real path, made on first use and removed at exit."""
    global _mount
    if _mount is None:
        root = Path(tempfile.mkdtemp(prefix='granian-fuzz-static-'))
        atexit.register(shutil.rmtree, root, True)
        public = root / 'public'
        (public / 'sub').mkdir(parents=True)
        (public / 'index.html').write_text('index')
        (public / 'sub' / 'index.html').write_text('sub index')
        (public / 'a b.txt').write_text('space')
        (root / 'secret.txt').write_bytes(_SECRET)
        (root / 'public2').mkdir()
        (root / 'public2' / 'secret.txt').write_bytes(_SECRET)
        (root / 'outside').mkdir()
        (root / 'outside' / 'secret.txt').write_bytes(_SECRET)
        os.symlink(root / 'secret.txt', public / 'link-out')
        os.symlink(root / 'outside', public / 'dir-out')
        os.symlink(public / 'index.html', public / 'link-in')
        os.mkfifo(public / 'fifo')
        _mount = os.path.realpath(public)
    return _mount


def _open_fds() -> int:
    return len(os.listdir('/proc/self/fd')) if os.path.isdir('/proc/self/fd') else 0


def check(data: bytes) -> None:
    reader = Reader(data)
    dir_to_file = reader.choice((None, 'index.html', '../secret.txt', 'sub'))
    raw = reader.rest()
    mount = _tree()
    rest = unquote_to_bytes(raw) if b'%' in raw else raw
    before = _open_fds()
    found = open_static_file(mount, rest, dir_to_file)
    if isinstance(found, Found):
        try:
            info = os.fstat(found.fd)
            expect(stat.S_ISREG(info.st_mode), f'{raw!r} opened something not a regular file')
            expect(os.path.commonpath((mount, found.path)) == mount, f'{raw!r} resolved outside: {found.path}')
            head = os.pread(found.fd, len(_SECRET), 0)
            expect(head != _SECRET, f'{raw!r} served a secret from {found.path}')
        finally:
            os.close(found.fd)
    else:
        expect(found is NOT_FOUND or found is FALL_THROUGH, f'{raw!r} gave {found!r}')
    expect(_open_fds() == before, f'{raw!r} leaked a file descriptor')


def seeds() -> list[bytes]:
    paths = list(literals(['static/test_static_security.py', 'static/test_static_resolve.py'], lambda d: d[:1] == b'/'))
    paths += [b'/', b'/sub/', b'/link-in', b'/fifo', b'/%2e%2e/public2/secret.txt', b'/a%20b.txt']
    return [bytes((index % 4,)) + path.removeprefix(b'/static') for index, path in enumerate(paths)]


TARGET = Target(name='static', check=check, seeds=seeds)
