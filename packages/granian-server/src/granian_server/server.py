"""``granian.Granian``: upstream's constructor, its defaults and checks, and ``serve()``.

Every upstream keyword is accepted. A keyword whose feature this server does not have yet raises
:class:`ConfigurationError` when given a value other than its default, so nothing a user asks for
is silently ignored.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from granian_http import (
    HTTP1_PARSERS,
    HTTP1Settings,
    HTTP2Settings,
    HTTP3Settings,
    TLSConfig,
    TLSConfigError,
    check_crl_files,
    http1_parser_available,
    load_tls,
)

from .constants import HTTPModes, Interfaces, Loops, ProxyProtocolModes, RuntimeModes, SSLProtocols, TaskImpl
from .errors import ConfigurationError
from .extras import require_module
from .http3 import HTTP3Config, check_http3, forward_directory, new_key
from .listeners import MAX_BACKLOG, bind_udp, check_mode, check_port
from .listening import Bound, ListenOptions, check_listen_options, http_url, open_listeners
from .log import DEFAULT_ACCESSLOG_FMT, LogLevels, configure_logging, logger
from .loops import loop_for_tls
from .pidfile import PidFile
from .process_title import resolve_process_name, set_process_title
from .proxy_protocol import check_trusted_hosts
from .reloader import ReloadOptions
from .response_headers import HeaderOption, check_header_flag, parse_headers
from .runtime_options import explain_runtime
from .serving import ServeConfig
from .static import pair_mounts
from .supervisor import Supervisor, SupervisorOptions
from .target import env_loader
from .websocket_options import DEFAULT_WS_MAX_SIZE, DEFAULT_WS_PING_TIMEOUT, websocket_settings
from .worker import WorkerSpec

__all__ = ['Server']

_H = TypeVar('_H', bound=Callable[[], Any])


def _enum(enum: type[Any], value: Any, option: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        choices = ', '.join(repr(str(member.value)) for member in enum)
        raise ConfigurationError(f'{option}: {value!r} is not one of {choices}') from None


def _not_yet(option: str, feature: str) -> ConfigurationError:
    return ConfigurationError(
        f'{option}: {feature} is not supported yet by this Granian; remove the option to serve without it'
    )


class Server:
    """A multi-process Granian server (upstream's ``MPServer``)."""

    def __init__(
        self,
        target: str,
        address: str = '127.0.0.1',
        port: int = 8000,
        uds: Path | None = None,
        uds_permissions: int | None = None,
        interface: Interfaces = Interfaces.RSGI,
        workers: int = 1,
        blocking_threads: int | None = None,
        blocking_threads_idle_timeout: int = 30,
        runtime_threads: int = 1,
        runtime_blocking_threads: int | None = None,
        runtime_mode: RuntimeModes = RuntimeModes.auto,
        loop: Loops = Loops.auto,
        task_impl: TaskImpl = TaskImpl.asyncio,
        http: HTTPModes = HTTPModes.auto,
        websockets: bool = True,
        backlog: int = 1024,
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
        respawn_failed_workers: bool = False,
        respawn_interval: float = 3.5,
        rss_sample_interval: int = 30,
        rss_samples: int = 1,
        workers_lifetime: int | None = None,
        workers_max_rss: int | None = None,
        workers_kill_timeout: int | None = None,
        factory: bool = False,
        working_dir: Path | None = None,
        env_files: Sequence[Path] | None = None,
        static_path_route: Sequence[str] | None = None,
        static_path_mount: Sequence[Path] | None = None,
        static_path_dir_to_file: str | None = None,
        static_path_expires: int = 86400,
        static_path_precompressed: bool = False,
        metrics_enabled: bool = False,
        metrics_scrape_interval: int = 15,
        metrics_address: str = '127.0.0.1',
        metrics_port: int = 9090,
        reload: bool = False,
        reload_paths: Sequence[Path] | None = None,
        reload_ignore_dirs: Sequence[str] | None = None,
        reload_ignore_patterns: Sequence[str] | None = None,
        reload_ignore_paths: Sequence[Path] | None = None,
        reload_filter: type[Any] | None = None,
        reload_tick: int = 50,
        reload_ignore_worker_failure: bool = False,
        process_name: str | None = None,
        pid_file: Path | None = None,
        fd: int | None = None,
        reuse_port: bool | None = None,
        proxy_protocol: ProxyProtocolModes = ProxyProtocolModes.off,
        proxy_protocol_trusted_hosts: str | Sequence[str] | None = None,
        ws_max_size: int = DEFAULT_WS_MAX_SIZE,
        ws_ping_interval: float | None = None,
        ws_ping_timeout: float | None = DEFAULT_WS_PING_TIMEOUT,
        server_header: bool = True,
        date_header: bool = True,
        headers: HeaderOption | None = None,
    ) -> None:
        self.target = target
        self.bind_addr = address
        self.bind_port = port
        self.bind_uds = Path(uds).resolve() if uds else None
        #: An inherited listening socket to serve instead of binding (upstream's open PR #848).
        self.bind_fd = fd
        #: None: SO_REUSEPORT per worker only where it loses nothing (see .listening).
        self.reuse_port = reuse_port
        self.uds_permissions = uds_permissions
        self.interface = _enum(Interfaces, interface, 'interface')
        self.workers = max(1, workers)
        self.runtime_threads = max(1, runtime_threads)
        self.runtime_blocking_threads = 512 if runtime_blocking_threads is None else max(1, runtime_blocking_threads)
        self.runtime_mode = _enum(RuntimeModes, runtime_mode, 'runtime_mode')
        self.loop = _enum(Loops, loop, 'loop')
        self.task_impl = _enum(TaskImpl, task_impl, 'task_impl')
        self.http = _enum(HTTPModes, http, 'http')
        self.websockets = websockets
        self.backlog = min(max(128, backlog), MAX_BACKLOG)
        self.backpressure = max(1, backpressure or self.backlog // self.workers)
        self.blocking_threads = (
            blocking_threads
            if blocking_threads is not None
            else (max(1, self.backpressure // 2) if self.interface == Interfaces.WSGI else 1)
        )
        self.blocking_threads_idle_timeout = blocking_threads_idle_timeout
        self.http1_settings = http1_settings or HTTP1Settings()
        self.http2_settings = http2_settings or HTTP2Settings()
        self.http3 = http3
        self.http3_settings = http3_settings or HTTP3Settings()
        self.log_enabled = log_enabled
        self.log_level = _enum(LogLevels, log_level, 'log_level')
        self.log_config = log_dictconfig
        self.log_access = log_access
        self.log_access_format = log_access_format or DEFAULT_ACCESSLOG_FMT
        self.ssl_cert = ssl_cert
        self.ssl_key = ssl_key
        self.ssl_key_password = ssl_key_password
        self.ssl_protocol_min = _enum(SSLProtocols, ssl_protocol_min, 'ssl_protocol_min')
        self.ssl_ca = ssl_ca
        self.ssl_crl = list(ssl_crl or [])
        self.ssl_client_verify = ssl_client_verify
        self.url_path_prefix = url_path_prefix
        self.respawn_failed_workers = respawn_failed_workers
        self.respawn_interval = respawn_interval
        self.rss_sample_interval = rss_sample_interval
        self.rss_samples = rss_samples
        self.workers_lifetime = workers_lifetime
        self.workers_max_rss = workers_max_rss * 1024 * 1024 if workers_max_rss else None
        self.workers_kill_timeout = workers_kill_timeout
        self.factory = factory
        self.working_dir = working_dir
        self.env_files = list(env_files or [])
        self.static_path_route = list(static_path_route or [])
        self.static_path_mount = list(static_path_mount or [])
        self.static_path_dir_to_file = static_path_dir_to_file
        self.static_path_expires = static_path_expires
        self.static_path_precompressed = static_path_precompressed
        self.metrics_enabled = metrics_enabled
        self.metrics_scrape_interval = metrics_scrape_interval
        self.metrics_address = metrics_address
        self.metrics_port = metrics_port
        self.reload_on_changes = reload
        self.reload_paths = list(reload_paths or [Path.cwd()])
        self.reload_ignore_dirs = list(reload_ignore_dirs or [])
        self.reload_ignore_patterns = list(reload_ignore_patterns or [])
        self.reload_ignore_paths = list(reload_ignore_paths or [])
        self.reload_filter = reload_filter
        self.reload_tick = reload_tick
        self.reload_ignore_worker_failure = reload_ignore_worker_failure
        self.process_name = process_name
        self.pid_file = pid_file
        self.proxy_protocol = _enum(ProxyProtocolModes, proxy_protocol, 'proxy_protocol')
        enabled = self.proxy_protocol != ProxyProtocolModes.off
        self.proxy_protocol_trusted_hosts = check_trusted_hosts(proxy_protocol_trusted_hosts, enabled)
        #: The response header options (Uvicorn's names; upstream's issues #315 and #594).
        self.server_header = check_header_flag('server_header', server_header)
        self.date_header = check_header_flag('date_header', date_header)
        self.headers = parse_headers(headers)

        self.hooks_startup: list[Callable[[], Any]] = []
        self.hooks_reload: list[Callable[[], Any]] = []
        self.hooks_shutdown: list[Callable[[], Any]] = []

        configure_logging(self.log_level, self.log_config, self.log_enabled)
        self._init_tls()
        if self.http3:
            check_http3(self.http3_settings, self.tls_config, self.bind_uds is not None)
        self._init_static()
        self._resolve_runtime()
        # After _resolve_runtime, which turns websockets off for WSGI.
        self.ws_max_size = ws_max_size
        self.ws_ping_interval = ws_ping_interval
        self.ws_ping_timeout = ws_ping_timeout
        self.websocket_settings = websocket_settings(
            ws_max_size, ws_ping_interval, ws_ping_timeout, websockets=self.websockets
        )

    # -- checks --------------------------------------------------------------------------------

    def _init_tls(self) -> None:
        """Check the ``ssl_*`` options now, so a bad certificate, key or password fails here."""
        self.tls_config: TLSConfig | None = None
        if self.ssl_client_verify and not self.ssl_ca:
            logger.warning('SSL client verification requires a CA certificate, ignoring')
            self.ssl_client_verify = False
        if self.ssl_cert or self.ssl_key:
            if not (self.ssl_cert and self.ssl_key):
                missing = 'ssl_key' if self.ssl_cert else 'ssl_cert'
                raise ConfigurationError(f'{missing}: TLS needs both ssl_cert and ssl_key; give the missing one')
            if self.ssl_crl and not self.ssl_ca:
                logger.warning('ssl_crl has no effect without ssl_ca (client certificates are not asked for)')
            self.tls_config = TLSConfig(
                cert=str(self.ssl_cert),
                key=str(self.ssl_key),
                key_password=self.ssl_key_password,
                protocol_min=self.ssl_protocol_min.value,
                ca=str(self.ssl_ca) if self.ssl_ca else None,
                crl=tuple(str(path) for path in self.ssl_crl) if self.ssl_ca else (),
                client_verify=self.ssl_client_verify,
            )
            try:
                load_tls(self.tls_config, self.http.value)
                for warning in check_crl_files(self.tls_config.crl):
                    logger.warning(warning)
            except TLSConfigError as exc:
                raise ConfigurationError(str(exc)) from None
            loop_for_tls(self.loop.value)  # refuse a loop that cannot serve TLS, now
        elif self.ssl_ca or self.ssl_crl or self.ssl_key_password is not None:
            logger.warning('ssl_ca, ssl_crl and ssl_key_password have no effect without ssl_cert and ssl_key')
        self.ssl_ctx = (
            self.tls_config is not None,
            self.ssl_cert,
            self.ssl_key,
            self.ssl_key_password,
            self.ssl_protocol_min.value,
            self.ssl_ca,
            list(self.ssl_crl),
            self.ssl_client_verify,
        )

    def _init_static(self) -> None:
        """Pair static routes with their mounts now, as upstream does (a mistake fails early)."""
        if self.static_path_expires < 0:
            raise ConfigurationError(
                'static_path_expires: must be a number of seconds, or 0 to send no cache-control header'
            )
        if not isinstance(self.static_path_precompressed, bool):
            # A string such as 'false' would otherwise read as true.
            raise ConfigurationError(
                f'static_path_precompressed: must be True or False, not {self.static_path_precompressed!r}'
            )
        self.static_path_mounts = pair_mounts(self.static_path_route, self.static_path_mount)
        for name in ('static_path_dir_to_file', 'static_path_precompressed'):
            if getattr(self, name) and not self.static_path_mounts:
                logger.warning(f'{name} has no effect without static_path_mount')

    def _resolve_runtime(self) -> None:
        # Resolved as upstream does, for code that reads it; what it does here is another matter
        # (see .runtime_options), told at start-up from the value as given.
        self._runtime_mode_given = self.runtime_mode
        if self.runtime_mode == RuntimeModes.auto:
            single = self.interface == Interfaces.RSGI and self.runtime_threads == 1 and self.http != HTTPModes.http2
            self.runtime_mode = RuntimeModes.st if single else RuntimeModes.mt
        if self.interface == Interfaces.WSGI and self.websockets:
            logger.info('Websockets are not supported on WSGI, ignoring')
            self.websockets = False

    def _check_serve(self) -> None:
        if self.blocking_threads > 1 and self.interface != Interfaces.WSGI:
            raise ConfigurationError(
                'blocking_threads: only the WSGI interface runs the app on more than one blocking thread; '
                'remove the option or set it to 1'
            )
        if not 5 <= self.blocking_threads_idle_timeout <= 600:
            raise ConfigurationError('blocking_threads_idle_timeout: must be between 5 and 600 seconds')
        parser = self.http1_settings.parser
        if parser not in HTTP1_PARSERS:
            raise ConfigurationError(f'http1_parser: {parser!r} is not a parser; use one of {", ".join(HTTP1_PARSERS)}')
        if not http1_parser_available(parser):
            raise ConfigurationError(
                'http1_parser: httptools is not installed; install granian[speedups], or use auto or h11'
            )
        if self.bind_uds and sys.platform == 'win32':
            raise ConfigurationError('uds: Unix sockets are not available on Windows; bind an address and port')
        check_listen_options(self.bind_fd, self.bind_uds, self.reuse_port)
        # Out-of-range values would only fail at bind() or chmod(), as OverflowError tracebacks.
        if self.bind_uds is None and self.bind_fd is None:
            check_port('port', self.bind_port)
        check_mode('uds_permissions', self.uds_permissions)
        cpus = os.cpu_count() or 1
        if self.workers > cpus:
            logger.warning(
                f'Configured number of workers ({self.workers}) is greater than the number of CPUs ({cpus}); '
                'this might hurt performance'
            )
        self._check_process_options()

    def _check_process_options(self) -> None:
        """The main process's options: optional packages they need, their limits, reload mode."""
        if self.process_name:
            require_module('setproctitle', 'process_name')
        if self.env_files:
            require_module('dotenv', 'env_files')
        if self.workers_lifetime is not None and self.workers_lifetime < 60:
            raise ConfigurationError('workers_lifetime: must be at least 60 seconds')
        if self.metrics_enabled and sys.platform == 'win32':
            logger.warning('The metrics exporter is not available on Windows, ignoring')
            self.metrics_enabled = False
        if self.reload_on_changes:
            require_module('watchfiles', 'reload')
            self._check_reload_patterns()
            if self.workers_lifetime is not None:
                logger.info('Workers lifetime is not available in combination with reload, ignoring')
                self.workers_lifetime = None
            if self.workers_max_rss is not None:
                logger.info('Workers max RSS is not available in combination with reload, ignoring')
                self.workers_max_rss = None
            if self.metrics_enabled:
                logger.info('Metrics are not available in combination with reload, ignoring')
                self.metrics_enabled = False
        if self.metrics_enabled:
            check_port('metrics_port', self.metrics_port)

    def _check_reload_patterns(self) -> None:
        # The reloader compiles them in its own process, where a bad one is a traceback and a
        # stopped reloader; here it is one line naming the pattern.
        for pattern in self.reload_ignore_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigurationError(
                    f'reload_ignore_patterns: {pattern!r} is not a regular expression ({exc})'
                ) from None

    def _describe_runtime(self) -> None:
        """Say once what upstream's Rust runtime options do in a pure-Python worker."""
        explain_runtime(
            runtime_threads=self.runtime_threads,
            runtime_mode=self._runtime_mode_given,
            task_impl=self.task_impl,
            runtime_blocking_threads=self.runtime_blocking_threads,
        )

    # -- hooks ---------------------------------------------------------------------------------

    def on_startup(self, hook: _H) -> _H:
        self.hooks_startup.append(hook)
        return hook

    def on_reload(self, hook: _H) -> _H:
        self.hooks_reload.append(hook)
        return hook

    def on_shutdown(self, hook: _H) -> _H:
        self.hooks_shutdown.append(hook)
        return hook

    # -- sockets -------------------------------------------------------------------------------

    def _open_listeners(self) -> Bound:
        """Bind or take over the listening sockets, and log where the server listens."""
        bound = open_listeners(
            ListenOptions(
                address=self.bind_addr,
                port=self.bind_port,
                uds=self.bind_uds,
                uds_permissions=self.uds_permissions,
                fd=self.bind_fd,
                backlog=self.backlog,
                reuse_port=self.reuse_port,
                workers=self.workers,
                tls=self.tls_config is not None,
                reload=self.reload_on_changes,
            )
        )
        if bound.port is not None:
            self.bind_port = bound.port  # port 0 asked the system for a free one
        bound.announce()
        return bound

    def _listen_url(self) -> str:
        if self.bind_uds is not None:
            return f'unix:{self.bind_uds}'
        return http_url(self.bind_addr, self.bind_port, tls=self.tls_config is not None)

    # -- serving -------------------------------------------------------------------------------

    def _serve_config(self) -> ServeConfig:
        return ServeConfig(
            interface=self.interface,
            http=self.http.value,
            websockets=self.websockets,
            websocket=self.websocket_settings,
            http1=self.http1_settings,
            http2=self.http2_settings,
            backlog=self.backlog,
            backpressure=self.backpressure,
            blocking_threads=self.blocking_threads,
            blocking_threads_idle_timeout=self.blocking_threads_idle_timeout,
            runtime_blocking_threads=self.runtime_blocking_threads,
            url_path_prefix=self.url_path_prefix,
            log_access=self.log_access,
            log_access_format=self.log_access_format,
            tls=self.tls_config,
            static_path_mounts=self.static_path_mounts,
            static_path_dir_to_file=self.static_path_dir_to_file,
            static_path_expires=self.static_path_expires,
            static_path_precompressed=self.static_path_precompressed,
            proxy_protocol=self.proxy_protocol.value,
            proxy_protocol_trusted_hosts=self.proxy_protocol_trusted_hosts,
            http3=HTTP3Config(self.http3_settings) if self.http3 else None,
            server_header=self.server_header,
            date_header=self.date_header,
            headers=self.headers,
        )

    def _worker_spec(self, target_loader: Callable[..., Any] | None) -> WorkerSpec:
        return WorkerSpec(
            target=self.target,
            serve=self._serve_config(),
            loop=self.loop.value if self.tls_config is None else loop_for_tls(self.loop.value),
            factory=self.factory,
            working_dir=str(self.working_dir) if self.working_dir else None,
            env_files=[str(path) for path in self.env_files],
            log_enabled=self.log_enabled,
            log_level=self.log_level.value,
            log_dictconfig=self.log_config,
            process_name=self.process_name,
            target_loader=target_loader,
            metrics_interval=float(self.metrics_scrape_interval),
        )

    def _supervisor_options(self) -> SupervisorOptions:
        reload = None
        if self.reload_on_changes:
            reload = ReloadOptions(
                paths=[str(path) for path in self.reload_paths],
                ignore_dirs=list(self.reload_ignore_dirs),
                ignore_patterns=list(self.reload_ignore_patterns),
                ignore_paths=[str(path) for path in self.reload_ignore_paths],
                filter_class=self.reload_filter,
                tick_ms=self.reload_tick,
                ignore_worker_failure=self.reload_ignore_worker_failure,
            )
        return SupervisorOptions(
            workers=self.workers,
            kill_timeout=self.workers_kill_timeout,
            respawn_failed_workers=self.respawn_failed_workers,
            respawn_interval=self.respawn_interval,
            lifetime=self.workers_lifetime,
            max_rss=self.workers_max_rss,
            rss_sample_interval=self.rss_sample_interval,
            rss_samples=self.rss_samples,
            reload=reload,
            metrics_address=self.metrics_address if self.metrics_enabled else None,
            metrics_port=self.metrics_port,
        )

    def serve(
        self,
        spawn_target: Callable[..., Any] | None = None,
        target_loader: Callable[..., Any] | None = None,
        wrap_loader: bool = True,
    ) -> None:
        """Bind, spawn the workers and supervise them until SIGINT/SIGTERM; exit 1 on a failure."""
        if spawn_target is not None:
            raise _not_yet('spawn_target', 'a custom worker spawn target')
        self._check_serve()
        if target_loader is not None and wrap_loader:
            target_loader = partial(target_loader, self.target)
        logger.info(f'Starting granian (main PID: {os.getpid()})')
        self._describe_runtime()
        pid_file = PidFile(self.pid_file) if self.pid_file is not None else None
        if pid_file is not None:
            pid_file.write()
        try:
            code = self._serve_workers(target_loader)
        finally:
            if pid_file is not None:
                pid_file.remove()
        logger.info('Granian shutdown completed, see ya!')
        if code:
            sys.exit(code)

    def _serve_workers(self, target_loader: Callable[..., Any] | None) -> int:
        bound = self._open_listeners()
        try:
            self._check_udp_port(bound)
        except BaseException:
            bound.close()
            raise
        if self.http3:
            logger.info(f'HTTP/3 (QUIC) at: udp {self._listen_url().removeprefix("https://")}')
        title = resolve_process_name(
            self.process_name, interface=self.interface.value, bind=bound.title, target=self.target
        )
        if title is not None:
            set_process_title(title)
        load_env = env_loader([str(path) for path in self.env_files])
        load_env()

        def on_reload() -> None:
            load_env()
            self._run_reload_hooks()

        try:
            for hook in self.hooks_startup:
                hook()
            spec = replace(self._worker_spec(target_loader), process_name=title)
            with contextlib.ExitStack() as stack:
                if spec.serve.http3 is not None:
                    spec = self._with_http3_forwarding(spec, stack.enter_context(forward_directory()))
                code = Supervisor(spec, bound.listeners, self._supervisor_options(), on_reload=on_reload).run()
        finally:
            bound.close()
            for hook in self.hooks_shutdown:
                hook()
            bound.remove_socket_file()
        return code

    def _check_udp_port(self, bound: Bound) -> None:
        """Bind the HTTP/3 UDP port once here, so a port taken over UDP fails at start, not in
        every worker; the workers bind their own sockets, on their TCP listener's address (an
        inherited socket's too, whose port only the workers see)."""
        if self.http3 and bound.port is not None:
            bind_udp(self.bind_addr, bound.port).close()

    @staticmethod
    def _with_http3_forwarding(spec: WorkerSpec, directory: str) -> WorkerSpec:
        http3 = spec.serve.http3
        assert http3 is not None
        forwarding = replace(http3, forward_dir=directory, forward_key=new_key())
        return replace(spec, serve=replace(spec.serve, http3=forwarding))

    def _run_reload_hooks(self) -> None:
        for hook in self.hooks_reload:
            hook()
