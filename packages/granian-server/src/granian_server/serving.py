"""Serving one app on the running loop: the part a worker process and the embedded server share.

:func:`serve_app` builds the interface handler, runs ASGI lifespan startup, opens its listeners
(a worker with a ``SO_REUSEPORT`` listener of its own binds it only now, when it can accept at
once: the kernel starts queueing connections on a listener as soon as it exists), serves them until
``stop`` resolves, then shuts down gracefully: stop accepting, let idle connections
go, finish in-flight requests, wait for app tasks, run lifespan shutdown.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from granian_http import (
    HTTP1Settings,
    HTTP2Settings,
    ServeContext,
    TLSConfig,
    TLSConfigError,
    WebSocketSettings,
    load_tls,
    protocol_factory,
    proxy_protocol_factory,
)
from granian_proxies import TrustedHosts

from ._tasks import TaskSet
from .constants import Interfaces
from .errors import ConfigurationError, FatalError
from .http3 import HTTP3Config, start_http3
from .interfaces import Interface, Runtime
from .listening import Listeners
from .log import AccessLogFormatter, logger
from .metrics import Durations
from .static import StaticFiles

if TYPE_CHECKING:
    from .metrics_worker import MetricsPusher

__all__ = ['ServeConfig', 'serve_app']

_ACCEPTED_SETTLE = 0.05


@dataclass(frozen=True)
class ServeConfig:
    """The options one serving worker needs, picklable so a spawned process can receive them."""

    interface: Interfaces = Interfaces.RSGI
    http: str = 'auto'
    websockets: bool = True
    #: The ``ws_*`` options (message limit, keep-alive pings), checked already.
    websocket: WebSocketSettings = field(default_factory=WebSocketSettings)
    http1: HTTP1Settings = field(default_factory=HTTP1Settings)
    http2: HTTP2Settings = field(default_factory=HTTP2Settings)
    backlog: int = 1024
    backpressure: int | None = None
    blocking_threads: int = 1
    blocking_threads_idle_timeout: int = 30
    runtime_blocking_threads: int = 512
    url_path_prefix: str | None = None
    log_access: bool = False
    log_access_format: str | None = None
    #: The ``ssl_*`` options, checked at construction; ``None`` serves cleartext.
    tls: TLSConfig | None = None
    #: ``(route, real mount path)`` pairs, already checked by :func:`.static.pair_mounts`.
    static_path_mounts: tuple[tuple[str, str], ...] = ()
    static_path_dir_to_file: str | None = None
    static_path_expires: int = 86400
    static_path_precompressed: bool = False
    #: ``off``, or the PROXY protocol version every connection starts with (``v1``, ``v2``, ``auto``).
    proxy_protocol: str = 'off'
    #: Who may send that header, as ``granian_proxies.TrustedHosts`` reads it (checked already).
    proxy_protocol_trusted_hosts: str = '127.0.0.1'
    #: HTTP/3 beside the TCP listener (needs ``tls``); ``None`` when off.
    http3: HTTP3Config | None = None
    #: Add ``server: granian`` and ``date`` to responses that do not set them.
    server_header: bool = True
    date_header: bool = True
    #: Default response fields, ``(lower-case name, value)``, checked by :mod:`.response_headers`.
    headers: tuple[tuple[str, str], ...] = ()


async def serve_app(
    interface: Interface,
    config: ServeConfig,
    listeners: Listeners,
    stop: asyncio.Future[Any],
    *,
    worker_id: int = 1,
    metrics: MetricsPusher | None = None,
) -> None:
    """Serve through ``interface`` on ``listeners`` until ``stop`` resolves.

    Raises :class:`~granian_server.errors.FatalError` when the interface cannot start (a failed
    ASGI lifespan startup), the TLS files cannot be loaded, or the worker's own listener cannot be
    bound.
    """
    loop = asyncio.get_running_loop()
    try:
        # Checked when the server was built; this catches files that changed since.
        tls = load_tls(config.tls, config.http) if config.tls is not None else None
    except TLSConfigError as exc:
        raise FatalError(str(exc)) from None
    executor = ThreadPoolExecutor(max_workers=config.runtime_blocking_threads, thread_name_prefix='granian-io')
    tasks = TaskSet(loop)
    # Counted only for the exporter: without it, requests pay no clock read for it.
    durations = Durations() if metrics is not None else None
    runtime = Runtime(
        loop=loop,
        tasks=tasks,
        executor=executor,
        access_log=AccessLogFormatter(config.log_access_format)
        if config.log_access and config.log_access_format
        else None,
        url_path_prefix=config.url_path_prefix,
        blocking_threads=config.blocking_threads,
        blocking_threads_idle_timeout=config.blocking_threads_idle_timeout,
        durations=durations,
    )
    try:
        handler = await interface.start(runtime)
    except BaseException:
        executor.shutdown(wait=False)
        raise
    static = None
    if config.static_path_mounts:
        static = StaticFiles(
            config.static_path_mounts,
            dir_to_file=config.static_path_dir_to_file,
            expires=config.static_path_expires,
            precompressed=config.static_path_precompressed,
            loop=loop,
            executor=executor,
            spawn=tasks.spawn,
        )
        handler = static.wrap(handler)

    ctx = ServeContext(
        handler,
        loop=loop,
        executor=executor,
        http1=config.http1,
        http2=config.http2,
        http_mode=config.http,
        websockets=config.websockets,
        websocket=config.websocket,
        tls=tls,
        max_connections=config.backpressure,
        server_header=config.server_header,
        date_header=config.date_header,
        # latin-1: the option's check made sure every character has its byte.
        default_headers=[(name.encode('latin-1'), value.encode('latin-1')) for name, value in config.headers],
    )
    factory: Callable[[], asyncio.BaseProtocol] = protocol_factory(ctx)
    ssl_context = ctx.ssl_context
    if config.proxy_protocol != 'off':
        trusted = TrustedHosts(config.proxy_protocol_trusted_hosts)
        factory = proxy_protocol_factory(ctx, config.proxy_protocol, trusted)
        # The header comes before the TLS handshake: the reader starts TLS once it has read it.
        ssl_context = None
    sockets: list[socket.socket] = []
    servers: list[asyncio.Server] = []
    http3 = None
    try:
        try:
            sockets = listeners.open()
        except ConfigurationError as exc:
            logger.error(f'Worker-{worker_id} cannot listen: {exc}')
            raise
        for sock in sockets:
            servers.append(await loop.create_server(factory, sock=sock, backlog=config.backlog, ssl=ssl_context))
        if config.http3 is not None and config.tls is not None and sockets:
            # The UDP port is the TCP listener's, whichever way it was opened (bound, inherited,
            # this worker's own); responses advertise it from now on.
            ctx.advertise(_alt_svc(config, sockets))
            try:
                http3 = await start_http3(ctx, config.http3, config.tls, sockets[0])
            except (ConfigurationError, TLSConfigError) as exc:
                raise FatalError(str(exc)) from None
        if metrics is not None:
            metrics.start(
                ctx, executor, blocking_pool=getattr(interface, 'pool', None), static=static, durations=durations
            )
        logger.info(f'Started worker-{worker_id}')
        await stop
    finally:
        logger.info(f'Stopping worker-{worker_id}')
        if metrics is not None:
            metrics.stop()
        # Stop accepting first and close the servers only once the connections accepted last have
        # their transports: asyncio drops (resets) an accepted connection whose server closed in
        # between. A shared listening socket stays open in the main process and the other workers;
        # a listener of this worker's own closes with its server (see .listening for its backlog).
        for sock in sockets:
            try:
                loop.remove_reader(sock.fileno())
            except (NotImplementedError, ValueError, OverflowError):
                pass  # a loop that owns the socket itself (rloop): closing the server stops it
        await asyncio.sleep(_ACCEPTED_SETTLE)
        for server in servers:
            server.close()
        ctx.shutdown()
        await ctx.wait_closed()
        if http3 is not None:
            http3.close()  # after the connections: their last packets leave through it
            logger.info(
                f'HTTP/3 worker-{worker_id}: {http3.connections} connections, '
                f'{http3.forwarded} datagrams forwarded to other workers, {http3.adopted} taken from them'
            )
        await tasks.wait()
        if metrics is not None:
            metrics.push()  # the last requests, in the totals the exporter keeps after we exit
        await interface.stop()
        ctx.close()
        executor.shutdown(wait=False)


def _alt_svc(config: ServeConfig, sockets: list[socket.socket]) -> bytes | None:
    """The ``alt-svc`` value HTTP/1.1 and HTTP/2 responses carry while HTTP/3 is on."""
    if config.http3 is None or config.tls is None or not sockets:
        return None
    from granian_http import alt_svc

    return alt_svc(sockets[0].getsockname()[1])
