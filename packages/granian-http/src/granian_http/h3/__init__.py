"""HTTP/3 (RFC 9114) over QUIC (RFC 9000) on aioquic: each request stream an exchange, so every
interface serves HTTP/3 unchanged; WebSockets over HTTP/3 (RFC 9220).

This subpackage needs the ``http3`` extra (aioquic); nothing else in granian-http imports it at
module level, so the rest works without aioquic. Public names: :func:`serve_http3` (start serving
HTTP/3 on a bound UDP socket), :class:`HTTP3Server` (what it returns), :func:`quic_configuration`
(the TLS side, to check the options early) and :func:`alt_svc` (the header that advertises us).
Module map:

* :mod:`._endpoint`: a worker's UDP socket (datagrams to connections, new connections);
* :mod:`._forward`: datagrams between the workers, by connection ID prefix;
* :mod:`._connection`: one QUIC connection and its HTTP/3 streams (GOAWAY, limits, resets);
* :mod:`._stream`: one request stream as an exchange (flow control, trailers, early hints,
  the RFC 9220 WebSocket carrier);
* :mod:`._aioquic`: the only module touching aioquic's internals.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from dataclasses import dataclass

from aioquic.quic.configuration import QuicConfiguration

from ..context import ServeContext
from ..settings import HTTP3Settings
from ..tls import TLSConfig, TLSConfigError
from ._aioquic import CID_LENGTH, WRITTEN_FOR
from ._endpoint import HTTP3Endpoint
from ._forward import Forwarder, worker_prefix

__all__ = ['WRITTEN_FOR', 'HTTP3Server', 'alt_svc', 'quic_configuration', 'serve_http3']

#: How long (seconds) a client may remember that we serve HTTP/3 (the Alt-Svc ``ma``).
ALT_SVC_MAX_AGE = 86400


def alt_svc(port: int) -> bytes:
    """The ``alt-svc`` value that tells HTTP/1.1 and HTTP/2 clients where our HTTP/3 is (RFC 7838)."""
    return b'h3=":%d"; ma=%d' % (port, ALT_SVC_MAX_AGE)


def quic_configuration(tls: TLSConfig, settings: HTTP3Settings) -> QuicConfiguration:
    """The QUIC side of the ``ssl_*`` options; :class:`TLSConfigError` for what QUIC cannot honour.

    QUIC always runs TLS 1.3, so ``ssl_protocol_min`` is met whatever it says. aioquic cannot verify
    client certificates or read CRLs: with ``ssl_ca`` (mTLS) or ``ssl_crl`` HTTP/3 is refused
    rather than served with weaker security than TCP.
    """
    if tls.ca is not None or tls.client_verify:
        raise TLSConfigError(
            'http3', 'aioquic cannot verify client certificates (ssl_ca); remove ssl_ca or serve without HTTP/3'
        )
    if tls.crl:
        raise TLSConfigError(
            'http3',
            'aioquic cannot check certificate revocation lists (ssl_crl); remove ssl_crl or serve without HTTP/3',
        )
    configuration = QuicConfiguration(
        is_client=False,
        alpn_protocols=['h3'],
        connection_id_length=CID_LENGTH,
        idle_timeout=float(settings.idle_timeout),
        max_data=settings.initial_connection_window_size,
        max_stream_data=settings.initial_stream_window_size,
        max_datagram_size=settings.max_datagram_size,
    )
    try:
        configuration.load_cert_chain(tls.cert, tls.key, tls.key_password)
    except (OSError, ValueError, TypeError, ssl.SSLError) as exc:
        raise TLSConfigError('http3', f'cannot load the certificate and key for QUIC: {exc}') from None
    return configuration


@dataclass
class HTTP3Server:
    """HTTP/3 being served on one UDP socket; :meth:`close` once the connections are closed."""

    endpoint: HTTP3Endpoint

    @property
    def connections(self) -> int:
        """QUIC connections this worker accepted."""
        return self.endpoint.accepted

    @property
    def adopted(self) -> int:
        """Datagrams other workers passed to this one."""
        return self.endpoint.adopted

    @property
    def forwarded(self) -> int:
        """Datagrams this worker passed to another one (the kernel sent them to the wrong socket)."""
        return self.endpoint.forwarded

    def close(self) -> None:
        self.endpoint.close()


async def serve_http3(
    ctx: ServeContext,
    settings: HTTP3Settings,
    configuration: QuicConfiguration,
    sock: socket.socket,
    forward_dir: str | None = None,
    forward_key: bytes = b'\0\0\0\0',
) -> HTTP3Server:
    """Serve HTTP/3 for ``ctx`` on the bound UDP socket ``sock``.

    With ``forward_dir`` (the main process's directory for this server), datagrams for another
    worker's connections are forwarded to it (see :mod:`._endpoint`).
    """
    loop = asyncio.get_running_loop()
    prefix = worker_prefix(forward_key) if forward_dir is not None else os.urandom(4)
    forwarder = Forwarder(forward_dir, prefix) if forward_dir is not None else None
    endpoint = HTTP3Endpoint(ctx, settings, configuration, prefix, forwarder)
    await endpoint.start(sock)
    if forwarder is not None:
        await forwarder.start(loop, endpoint.adopt)
    return HTTP3Server(endpoint)
