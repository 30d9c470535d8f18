"""HTTP/3 (``--http3``): the checks the main process makes, and a worker's UDP listener.

HTTP/3 runs beside HTTP/1.1 and HTTP/2, on the same address and port, over UDP. Every worker binds
its own UDP socket there (``SO_REUSEPORT``) and serves the QUIC connections whose datagrams it
gets; datagrams of a connection owned by another worker (the kernel's spread changes when a worker
joins or leaves during a rolling restart) are forwarded to the owner through a Unix datagram socket
in a directory the main process makes for the server (``granian_http.h3`` has the details). While
HTTP/3 is on, every HTTP/1.1 and HTTP/2 response says so (``alt-svc``), so browsers move over.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from granian_http import HTTP3_LIMITS, HTTP3Settings, TLSConfig, TLSConfigError

from .errors import ConfigurationError
from .extras import require_module
from .listeners import bind_udp

if TYPE_CHECKING:
    from granian_http import HTTP3Server, ServeContext

# A module constant rather than a check of sys.version_info in place: mypy, set to the oldest
# supported Python, would call everything after that check unreachable.
_QUIC_PYTHON = sys.version_info >= (3, 11)

__all__ = ['HTTP3Config', 'check_http3', 'forward_directory', 'new_key', 'start_http3']


@dataclass(frozen=True)
class HTTP3Config:
    """What a worker needs to serve HTTP/3 (picklable: spawned workers receive it)."""

    settings: HTTP3Settings = field(default_factory=HTTP3Settings)
    #: The main process's directory for forwarding datagrams between workers; ``None`` serves
    #: alone (the embedded server).
    forward_dir: str | None = None
    #: Masks the worker PIDs in connection IDs (random per server).
    forward_key: bytes = b'\0\0\0\0'


def check_http3(settings: HTTP3Settings, tls: TLSConfig | None, uds: bool) -> None:
    """Refuse, with one line naming the option, an HTTP/3 setup that cannot work."""
    if not _QUIC_PYTHON:
        raise ConfigurationError('http3: HTTP/3 needs Python 3.11 or later (aioquic); serve without --http3')
    require_module('aioquic', 'http3')
    if tls is None:
        raise ConfigurationError(
            'http3: HTTP/3 runs over QUIC, which always uses TLS; give --ssl-certificate and --ssl-keyfile'
        )
    if uds:
        raise ConfigurationError('http3: HTTP/3 needs an address and port (UDP), not a Unix socket; remove --uds')
    for name, (low, high) in HTTP3_LIMITS.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigurationError(f'http3_{name}: {value!r} is out of range; give a number from {low} to {high}')
    from granian_http import quic_configuration

    try:
        quic_configuration(tls, settings)  # loads the certificate and key as QUIC will
    except TLSConfigError as exc:
        raise ConfigurationError(str(exc)) from None


@contextlib.contextmanager
def forward_directory() -> Iterator[str]:
    """A private directory for the workers' forwarding sockets, removed when serving ends."""
    directory = tempfile.mkdtemp(prefix='granian-h3-')
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def new_key() -> bytes:
    return os.urandom(4)


async def start_http3(ctx: ServeContext, config: HTTP3Config, tls: TLSConfig, tcp: socket.socket) -> HTTP3Server:
    """Serve HTTP/3 on a UDP socket bound to the address and port of the TCP listener ``tcp``."""
    from granian_http import quic_configuration, serve_http3

    address, port = tcp.getsockname()[:2]
    sock = bind_udp(address, port)
    configuration = quic_configuration(tls, config.settings)
    return await serve_http3(ctx, config.settings, configuration, sock, config.forward_dir, config.forward_key)
