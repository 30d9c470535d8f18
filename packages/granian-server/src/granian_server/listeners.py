"""The listening sockets the main process binds, and one line that says why a bind failed.

A bind is where most start-up mistakes surface: a port out of range or already taken, a host that
is not an address of this machine, a Unix socket in a directory that does not exist. Each becomes a
:class:`ConfigurationError` that names the option to change, the value and the cause, so the CLI
prints one line and exits 1 and ``Granian(...).serve()`` raises the same error, never a raw
``OSError``, ``socket.gaierror`` or ``OverflowError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from pathlib import Path

from .errors import ConfigurationError, describe_os_error

__all__ = ['MAX_BACKLOG', 'bind_tcp', 'bind_udp', 'bind_unix', 'check_mode', 'check_port']

_MAX_PORT = 65535
#: listen() takes a C int; the kernel caps the queue at net.core.somaxconn anyway, so a larger
#: backlog only has to reach that cap, not fail (the server clamps to this).
MAX_BACKLOG = 2**31 - 1
_MAX_MODE = 0o7777


def check_port(option: str, port: object) -> None:
    """Refuse a port that no socket can bind, before anything is started."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= _MAX_PORT:
        raise ConfigurationError(
            f'{option}: {port!r} is not a port number; give one from 0 to {_MAX_PORT} (0 picks a free port)'
        )


def check_mode(option: str, mode: int | None) -> None:
    """Refuse permission bits that chmod cannot apply (it would overflow, or drop the extra bits)."""
    if mode is not None and not 0 <= mode <= _MAX_MODE:
        raise ConfigurationError(f'{option}: {mode!r} is not a file mode; give permission bits such as 0660 (octal)')


def _display(address: str, port: int) -> str:
    return f'[{address}]:{port}' if ':' in address else f'{address}:{port}'


def _tcp_bind_error(
    exc: OSError, address: str, port: int, *, address_option: str = 'address', port_option: str = 'port'
) -> ConfigurationError:
    """The error to raise for a failed TCP bind: it blames the option the user has to change."""
    where = _display(address, port)
    option, fix = address_option, ''
    if isinstance(exc, socket.gaierror):
        # getaddrinfo failed: the host is neither an IP literal nor a name that resolves.
        cause = f'{address!r} is not an IP address or a host name that resolves'
        fix = 'give an address of this machine, such as 127.0.0.1 or 0.0.0.0'
    elif exc.errno == errno.EADDRINUSE:
        option, cause = port_option, 'address already in use'
        fix = 'stop the process that listens there or choose another port'
    elif exc.errno == errno.EACCES and 0 < port < 1024:
        option, cause = port_option, 'permission denied'
        fix = 'ports below 1024 need privileges; choose a port from 1024 up'
    elif exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        cause = 'address not available on this machine'
        fix = 'give an address of this machine, such as 127.0.0.1 or 0.0.0.0'
    else:
        cause = describe_os_error(exc)
    return ConfigurationError(f'{option}: cannot bind {where}: {cause}' + (f'; {fix}' if fix else ''))


def _listen(sock: socket.socket, backlog: int) -> socket.socket:
    sock.listen(backlog)
    sock.setblocking(False)  # served by event loops and by the supervisor's wait
    return sock


def bind_tcp(
    address: str,
    port: int,
    backlog: int,
    *,
    address_option: str = 'address',
    port_option: str = 'port',
    reuse_port: bool = False,
    listen: bool = True,
) -> socket.socket:
    """Bind and listen on ``address:port`` (checked by :func:`check_port`); :class:`ConfigurationError`
    naming ``address_option`` or ``port_option`` if that cannot be done.

    ``reuse_port`` sets ``SO_REUSEPORT``, so that every worker can bind a listener of its own on the
    same port; ``listen=False`` only binds (the main process reserves the port that way without
    joining the group that the kernel spreads connections over: only listening sockets are in it).
    """
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:  # no IPv6 on this machine
        raise _tcp_bind_error(exc, address, port, address_option=address_option, port_option=port_option) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((address, port))
        return _listen(sock, backlog) if listen else sock
    except OSError as exc:
        sock.close()
        raise _tcp_bind_error(exc, address, port, address_option=address_option, port_option=port_option) from None


def bind_unix(path: Path, backlog: int, permissions: int | None) -> socket.socket:
    """Bind and listen on the Unix socket ``path`` (a stale socket file there is replaced), with
    ``permissions`` (checked by :func:`check_mode`) when given."""
    with contextlib.suppress(OSError):
        # Only a socket is ours to replace; any other file there makes the bind fail below.
        if stat.S_ISSOCK(path.stat().st_mode):
            path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            cause = 'a file that is not a socket is there; remove it or choose another path'
        else:
            cause = describe_os_error(exc, path)
        raise ConfigurationError(f'uds: cannot bind {path}: {cause}') from None
    if permissions is not None:
        try:
            os.chmod(path, permissions)
        except OSError as exc:
            sock.close()
            raise ConfigurationError(
                f'uds_permissions: cannot set {permissions:#o} on {path}: {describe_os_error(exc, path)}'
            ) from None
    try:
        return _listen(sock, backlog)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f'uds: cannot listen on {path}: {describe_os_error(exc, path)}') from None


def bind_udp(address: str, port: int) -> socket.socket:
    """Bind a UDP socket for HTTP/3 on ``address:port`` with ``SO_REUSEPORT``, so that every worker
    binds its own socket on the same port (the kernel spreads clients over them); the main process
    binds one first, to check the port, and closes it. :class:`ConfigurationError` naming ``http3``
    if it cannot be bound."""
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM)
    except OSError as exc:
        raise _tcp_bind_error(exc, address, port, address_option='http3', port_option='http3') from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        error = _tcp_bind_error(exc, address, port, address_option='http3', port_option='http3')
        raise ConfigurationError(f'{error} (the UDP port for HTTP/3)') from None
    sock.setblocking(False)
    return sock
