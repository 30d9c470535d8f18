"""``wsgi.file_wrapper`` (PEP 3333, "Optional Platform-Specific File Handling").

An app returns ``environ['wsgi.file_wrapper'](filelike, block_size)``. When it is returned as is
and wraps a regular file the server can open by path, the adapter hands that path to the
exchange's ``send_file``, which reads and sends the file off the event loop without the app's
thread copying it through Python. Anything else (a pipe, a ``BytesIO``, a wrapper that middleware
iterated over) is read in ``block_size`` blocks like any iterable, as PEP 3333 requires.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from typing import IO, Any

__all__ = ['FileWrapper', 'file_source']

_PROC_FD = '/proc/self/fd/'
_HAS_PROC_FD = sys.platform == 'linux' and os.path.isdir(_PROC_FD)


class FileWrapper:
    """Iterates over a file-like object in blocks; ``close()`` closes it."""

    __slots__ = ('block_size', 'filelike')

    def __init__(self, filelike: IO[bytes], block_size: int = 8192) -> None:
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        size = self.block_size
        while True:
            block = read(size)
            if not block:
                return
            yield block

    def close(self) -> None:
        close = getattr(self.filelike, 'close', None)
        if close is not None:
            close()


def file_source(wrapper: FileWrapper) -> tuple[str, int, int] | None:
    """Where the server can read the wrapped file itself: ``(path, offset, size)``, or ``None``.

    The path names the very file the app opened (Linux's ``/proc/self/fd/N`` still does after the
    file was renamed or removed), the offset is the file's current position, as PEP 3333 wants
    the transmission to start there, and the size is the file's size.
    """
    filelike: Any = wrapper.filelike
    try:
        fd = filelike.fileno()
        info = os.fstat(fd)
        offset = filelike.tell()
    except (AttributeError, OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode) or not isinstance(fd, int):
        return None
    if _HAS_PROC_FD:
        return _PROC_FD + str(fd), offset, info.st_size
    name = getattr(filelike, 'name', None)
    if isinstance(name, str):
        with contextlib.suppress(OSError):
            if os.path.samestat(info, os.stat(name)):
                return name, offset, info.st_size
    return None
