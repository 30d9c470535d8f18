"""The pid file: written at start-up, refused when it names another live process, removed at exit."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from .errors import ConfigurationError, PidFileError, describe_os_error

__all__ = ['PidFile']


def _alive(pid: int) -> bool:
    if sys.platform == 'win32':
        # os.kill(pid, 0) would terminate the process there; err on the side of refusing.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it belongs to someone else
    return True


class PidFile:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.pid = os.getpid()

    def _read(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def write(self) -> None:
        """Write our pid; a file left by a dead process (or holding garbage) is replaced.

        Raises :class:`PidFileError` when the file names another live process (upstream's error),
        :class:`ConfigurationError` when it cannot be written (a missing directory, say).
        """
        existing = self._read()
        if existing is not None and existing != self.pid and _alive(existing):
            raise PidFileError(f'The PID file {self.path} already exists for {existing}')
        try:
            self.path.write_text(f'{self.pid}\n')
        except OSError as exc:
            cause = describe_os_error(exc, self.path)
            raise ConfigurationError(f'pid_file: cannot write {self.path}: {cause}') from None

    def remove(self) -> None:
        """Remove the file unless someone else has taken it over meanwhile."""
        if self._read() == self.pid:
            with contextlib.suppress(OSError):
                self.path.unlink()
