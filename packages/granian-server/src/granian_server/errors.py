"""Errors that stop the server; the CLI turns any of them into exit code 1."""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = ['ConfigurationError', 'FatalError', 'PidFileError', 'describe_os_error']


class FatalError(Exception):
    pass


class ConfigurationError(FatalError):
    pass


class PidFileError(FatalError):
    pass


def describe_os_error(exc: OSError, path: Path | None = None) -> str:
    """The cause of a failed file or socket operation, worded for an error message.

    With the ``path`` the operation was about, the common mistakes also say what to do: the
    system's own text ("No such file or directory") does not tell which part of the path is wrong.
    """
    if path is not None:
        if exc.errno == errno.ENOENT:
            return f'the directory {path.parent} does not exist; create it first or choose another path'
        if exc.errno == errno.EACCES:
            return f'permission denied; choose a directory this user can write to (not {path.parent})'
        if exc.errno == errno.EISDIR:
            return 'it is a directory; give the path of a file'
        if exc.errno == errno.ENOTDIR:
            return 'a part of the path is not a directory'
    # strerror is the system's sentence ("Address already in use"); an OSError raised by Python
    # itself (e.g. "AF_UNIX path too long") has none, only its message.
    text = exc.strerror or str(exc) or type(exc).__name__
    # Lower-case a sentence's first letter to continue ours, but not an acronym's ("AF_UNIX").
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
