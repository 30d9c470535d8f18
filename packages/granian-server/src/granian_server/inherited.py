"""Listening sockets a parent process bound: the ``fd`` option and systemd socket activation.

Two ways to be handed a socket instead of binding one:

- ``fd=N`` (``--fd N``; upstream's open pull request #848, the same idea as uvicorn's ``--fd``): the
  parent keeps descriptor N open across exec (``subprocess``'s ``pass_fds``, a shell redirection,
  a process manager);
- systemd socket activation, the protocol of ``sd_listen_fds(3)``: ``LISTEN_FDS`` descriptors
  from 3 on, meant for the process whose pid is ``LISTEN_PID``, optionally named by
  ``LISTEN_FDNAMES`` (systemd's ``.socket`` units, ``systemd-socket-activate``).

The family and type of a socket come from the descriptor itself (``socket.socket(fileno=N)``).
Anything but a listening stream socket, TCP or Unix, is refused with one line naming the option:
a datagram socket would fail in every worker at start, and a socket nobody called ``listen()`` on
would never accept a connection.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from dataclasses import dataclass

from .errors import ConfigurationError, describe_os_error
from .log import logger

__all__ = ['SD_LISTEN_FDS_START', 'Inherited', 'activation_fds', 'adopt', 'adopt_fd', 'describe_socket']

#: systemd passes its sockets from this descriptor on (after stdin, stdout and stderr).
SD_LISTEN_FDS_START = 3
_ACTIVATION_VARS = ('LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES')
_STREAM_FAMILIES = {socket.AF_INET: 'TCP', socket.AF_INET6: 'TCP', socket.AF_UNIX: 'Unix'}
_NOT_A_SOCKET = {
    stat.S_IFREG: 'a regular file',
    stat.S_IFDIR: 'a directory',
    stat.S_IFIFO: 'a pipe',
    stat.S_IFCHR: 'a character device (a terminal or /dev/null)',
    stat.S_IFBLK: 'a block device',
}


@dataclass(frozen=True)
class Inherited:
    """A listening socket handed over by the parent, with where it came from (for the log)."""

    sock: socket.socket
    fd: int
    #: ``'the fd option'`` or ``'systemd'``.
    origin: str
    #: Its ``LISTEN_FDNAMES`` entry, if systemd named it.
    name: str | None = None


def _not_a_socket(fd: int) -> str:
    try:
        kind = _NOT_A_SOCKET.get(stat.S_IFMT(os.fstat(fd).st_mode))
    except OSError:
        kind = None
    what = f'{kind}, not a socket' if kind else 'not a socket'
    return f'fd {fd} is {what}; give the number of the listening socket the parent passed'


def _why_unusable(sock: socket.socket) -> str | None:
    """What makes ``sock`` unfit to serve, or None when it is a listening TCP or Unix stream socket."""
    if sock.type != socket.SOCK_STREAM:
        kind = 'a datagram' if sock.type == socket.SOCK_DGRAM else f'a {getattr(sock.type, "name", sock.type)}'
        return f'is {kind} socket; give a listening stream socket (TCP, or Unix SOCK_STREAM)'
    if sock.family not in _STREAM_FAMILIES:
        return f'is a {getattr(sock.family, "name", sock.family)} socket; give a TCP or Unix socket'
    accepting = getattr(socket, 'SO_ACCEPTCONN', None)
    if accepting is not None and not sock.getsockopt(socket.SOL_SOCKET, accepting):
        # A connected socket, or one bound but never listened on.
        return 'is a socket that is not listening; the parent must call listen() on it before starting granian'
    return None


def adopt_fd(fd: object, option: str = 'fd') -> socket.socket:
    """The listening socket at descriptor ``fd``, ready to serve; :class:`ConfigurationError` naming
    ``option`` when it is not one. A refused descriptor is left open: it belongs to the caller."""
    if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
        raise ConfigurationError(
            f'{option}: {fd!r} is not a file descriptor number; give the number of an inherited listening socket'
        )
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        if exc.errno == errno.EBADF:
            cause = (
                f'fd {fd} is not open in this process; the parent has to keep it open across exec '
                '(pass_fds, or a systemd socket unit)'
            )
        elif exc.errno == errno.ENOTSOCK:
            cause = _not_a_socket(fd)
        else:
            cause = f'fd {fd}: {describe_os_error(exc)}'
        raise ConfigurationError(f'{option}: {cause}') from None
    problem = _why_unusable(sock)
    if problem is not None:
        sock.detach()  # so that dropping the object does not close the caller's descriptor
        raise ConfigurationError(f'{option}: fd {fd} {problem}')
    sock.setblocking(False)  # served by event loops, as the sockets granian binds
    sock.set_inheritable(True)  # spawned (not forked) workers receive the descriptor
    return sock


def adopt(fds: list[tuple[int, str | None]], option: str, origin: str) -> list[Inherited]:
    """:func:`adopt_fd` for each ``(fd, name)``; if one is refused, the others stay open as well."""
    adopted: list[Inherited] = []
    try:
        for fd, name in fds:
            adopted.append(Inherited(adopt_fd(fd, option), fd, origin, name))
    except ConfigurationError:
        for inherited in adopted:
            inherited.sock.detach()
        raise
    return adopted


def activation_fds() -> list[tuple[int, str | None]]:
    """The descriptors systemd passed to this process, with their names: ``sd_listen_fds(1)``.

    The variables are removed from the environment whatever they say, as ``sd_listen_fds`` does
    when asked to: the workers, the app and anything it starts must not take the sockets as theirs
    (a forked worker has another pid anyway, but a child of the app could be handed the same
    numbers by accident).
    """
    pid_text, count_text, names_text = (os.environ.pop(name, None) for name in _ACTIVATION_VARS)
    if pid_text is None or count_text is None:
        return []
    try:
        pid = int(pid_text)
    except ValueError:
        raise ConfigurationError(
            f'LISTEN_PID: {pid_text!r} is not a process id; unset it, or let systemd set it'
        ) from None
    if pid != os.getpid():
        # Meant for another process: a wrapper that forks (a shell without exec, say) sits between
        # systemd and granian. sd_listen_fds ignores them silently; saying so saves a long search.
        logger.warning(
            f'LISTEN_FDS is for PID {pid}, not this process ({os.getpid()}): ignoring socket activation; '
            'start granian with exec so that it keeps the PID systemd started'
        )
        return []
    try:
        count = int(count_text)
    except ValueError:
        count = -1
    if count < 0:
        raise ConfigurationError(
            f'LISTEN_FDS: {count_text!r} is not a number of descriptors; unset it, or let systemd set it'
        )
    names = names_text.split(':') if names_text else []
    return [
        (fd, names[offset] if offset < len(names) and names[offset] else None)
        for offset, fd in enumerate(range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count))
    ]


def describe_socket(sock: socket.socket, *, tls: bool) -> str:
    """Where ``sock`` listens, as the ``Listening at:`` line would show it: an http(s) URL or unix:path."""
    if sock.family == socket.AF_UNIX:
        name = sock.getsockname()
        if isinstance(name, bytes):
            name = name.decode(errors='backslashreplace')
        if name.startswith('\0'):
            return f'unix:@{name[1:]}'  # Linux's abstract namespace, as ss(8) shows it
        return f'unix:{name or "(unnamed)"}'
    host, port = sock.getsockname()[:2]
    host = f'[{host}]' if ':' in host else host
    return f'{"https" if tls else "http"}://{host}:{port}'
