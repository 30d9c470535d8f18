"""From a request path to a file inside a static mount, or a refusal: the security boundary.

Everything here touches the filesystem (``realpath``, ``open``, ``fstat``) and must run off the
event loop. The rules, in order:

1. The request path is percent-decoded once (``%252e`` stays the literal ``%2e``). What follows
   the route is split on ``/``; empty and ``.`` segments drop out, so ``//etc/passwd`` stays
   inside the mount, and the segments are decoded with the filesystem encoding's
   ``surrogateescape`` (the exact bytes the client sent name the file).
2. A NUL byte or a backslash anywhere refuses the request (404). On POSIX a backslash is an
   ordinary file name character, but no static site needs one and it is a classic traversal
   spelling on other systems.
3. The joined path is resolved with :func:`os.path.realpath` (``..`` and every symlink, as the
   kernel would) and must stay inside the mount's own real path, compared component-wise (as
   :func:`os.path.commonpath` would). A symlink inside the mount that leads out of it is refused.
4. A directory is served through ``dir_to_file`` (checked again the same way) or refused.
5. The file is opened without following a final symlink and without blocking (a FIFO swapped in
   after the checks cannot hang a thread), and ``fstat`` on the open descriptor must say it is a
   regular file. What is sent is what was checked, except for large bodies, which the exchange
   reopens by path (see :mod:`.static`).

:func:`open_variant` opens a precompressed copy of a file already found (see
:mod:`.static_precompressed`) under rules 3 and 5.

Outcomes follow upstream Granian: a missing target is a 404 at once (it does not fall through to
the app), any other OS error (``ENOTDIR``, ``EACCES``, ...) lets the next mount try and finally the
app answer.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import NamedTuple

__all__ = [
    'FALL_THROUGH',
    'NOT_FOUND',
    'Found',
    'Outcome',
    'Resolution',
    'open_static_file',
    'open_variant',
    'split_segments',
]

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, 'O_NOFOLLOW', 0)
    | getattr(os, 'O_NONBLOCK', 0)
    | getattr(os, 'O_CLOEXEC', 0)
    | getattr(os, 'O_BINARY', 0)
)
_WINDOWS = sys.platform == 'win32'


class Found(NamedTuple):
    """An open regular file inside the mount; the caller owns (and closes) ``fd``."""

    path: str
    fd: int
    size: int
    mtime_ns: int


class Outcome:
    """A request the mount does not answer with a file."""

    __slots__ = ('name',)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: The target is missing, outside the mount, a directory without ``dir_to_file``, or not a regular
#: file: answer 404.
NOT_FOUND = Outcome('NOT_FOUND')
#: Another OS error: let the next mount (and finally the app) have the request.
FALL_THROUGH = Outcome('FALL_THROUGH')

Resolution = Found | Outcome


def split_segments(rest: bytes) -> list[str] | None:
    """The path segments of the (already percent-decoded) part of a request path after the route.

    Returns ``None`` when the path must be refused (a NUL byte or a backslash). ``..`` segments are
    kept: :func:`os.path.realpath` resolves them together with symlinks, and containment is checked
    on the result.
    """
    if b'\x00' in rest or b'\\' in rest:
        return None
    return [os.fsdecode(part) for part in rest.split(b'/') if part and part != b'.']


def _inside(mount: str, path: str) -> bool:
    """Whether ``path`` is ``mount`` or below it, compared by whole components.

    Both are real paths (absolute, normalised, no trailing separator but for the root), for which
    this equals ``os.path.commonpath((mount, path)) == mount`` at a fraction of the cost:
    ``/srv/public2`` is not inside ``/srv/public``.
    """
    return path == mount or path.startswith(mount if mount.endswith(os.sep) else mount + os.sep)


def _open_inside(mount: str, path: str) -> tuple[int, os.stat_result] | Outcome | None:
    """Open ``path`` (a real path) when it is inside ``mount``; ``None`` for a directory.

    :class:`OSError` from opening propagates.
    """
    if not _inside(mount, path):
        return NOT_FOUND
    if _WINDOWS and os.path.isdir(path):
        # Windows cannot open a directory as a file.
        return None
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        return None
    return fd, info


def open_static_file(mount: str, rest: bytes, dir_to_file: str | None) -> Resolution:
    """Resolve ``rest`` (the decoded request path after the route) inside ``mount`` and open it.

    ``mount`` must be the mount directory's real path (``os.path.realpath``).
    """
    segments = split_segments(rest)
    if segments is None:
        return NOT_FOUND
    try:
        path = os.path.realpath(os.path.join(mount, *segments))
        opened = _open_inside(mount, path)
        if opened is None:
            if not dir_to_file:
                return NOT_FOUND
            path = os.path.realpath(os.path.join(path, dir_to_file))
            opened = _open_inside(mount, path)
            if opened is None:
                return NOT_FOUND
    except FileNotFoundError:
        return NOT_FOUND
    except (OSError, ValueError):
        return FALL_THROUGH
    if isinstance(opened, Outcome):
        return opened
    return _regular_file(path, *opened)


def _regular_file(path: str, fd: int, info: os.stat_result) -> Found | Outcome:
    if not stat.S_ISREG(info.st_mode):
        # A FIFO, a socket or a device.
        os.close(fd)
        return NOT_FOUND
    return Found(path, fd, info.st_size, info.st_mtime_ns)


def open_variant(mount: str, path: str) -> Found | None:
    """Open ``path``, a precompressed copy beside a file already served from ``mount``.

    The same rules as :func:`open_static_file` (its symlinks resolved, inside the mount, a regular
    file); ``None`` for anything else or any error, so the caller passes over it.
    """
    try:
        real = os.path.realpath(path)
        opened = _open_inside(mount, real)
    except (OSError, ValueError):
        return None
    if opened is None or isinstance(opened, Outcome):
        return None
    found = _regular_file(real, *opened)
    return found if isinstance(found, Found) else None
