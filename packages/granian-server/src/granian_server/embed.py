"""The embedded server (``granian.server.embed.Server``): one worker as a task on the caller's loop.

It takes the app object itself, not a target string, and installs no signal handlers: the
embedding program calls :meth:`Server.stop` (or :meth:`Server.reload`) when it wants to. With
``http3=True`` its one worker also serves HTTP/3 on a UDP socket of its own, on the TCP port: with
no other worker, no datagram ever needs forwarding, so no forwarding directory is made.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from granian_http import HTTP1Settings, HTTP2Settings, HTTP3Settings

from .constants import HTTPModes, Interfaces, ProxyProtocolModes, SSLProtocols, TaskImpl
from .errors import ConfigurationError, FatalError
from .http3 import new_key
from .interfaces import make_interface
from .listening import Listeners
from .log import LogLevels, logger
from .response_headers import HeaderOption
from .server import Server as _MainServer
from .serving import ServeConfig, serve_app
from .websocket_options import DEFAULT_WS_MAX_SIZE, DEFAULT_WS_PING_TIMEOUT

__all__ = ['Server']


class Server(_MainServer):
    def __init__(
        self,
        target: Any,
        address: str = '127.0.0.1',
        port: int = 8000,
        uds: Path | None = None,
        interface: Interfaces = Interfaces.RSGI,
        blocking_threads: int | None = None,
        blocking_threads_idle_timeout: int = 30,
        runtime_threads: int = 1,
        runtime_blocking_threads: int | None = None,
        task_impl: TaskImpl = TaskImpl.asyncio,
        http: HTTPModes = HTTPModes.auto,
        websockets: bool = True,
        backlog: int = 128,
        backpressure: int | None = None,
        http1_settings: HTTP1Settings | None = None,
        http2_settings: HTTP2Settings | None = None,
        http3: bool = False,
        http3_settings: HTTP3Settings | None = None,
        log_enabled: bool = True,
        log_level: LogLevels = LogLevels.info,
        log_dictconfig: dict[str, Any] | None = None,
        log_access: bool = False,
        log_access_format: str | None = None,
        ssl_cert: Path | None = None,
        ssl_key: Path | None = None,
        ssl_key_password: str | None = None,
        ssl_protocol_min: SSLProtocols = SSLProtocols.tls13,
        ssl_ca: Path | None = None,
        ssl_crl: list[Path] | None = None,
        ssl_client_verify: bool = False,
        url_path_prefix: str | None = None,
        factory: bool = False,
        static_path_route: list[str] | None = None,
        static_path_mount: list[Path] | None = None,
        static_path_dir_to_file: str | None = None,
        static_path_expires: int = 86400,
        static_path_precompressed: bool = False,
        proxy_protocol: ProxyProtocolModes = ProxyProtocolModes.off,
        proxy_protocol_trusted_hosts: str | list[str] | None = None,
        ws_max_size: int = DEFAULT_WS_MAX_SIZE,
        ws_ping_interval: float | None = None,
        ws_ping_timeout: float | None = DEFAULT_WS_PING_TIMEOUT,
        server_header: bool = True,
        date_header: bool = True,
        headers: HeaderOption | None = None,
    ) -> None:
        super().__init__(
            target,
            address=address,
            port=port,
            uds=uds,
            interface=interface,
            workers=1,
            blocking_threads=blocking_threads,
            blocking_threads_idle_timeout=blocking_threads_idle_timeout,
            runtime_threads=runtime_threads,
            runtime_blocking_threads=runtime_blocking_threads,
            task_impl=task_impl,
            http=http,
            websockets=websockets,
            backlog=backlog,
            backpressure=backpressure,
            http1_settings=http1_settings,
            http2_settings=http2_settings,
            http3=http3,
            http3_settings=http3_settings,
            log_enabled=log_enabled,
            log_level=log_level,
            log_dictconfig=log_dictconfig,
            log_access=log_access,
            log_access_format=log_access_format,
            ssl_cert=ssl_cert,
            ssl_key=ssl_key,
            ssl_key_password=ssl_key_password,
            ssl_protocol_min=ssl_protocol_min,
            ssl_ca=ssl_ca,
            ssl_crl=ssl_crl,
            ssl_client_verify=ssl_client_verify,
            url_path_prefix=url_path_prefix,
            factory=factory,
            static_path_route=static_path_route,
            static_path_mount=static_path_mount,
            static_path_dir_to_file=static_path_dir_to_file,
            static_path_expires=static_path_expires,
            static_path_precompressed=static_path_precompressed,
            proxy_protocol=proxy_protocol,
            proxy_protocol_trusted_hosts=proxy_protocol_trusted_hosts,
            ws_max_size=ws_max_size,
            ws_ping_interval=ws_ping_interval,
            ws_ping_timeout=ws_ping_timeout,
            server_header=server_header,
            date_header=date_header,
            headers=headers,
        )
        self._stop: asyncio.Future[None] | None = None
        self._reload = False

    async def serve(self, spawn_target: Any = None) -> None:  # type: ignore[override]
        """Serve on the running loop until :meth:`stop` is called."""
        logger.warning('Embedded server is experimental!')
        if spawn_target is not None:
            raise ConfigurationError('spawn_target: the embedded server always runs its one worker in-process')
        if self.interface == Interfaces.WSGI:
            raise ConfigurationError('interface: the embedded server cannot run WSGI apps; use granian.Granian')
        self._check_serve()
        self._describe_runtime()
        target: Any = self.target
        app = target() if self.factory else target
        loop = asyncio.get_running_loop()
        bound = self._open_listeners()
        try:
            # As in the multi-process server: a UDP port already taken fails here, once, rather
            # than as the worker's failure on every reload.
            self._check_udp_port(bound)
            if self.http3:
                logger.info(f'HTTP/3 (QUIC) at: udp {self._listen_url().removeprefix("https://")}')
            while True:
                self._stop = loop.create_future()
                self._reload = False
                try:
                    # Each run gets its own descriptors: stopping a run closes them, the sockets stay.
                    interface = make_interface(self.interface.value, app)
                    interface.setup(loop)
                    listeners = Listeners(shared=[sock.dup() for sock in bound.listeners.shared])
                    try:
                        await serve_app(interface, self._embedded_config(), listeners, self._stop)
                    finally:
                        interface.teardown(loop)
                except FatalError as exc:
                    logger.error(f'Embedded worker failed: {exc}')
                    return
                if not self._reload:
                    return
                for hook in self.hooks_reload:
                    hook()
        finally:
            bound.close()
            bound.remove_socket_file()

    def _embedded_config(self) -> ServeConfig:
        config = self._serve_config()
        if config.http3 is None:
            return config
        # Connection IDs carry the worker's PID masked with a key; the multi-process server makes
        # one per server, this one per run: its connections do not outlive the run.
        return replace(config, http3=replace(config.http3, forward_key=new_key()))

    def stop(self) -> None:
        """Stop serving: the running ``serve()`` returns after a graceful shutdown."""
        if self._stop is not None and not self._stop.done():
            self._stop.set_result(None)

    def reload(self) -> None:
        """Restart the worker on the same socket (ASGI lifespan runs again)."""
        self._reload = True
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        return self.bind_port
