"""Process titles (``ps``, ``top``) through setproctitle, as upstream's ``pname`` extra does.

With setproctitle installed and no ``process_name``, the main process is called
``granian {interface} {bind} {target}``; a worker is always the main title plus `` worker-N``.
"""

from __future__ import annotations

from .extras import has_module, require_module

__all__ = ['resolve_process_name', 'set_process_title', 'worker_title']


def resolve_process_name(process_name: str | None, *, interface: str, bind: str, target: str) -> str | None:
    """The main process title, or None when titles are off (no setproctitle, none asked for)."""
    if process_name:
        require_module('setproctitle', 'process_name')
        return process_name
    if has_module('setproctitle'):
        return f'granian {interface} {bind} {target}'
    return None


def worker_title(process_name: str, worker_id: int) -> str:
    return f'{process_name} worker-{worker_id}'


def set_process_title(title: str) -> None:
    import setproctitle

    setproctitle.setproctitle(title)
