"""Resident memory of worker processes, read from the operating system.

Linux: ``/proc/<pid>/statm`` (one small read, no process spawned). Elsewhere: one ``ps -o rss=``
for all the pids at once. No compiled dependency either way.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable

__all__ = ['rss_of']

_PROC = os.path.isdir('/proc/self') and os.path.exists('/proc/self/statm')
_PAGE_SIZE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096


def _proc_rss(pid: int) -> int | None:
    try:
        with open(f'/proc/{pid}/statm', 'rb') as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def _ps_rss(pids: list[int]) -> dict[int, int]:
    try:
        out = subprocess.run(
            ['ps', '-o', 'pid=,rss=', '-p', ','.join(map(str, pids))],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    sizes: dict[int, int] = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
            sizes[int(fields[0])] = int(fields[1]) * 1024  # ps reports KiB
    return sizes


def rss_of(pids: Iterable[int]) -> dict[int, int]:
    """RSS in bytes of each pid that could be read (a process that is gone is left out)."""
    wanted = list(pids)
    if not wanted:
        return {}
    if _PROC:
        sizes = {pid: _proc_rss(pid) for pid in wanted}
        return {pid: size for pid, size in sizes.items() if size is not None}
    return _ps_rss(wanted)
