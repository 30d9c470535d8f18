"""Every option of the ``granian`` command, in upstream's order, with its type, range and default.

Each option reads ``GRANIAN_<NAME>`` from the environment (click's ``auto_envvar_prefix``, set by
:func:`granian_cli.entrypoint`), and ``--help`` shows that variable next to the default. The
parameter names are the env var names, so a few differ from the flags (``--ws`` is
``GRANIAN_WEBSOCKETS``, ``--access-log`` is ``GRANIAN_LOG_ACCESS_ENABLED``).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any, TypeVar

import click

from granian_http import HTTP3_LIMITS
from granian_server.constants import (
    HTTP1Parsers,
    HTTPModes,
    Interfaces,
    Loops,
    ProxyProtocolModes,
    RuntimeModes,
    SSLProtocols,
    TaskImpl,
)
from granian_server.log import LogLevels

from .types import Duration, EnumType, HeaderType, OctalIntType

__all__ = ['option', 'server_options']

_F = TypeVar('_F', bound=Callable[..., Any])

_EXISTING_FILE = click.Path(exists=True, file_okay=True, dir_okay=False, readable=True, path_type=pathlib.Path)
_EXISTING_DIR = click.Path(exists=True, file_okay=False, dir_okay=True, readable=True, path_type=pathlib.Path)
# Upstream takes any int and fails at bind time; a range here makes 99999 a usage error naming the
# option instead of an OverflowError from bind(). 0 asks the system for a free port.
_PORT = click.IntRange(0, 65535)


def option(*param_decls: str, **attrs: Any) -> Callable[[_F], _F]:
    """``click.option`` that shows its env var, and shows a flag's default as enabled/disabled."""
    attrs.setdefault('show_envvar', True)
    default = attrs.get('default')
    if isinstance(default, bool):
        attrs.setdefault('show_default', 'enabled' if default else 'disabled')
    return click.option(*param_decls, **attrs)


_OPTIONS: tuple[Callable[[Any], Any], ...] = (
    # -- binding ---------------------------------------------------------------------------------
    option('--host', default='127.0.0.1', help='Host address to bind to'),
    option('--port', type=_PORT, default=8000, help='Port to bind to'),
    option(
        '--uds',
        type=click.Path(exists=False, writable=True, path_type=pathlib.Path),
        help='Unix domain socket to bind to (replaces host and port)',
    ),
    option('--uds-permissions', type=OctalIntType(), help='Unix domain socket file permissions (e.g. 0660)'),
    option(
        '--fd',
        type=click.IntRange(0),
        help='Serve the listening socket (TCP or Unix) the parent passed as this file descriptor, '
        'instead of binding (replaces host and port; systemd socket activation needs no option)',
    ),
    option(
        '--reuse-port/--no-reuse-port',
        default=None,
        show_default='auto: on Linux with several workers, no --reload and net.ipv4.tcp_migrate_req=1',
        help='Give each worker its own SO_REUSEPORT listener on the TCP port instead of one shared socket',
    ),
    option('--interface', type=EnumType(Interfaces), default=Interfaces.RSGI.value, help='Application interface'),
    option('--http', type=EnumType(HTTPModes), default=HTTPModes.auto.value, help='HTTP version'),
    option('--ws/--no-ws', 'websockets', default=True, help='Websocket support'),
    # Not upstream's (its issue #613): Uvicorn's names and units, but no pings unless asked for.
    option(
        '--ws-max-size',
        type=click.IntRange(1),
        default=16 * 1024 * 1024,
        help='Largest WebSocket message accepted (bytes); a larger one closes the connection with 1009',
    ),
    option(
        '--ws-ping-interval',
        type=click.FloatRange(0),
        show_default='off',
        help='Ping a WebSocket client after this many seconds without a byte from it (0 or not set: no pings)',
    ),
    option(
        '--ws-ping-timeout',
        type=click.FloatRange(0, min_open=True),
        default=20.0,
        help='Seconds a pinged WebSocket client has to send anything before it is closed with 1011',
    ),
    # -- workers and runtime ---------------------------------------------------------------------
    option('--workers', type=click.IntRange(1), default=1, help='Number of worker processes'),
    option(
        '--blocking-threads',
        type=click.IntRange(1),
        help='Number of blocking threads per worker (only the WSGI interface uses more than 1)',
    ),
    option(
        '--blocking-threads-idle-timeout',
        type=Duration(5, 600),
        default=30,
        help='Time after which an idle blocking thread is stopped (seconds, or e.g. 1m30s)',
    ),
    option(
        '--runtime-threads',
        type=click.IntRange(1),
        default=1,
        help='Event-loop threads per worker; this server runs one (more only slow it down with the GIL), '
        'so a larger value is a start-up warning: use --workers for more cores',
    ),
    option(
        '--runtime-blocking-threads',
        type=click.IntRange(1),
        help='Number of threads per worker for blocking file I/O (default 512)',
    ),
    option(
        '--runtime-mode',
        type=EnumType(RuntimeModes),
        default=RuntimeModes.auto.value,
        help='Runtime mode; one event-loop thread per worker is always st here, so mt is a start-up warning',
    ),
    option('--loop', type=EnumType(Loops), default=Loops.auto.value, help='Event loop implementation'),
    option(
        '--task-impl',
        type=EnumType(TaskImpl),
        default=TaskImpl.asyncio.value,
        help='Request task implementation: asyncio tasks, started eagerly; rust (no Rust here) is a start-up warning',
    ),
    option(
        '--backlog',
        type=click.IntRange(128),
        default=1024,
        help='Maximum number of connections waiting in the listen queue',
    ),
    option(
        '--backpressure',
        type=click.IntRange(1),
        show_default='backlog/workers',
        help='Maximum number of requests a worker serves concurrently',
    ),
    # -- HTTP/1.1 --------------------------------------------------------------------------------
    option(
        '--http1-buffer-size',
        type=click.IntRange(8192),
        default=417792,
        help='Maximum size of a request head and of the unread body buffered per HTTP/1 connection (bytes)',
    ),
    option(
        '--http1-header-read-timeout',
        type=click.IntRange(1, 60_000),
        default=30_000,
        help='Time a client has to send a request head, also the keep-alive idle timeout (milliseconds)',
    ),
    option('--http1-keep-alive/--no-http1-keep-alive', default=True, help='HTTP/1 keep-alive'),
    option(
        '--http1-pipeline-flush/--no-http1-pipeline-flush',
        default=False,
        help='Send the responses to pipelined HTTP/1 requests in one write once the pipeline drains',
    ),
    option(
        '--http1-parser',
        type=EnumType(HTTP1Parsers),
        default=HTTP1Parsers.auto.value,
        help='HTTP/1 request parser: httptools (granian[speedups]) when installed with auto, else h11',
    ),
    # -- HTTP/2 ----------------------------------------------------------------------------------
    option('--http2-adaptive-window/--no-http2-adaptive-window', default=False, help='HTTP/2 adaptive flow control'),
    option(
        '--http2-initial-connection-window-size',
        type=click.IntRange(1024),
        default=1024 * 1024,
        help='HTTP/2 initial connection flow-control window (bytes)',
    ),
    option(
        '--http2-initial-stream-window-size',
        type=click.IntRange(1024),
        default=1024 * 1024,
        help='HTTP/2 initial stream flow-control window (bytes)',
    ),
    option(
        '--http2-keep-alive-interval',
        type=click.IntRange(1, 60_000),
        help='Interval between HTTP/2 keep-alive PINGs (milliseconds; off when not set)',
    ),
    option(
        '--http2-keep-alive-timeout',
        type=Duration(1),
        default=20,
        help='Time to wait for an HTTP/2 PING acknowledgement before closing the connection',
    ),
    option(
        '--http2-max-concurrent-streams',
        type=click.IntRange(10),
        default=200,
        help='Maximum number of concurrent HTTP/2 streams per connection',
    ),
    option('--http2-max-frame-size', type=click.IntRange(1024), default=16384, help='Maximum HTTP/2 frame size'),
    option(
        '--http2-max-headers-size',
        type=click.IntRange(1),
        default=16 * 1024 * 1024,
        help='Maximum size of received HTTP/2 header lists (bytes)',
    ),
    option(
        '--http2-max-send-buffer-size',
        type=click.IntRange(1024),
        default=1024 * 400,
        help='Maximum HTTP/2 write buffer size per stream (bytes)',
    ),
    # -- HTTP/3 (this Granian's own: upstream has none) ------------------------------------------
    option(
        '--http3/--no-http3',
        default=False,
        help='Also serve HTTP/3 over QUIC, on UDP at the same address and port (needs TLS and granian[http3])',
    ),
    option(
        '--http3-idle-timeout',
        type=click.IntRange(*HTTP3_LIMITS['idle_timeout']),
        default=30,
        help='Seconds an HTTP/3 connection may stay silent before it is dropped',
    ),
    option(
        '--http3-initial-connection-window-size',
        type=click.IntRange(*HTTP3_LIMITS['initial_connection_window_size']),
        default=1024 * 1024,
        help='HTTP/3 connection flow-control window (bytes)',
    ),
    option(
        '--http3-initial-stream-window-size',
        type=click.IntRange(*HTTP3_LIMITS['initial_stream_window_size']),
        default=1024 * 1024,
        help='HTTP/3 stream flow-control window (bytes)',
    ),
    option(
        '--http3-max-concurrent-streams',
        type=click.IntRange(*HTTP3_LIMITS['max_concurrent_streams']),
        default=100,
        help='Maximum number of concurrent HTTP/3 request streams per connection',
    ),
    option(
        '--http3-max-datagram-size',
        type=click.IntRange(*HTTP3_LIMITS['max_datagram_size']),
        default=1350,
        help='Largest UDP payload sent for HTTP/3 (bytes)',
    ),
    option(
        '--http3-max-headers-size',
        type=click.IntRange(*HTTP3_LIMITS['max_headers_size']),
        default=64 * 1024,
        help='Maximum size of received HTTP/3 header sections (bytes; larger gets 431)',
    ),
    option(
        '--http3-max-send-buffer-size',
        type=click.IntRange(*HTTP3_LIMITS['max_send_buffer_size']),
        default=1024 * 400,
        help='Maximum HTTP/3 write buffer size per stream (bytes)',
    ),
    # -- response headers (Uvicorn's options; upstream's issues #315 and #594) ----------------------
    option(
        '--server-header/--no-server-header',
        default=True,
        help='Add "server: granian" to responses that set no server header',
    ),
    option('--date-header/--no-date-header', default=True, help='Add a date header to responses that set none'),
    option(
        '--header',
        type=HeaderType(),
        multiple=True,
        metavar='NAME:VALUE',
        help='Default response header, added unless the app sets that name (repeatable; '
        'the variable takes one per line)',
    ),
    # -- logging ---------------------------------------------------------------------------------
    option('--log/--no-log', 'log_enabled', default=True, help='Logging'),
    option('--log-level', type=EnumType(LogLevels), default=LogLevels.info.value, help='Log level'),
    option('--log-config', type=_EXISTING_FILE, help='Logging configuration file (JSON, logging.dictConfig format)'),
    option('--access-log/--no-access-log', 'log_access_enabled', default=False, help='Access log'),
    option('--access-log-fmt', 'log_access_fmt', help='Access log format'),
    # -- TLS -------------------------------------------------------------------------------------
    option('--ssl-certificate', type=_EXISTING_FILE, help='TLS certificate file'),
    option('--ssl-keyfile', type=_EXISTING_FILE, help='TLS key file (PKCS#8 format only)'),
    option('--ssl-keyfile-password', help='TLS key password'),
    option(
        '--ssl-protocol-min',
        type=EnumType(SSLProtocols),
        default=SSLProtocols.tls13.value,
        help='Minimum TLS protocol version',
    ),
    option('--ssl-ca', type=_EXISTING_FILE, help='Root certificate authority file for client verification'),
    option('--ssl-crl', type=_EXISTING_FILE, multiple=True, help='Certificate revocation list file (repeatable)'),
    option('--ssl-client-verify/--no-ssl-client-verify', default=False, help='Verify client certificates'),
    # -- PROXY protocol --------------------------------------------------------------------------
    option(
        '--proxy-protocol',
        type=EnumType(ProxyProtocolModes),
        default=ProxyProtocolModes.off.value,
        help='Read a PROXY protocol header (v1, v2, or auto: either) before each connection, TLS included',
    ),
    option(
        '--proxy-protocol-trusted-hosts',
        multiple=True,
        show_default='127.0.0.1',  # the server's default: none given means that one
        help='Address or network allowed to send the PROXY header (repeatable; * trusts all)',
    ),
    # -- application -----------------------------------------------------------------------------
    option('--url-path-prefix', help='URL path prefix the app is mounted on'),
    # -- worker lifecycle ------------------------------------------------------------------------
    option(
        '--respawn-failed-workers/--no-respawn-failed-workers',
        default=False,
        help='Respawn workers that exit unexpectedly',
    ),
    option(
        '--respawn-interval',
        type=float,
        default=3.5,
        help='Seconds to wait between spawning a new worker and stopping the old one on respawn',
    ),
    option(
        '--rss-sample-interval',
        type=Duration(1, 300),
        default=30,
        help='Interval between worker memory (RSS) samples',
    ),
    option(
        '--rss-samples',
        type=click.IntRange(1),
        default=1,
        help='Consecutive samples over the limit before a worker is respawned',
    ),
    option('--workers-lifetime', type=Duration(60), help='Maximum lifetime of a worker before it is respawned'),
    option('--workers-max-rss', type=click.IntRange(1), help='Maximum memory (RSS) of a worker, in MiB'),
    option(
        '--workers-kill-timeout',
        type=Duration(1, 1800),
        show_default='disabled',
        help='Time a stopping worker has to exit before it is killed',
    ),
    option('--factory/--no-factory', default=False, help='Treat the target as a factory that returns the app'),
    option('--working-dir', type=_EXISTING_DIR, help='Working directory to import the app from'),
    option('--env-files', type=_EXISTING_FILE, multiple=True, help='Env files to load (needs python-dotenv)'),
    # -- static files ----------------------------------------------------------------------------
    option(
        '--static-path-route',
        multiple=True,
        show_default='/static',
        help='Route for static files (repeatable, paired with --static-path-mount)',
    ),
    option('--static-path-mount', type=_EXISTING_DIR, multiple=True, help='Directory of static files (repeatable)'),
    option('--static-path-dir-to-file', help='File served when a static directory is requested (e.g. index.html)'),
    option(
        '--static-path-expires',
        type=Duration(0),
        default=86400,
        help='Cache max-age of static files (0 turns the cache header off)',
    ),
    option(
        '--static-path-precompressed/--no-static-path-precompressed',
        default=False,
        help='Serve file.zst, file.br or file.gz beside a static file to clients that accept that encoding',
    ),
    # -- metrics ---------------------------------------------------------------------------------
    option('--metrics/--no-metrics', 'metrics_enabled', default=False, help='Prometheus metrics exporter'),
    option('--metrics-scrape-interval', type=Duration(1, 60), default=15, help='Metrics collection interval'),
    option('--metrics-address', default='127.0.0.1', help='Metrics exporter host address to bind to'),
    option('--metrics-port', type=_PORT, default=9090, help='Metrics exporter port to bind to'),
    # -- reload ----------------------------------------------------------------------------------
    option('--reload/--no-reload', default=False, help='Restart workers when code changes (needs watchfiles)'),
    option(
        '--reload-paths',
        type=click.Path(exists=True, path_type=pathlib.Path),
        multiple=True,
        show_default='Working directory',
        help='Paths to watch for changes',
    ),
    option('--reload-ignore-dirs', multiple=True, help='Directory names to ignore on reload (repeatable)'),
    option('--reload-ignore-patterns', multiple=True, help='Path regexes to ignore on reload (repeatable)'),
    option(
        '--reload-ignore-paths',
        type=click.Path(exists=False, path_type=pathlib.Path),
        multiple=True,
        help='Paths to ignore on reload (repeatable)',
    ),
    option(
        '--reload-tick',
        type=click.IntRange(50, 5000),
        default=50,
        help='Interval between checks for changes (milliseconds)',
    ),
    option(
        '--reload-ignore-worker-failure/--no-reload-ignore-worker-failure',
        default=False,
        help='Keep reloading when a worker fails',
    ),
    # -- process ---------------------------------------------------------------------------------
    option('--process-name', help='Process name shown by ps (needs setproctitle)'),
    option(
        '--pid-file',
        type=click.Path(exists=False, file_okay=True, dir_okay=False, writable=True, path_type=pathlib.Path),
        help='File to write the main process PID to',
    ),
)


def server_options(command: _F) -> _F:
    """Decorate ``command`` with every option; ``--help`` lists them in the order above."""
    for decorator in reversed(_OPTIONS):
        command = decorator(command)
    return command
