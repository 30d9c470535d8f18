"""What the server listens on, and how its workers share it.

The main process opens the listeners once, before any worker starts, so that every start-up
mistake is one line from the main process (:mod:`.listeners`, :mod:`.inherited`). Where they come
from, in this order:

1. the ``fd`` option: one socket the parent passed;
2. systemd socket activation: every socket in ``LISTEN_FDS``;
3. ``uds``: a Unix socket granian binds;
4. ``address`` and ``port``: a TCP socket granian binds.

Two ways for the workers to listen on TCP (ARCHITECTURE.md, "Workers and listeners", has the
measurements behind the choice):

- **shared** (the default): one listening socket, inherited by every worker. A worker that stops
  leaves the connections waiting in the backlog to the others, so rolling restarts lose nothing.
- **reuse port** (``reuse_port=True``, upstream 2.8's model on Linux): each worker binds a listener
  of its own with ``SO_REUSEPORT`` and the kernel spreads new connections over them by hash. The
  connections queued on a worker's listener when it stops are reset, unless the kernel migrates
  them (``net.ipv4.tcp_migrate_req=1``). The main process keeps the port bound (not listening, so
  the kernel sends it nothing): port 0 is resolved once, and nobody else can take the port while
  the workers are replaced.

Sockets granian did not bind (``fd``, systemd, a Unix socket) are always shared.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigurationError
from .inherited import Inherited, activation_fds, adopt, describe_socket
from .listeners import bind_tcp, bind_unix
from .log import logger

__all__ = [
    'Bound',
    'ListenOptions',
    'Listeners',
    'ReusePortBind',
    'check_listen_options',
    'http_url',
    'open_listeners',
    'tcp_migrate_req',
]

_MIGRATE_REQ = Path('/proc/sys/net/ipv4/tcp_migrate_req')


def tcp_migrate_req() -> bool:
    """Whether this network namespace migrates a closed ``SO_REUSEPORT`` listener's queue (Linux 5.14+)."""
    try:
        return _MIGRATE_REQ.read_text().strip() == '1'
    except OSError:
        return False


def http_url(address: str, port: int, *, tls: bool) -> str:
    host = f'[{address}]' if ':' in address else address
    return f'{"https" if tls else "http"}://{host}:{port}'


@dataclass(frozen=True)
class ReusePortBind:
    """A TCP address on which every worker binds a listener of its own (``SO_REUSEPORT``)."""

    address: str
    port: int
    backlog: int

    def bind(self) -> socket.socket:
        return bind_tcp(self.address, self.port, self.backlog, reuse_port=True)


@dataclass
class Listeners:
    """What a worker listens on; every worker gets the same one (picklable, sockets included)."""

    #: Listening sockets every worker serves (and the main process keeps open).
    shared: list[socket.socket] = field(default_factory=list)
    #: Set in the reuse-port model: each worker binds its own listener there.
    own: ReusePortBind | None = None

    def open(self) -> list[socket.socket]:
        """In a worker, once it is ready to serve: the sockets to accept connections on."""
        return [self.own.bind()] if self.own is not None else list(self.shared)


@dataclass(frozen=True)
class ListenOptions:
    address: str
    port: int
    uds: Path | None
    uds_permissions: int | None
    fd: int | None
    backlog: int
    #: None picks the model (see :func:`_reuse_port`).
    reuse_port: bool | None
    workers: int
    tls: bool
    #: Reloader mode stops every worker before starting new ones: only a shared socket keeps the
    #: connections that arrive in between.
    reload: bool = False


@dataclass
class Bound:
    """The main process's side of the listeners, until shutdown."""

    listeners: Listeners
    #: One ``Listening at:`` line each: a URL, ``unix:path``, or ``fd:N``.
    addresses: list[str]
    #: The bind part of the process title.
    title: str
    #: The TCP port bound (port 0 resolved), if granian bound one.
    port: int | None = None
    #: More about inherited sockets, logged after the ``Listening at:`` lines.
    notes: list[str] = field(default_factory=list)
    #: Reuse-port model: the main's bound, not listening, socket that keeps the port.
    reserved: socket.socket | None = None
    #: A socket file granian created (removed at shutdown; a socket file it was given is not).
    created_uds: Path | None = None

    def announce(self) -> None:
        """Log where the server listens: upstream's ``Listening at:`` line, with ``fd:N`` for an
        inherited socket, then what each inherited socket is."""
        for address in self.addresses:
            logger.info(f'Listening at: {address}')
        for note in self.notes:
            logger.info(note)

    def close(self) -> None:
        """Close the main process's sockets (inherited ones stay open in the parent that passed them)."""
        for sock in [*self.listeners.shared, *([self.reserved] if self.reserved is not None else [])]:
            with contextlib.suppress(OSError):
                sock.close()

    def remove_socket_file(self) -> None:
        """Remove the Unix socket file granian created, last, as upstream does (after shutdown hooks)."""
        if self.created_uds is not None:
            with contextlib.suppress(OSError):
                self.created_uds.unlink()


def check_listen_options(fd: int | None, uds: Path | None, reuse_port: object) -> None:
    """Refuse option values and combinations that cannot work, before anything is started."""
    if reuse_port is not None and not isinstance(reuse_port, bool):
        # A string such as 'false' would otherwise read as true.
        raise ConfigurationError(f'reuse_port: must be True, False or None (auto), not {reuse_port!r}')
    if fd is None:
        return
    if sys.platform == 'win32':
        raise ConfigurationError('fd: inherited sockets are not available on Windows; bind an address and port')
    if uds is not None:
        # Both name the socket to serve; picking one silently would serve somewhere unexpected.
        raise ConfigurationError('fd: cannot be combined with uds; give one of them')


def _reuse_port(options: ListenOptions) -> bool:
    """The model for a TCP address granian binds itself."""
    if options.reuse_port is False:
        return False
    if options.reuse_port is None:
        # Only where it loses nothing when workers are replaced, and balances something.
        return sys.platform == 'linux' and options.workers > 1 and not options.reload and tcp_migrate_req()
    if sys.platform != 'linux' or not hasattr(socket, 'SO_REUSEPORT'):
        # BSD and macOS accept the option, but send every connection to one of the sockets.
        raise ConfigurationError('reuse_port: the kernel spreads connections over listeners only on Linux; remove it')
    if options.reload:
        logger.warning(
            'reuse_port: the reloader stops every worker before it starts new ones, and with no listener '
            'left the kernel refuses connections in between; the shared socket keeps them waiting'
        )
    if not tcp_migrate_req():
        logger.warning(
            'reuse_port: net.ipv4.tcp_migrate_req is 0, so connections queued on a worker that stops '
            '(SIGHUP, lifetime, memory limit, crash) are reset; set it to 1 (sysctl -w '
            'net.ipv4.tcp_migrate_req=1) or serve with the shared socket (--no-reuse-port)'
        )
    return True


def _inherited(options: ListenOptions) -> list[Inherited]:
    """The sockets a parent passed, if any: ``fd`` first, then systemd's."""
    activated = activation_fds()  # read (and unset) whatever happens, so workers never see them
    if options.fd is not None:
        if activated:
            logger.info(f'LISTEN_FDS: not used, the fd option asks for fd {options.fd}')
        return adopt([(options.fd, None)], 'fd', 'the fd option')
    if not activated:
        return []
    if options.uds is not None:
        # Activation replaces what granian would bind, as uds replaces address and port.
        logger.warning('uds: not used, serving the sockets systemd passed (LISTEN_FDS)')
    return adopt(activated, 'LISTEN_FDS', 'systemd')


def open_listeners(options: ListenOptions) -> Bound:
    """Bind, or take over, what the server listens on; :class:`ConfigurationError` if it cannot."""
    inherited = _inherited(options)
    if inherited:
        if options.reuse_port:
            logger.warning('reuse_port: has no effect on an inherited socket; every worker shares it')
        addresses = [f'fd:{item.fd}' for item in inherited]
        notes = [
            f'fd:{item.fd} is {describe_socket(item.sock, tls=options.tls)}, passed by {item.origin}'
            + (f' (name: {item.name})' if item.name else '')
            for item in inherited
        ]
        return Bound(Listeners(shared=[item.sock for item in inherited]), addresses, ','.join(addresses), notes=notes)
    if options.uds is not None:
        if options.reuse_port:
            logger.warning('reuse_port: has no effect on a Unix socket; every worker shares it')
        sock = bind_unix(options.uds, options.backlog, options.uds_permissions)
        sock.set_inheritable(True)
        return Bound(Listeners(shared=[sock]), [f'unix:{options.uds}'], str(options.uds), created_uds=options.uds)
    if _reuse_port(options):
        reserved = bind_tcp(options.address, options.port, options.backlog, reuse_port=True, listen=False)
        port = reserved.getsockname()[1]  # port 0 asked the system for a free one
        listeners = Listeners(own=ReusePortBind(options.address, port, options.backlog))
        url = http_url(options.address, port, tls=options.tls)
        return Bound(listeners, [url], f'{options.address}:{port}', port=port, reserved=reserved)
    sock = bind_tcp(options.address, options.port, options.backlog)
    sock.set_inheritable(True)  # spawned (not forked) workers receive the descriptor
    port = sock.getsockname()[1]
    url = http_url(options.address, port, tls=options.tls)
    return Bound(Listeners(shared=[sock]), [url], f'{options.address}:{port}', port=port)
