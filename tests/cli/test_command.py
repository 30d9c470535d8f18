"""The ``granian`` command: option table, env vars, defaults, the keywords given to Server, errors."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest

import granian_server.server
from granian_cli import cli
from granian_http.settings import HTTP1Settings, HTTP2Settings, HTTP3Settings
from granian_server.constants import HTTPModes, Interfaces, Loops, RuntimeModes, SSLProtocols, TaskImpl
from granian_server.errors import ConfigurationError, FatalError
from granian_server.log import LogLevels
from granian_server.server import Server

ServeKwargs = Callable[..., dict[str, Any]]

# Upstream's option table (the behaviour reference, §2): flag -> env var suffix.
UPSTREAM_OPTIONS = {
    '--host': 'HOST',
    '--port': 'PORT',
    '--uds': 'UDS',
    '--uds-permissions': 'UDS_PERMISSIONS',
    '--fd': 'FD',  # upstream's open pull request #848
    '--reuse-port': 'REUSE_PORT',  # this project's choice between the listener models (ARCHITECTURE.md)
    '--interface': 'INTERFACE',
    '--http': 'HTTP',
    '--ws': 'WEBSOCKETS',
    # Not upstream's (its issue #613 asks for them): Uvicorn's names, upstream's conventions.
    '--ws-max-size': 'WS_MAX_SIZE',
    '--ws-ping-interval': 'WS_PING_INTERVAL',
    '--ws-ping-timeout': 'WS_PING_TIMEOUT',
    '--workers': 'WORKERS',
    '--blocking-threads': 'BLOCKING_THREADS',
    '--blocking-threads-idle-timeout': 'BLOCKING_THREADS_IDLE_TIMEOUT',
    '--runtime-threads': 'RUNTIME_THREADS',
    '--runtime-blocking-threads': 'RUNTIME_BLOCKING_THREADS',
    '--runtime-mode': 'RUNTIME_MODE',
    '--loop': 'LOOP',
    '--task-impl': 'TASK_IMPL',
    '--backlog': 'BACKLOG',
    '--backpressure': 'BACKPRESSURE',
    '--http1-buffer-size': 'HTTP1_BUFFER_SIZE',
    '--http1-header-read-timeout': 'HTTP1_HEADER_READ_TIMEOUT',
    '--http1-keep-alive': 'HTTP1_KEEP_ALIVE',
    '--http1-pipeline-flush': 'HTTP1_PIPELINE_FLUSH',
    '--http2-adaptive-window': 'HTTP2_ADAPTIVE_WINDOW',
    '--http2-initial-connection-window-size': 'HTTP2_INITIAL_CONNECTION_WINDOW_SIZE',
    '--http2-initial-stream-window-size': 'HTTP2_INITIAL_STREAM_WINDOW_SIZE',
    '--http2-keep-alive-interval': 'HTTP2_KEEP_ALIVE_INTERVAL',
    '--http2-keep-alive-timeout': 'HTTP2_KEEP_ALIVE_TIMEOUT',
    '--http2-max-concurrent-streams': 'HTTP2_MAX_CONCURRENT_STREAMS',
    '--http2-max-frame-size': 'HTTP2_MAX_FRAME_SIZE',
    '--http2-max-headers-size': 'HTTP2_MAX_HEADERS_SIZE',
    '--http2-max-send-buffer-size': 'HTTP2_MAX_SEND_BUFFER_SIZE',
    # Uvicorn's response header options (upstream's issues #315 and #594).
    '--server-header': 'SERVER_HEADER',
    '--date-header': 'DATE_HEADER',
    '--header': 'HEADER',
    '--log': 'LOG_ENABLED',
    '--log-level': 'LOG_LEVEL',
    '--log-config': 'LOG_CONFIG',
    '--access-log': 'LOG_ACCESS_ENABLED',
    '--access-log-fmt': 'LOG_ACCESS_FMT',
    '--ssl-certificate': 'SSL_CERTIFICATE',
    '--ssl-keyfile': 'SSL_KEYFILE',
    '--ssl-keyfile-password': 'SSL_KEYFILE_PASSWORD',
    '--ssl-protocol-min': 'SSL_PROTOCOL_MIN',
    '--ssl-ca': 'SSL_CA',
    '--ssl-crl': 'SSL_CRL',
    '--ssl-client-verify': 'SSL_CLIENT_VERIFY',
    # Not upstream's (its parser is hyper's): httptools (granian[speedups]) or h11.
    '--http1-parser': 'HTTP1_PARSER',
    # Not upstream's (its issue #174 asks for the PROXY protocol): ours, with upstream's conventions.
    '--proxy-protocol': 'PROXY_PROTOCOL',
    '--proxy-protocol-trusted-hosts': 'PROXY_PROTOCOL_TRUSTED_HOSTS',
    '--url-path-prefix': 'URL_PATH_PREFIX',
    '--respawn-failed-workers': 'RESPAWN_FAILED_WORKERS',
    '--respawn-interval': 'RESPAWN_INTERVAL',
    '--rss-sample-interval': 'RSS_SAMPLE_INTERVAL',
    '--rss-samples': 'RSS_SAMPLES',
    '--workers-lifetime': 'WORKERS_LIFETIME',
    '--workers-max-rss': 'WORKERS_MAX_RSS',
    '--workers-kill-timeout': 'WORKERS_KILL_TIMEOUT',
    '--factory': 'FACTORY',
    '--working-dir': 'WORKING_DIR',
    '--env-files': 'ENV_FILES',
    '--static-path-route': 'STATIC_PATH_ROUTE',
    '--static-path-mount': 'STATIC_PATH_MOUNT',
    '--static-path-dir-to-file': 'STATIC_PATH_DIR_TO_FILE',
    '--static-path-expires': 'STATIC_PATH_EXPIRES',
    '--static-path-precompressed': 'STATIC_PATH_PRECOMPRESSED',  # upstream's open pull request #791
    '--metrics': 'METRICS_ENABLED',
    '--metrics-scrape-interval': 'METRICS_SCRAPE_INTERVAL',
    '--metrics-address': 'METRICS_ADDRESS',
    '--metrics-port': 'METRICS_PORT',
    '--reload': 'RELOAD',
    '--reload-paths': 'RELOAD_PATHS',
    '--reload-ignore-dirs': 'RELOAD_IGNORE_DIRS',
    '--reload-ignore-patterns': 'RELOAD_IGNORE_PATTERNS',
    '--reload-ignore-paths': 'RELOAD_IGNORE_PATHS',
    '--reload-tick': 'RELOAD_TICK',
    '--reload-ignore-worker-failure': 'RELOAD_IGNORE_WORKER_FAILURE',
    '--process-name': 'PROCESS_NAME',
    '--pid-file': 'PID_FILE',
}

# Flags whose default --help shows as enabled/disabled.
# This Granian's own options (upstream has no HTTP/3): flag -> env var suffix.
OWN_OPTIONS = {
    '--http3': 'HTTP3',
    '--http3-idle-timeout': 'HTTP3_IDLE_TIMEOUT',
    '--http3-initial-connection-window-size': 'HTTP3_INITIAL_CONNECTION_WINDOW_SIZE',
    '--http3-initial-stream-window-size': 'HTTP3_INITIAL_STREAM_WINDOW_SIZE',
    '--http3-max-concurrent-streams': 'HTTP3_MAX_CONCURRENT_STREAMS',
    '--http3-max-datagram-size': 'HTTP3_MAX_DATAGRAM_SIZE',
    '--http3-max-headers-size': 'HTTP3_MAX_HEADERS_SIZE',
    '--http3-max-send-buffer-size': 'HTTP3_MAX_SEND_BUFFER_SIZE',
}
ALL_OPTIONS = {**UPSTREAM_OPTIONS, **OWN_OPTIONS}

FLAG_DEFAULTS = {
    '--ws': 'enabled',
    '--http1-keep-alive': 'enabled',
    '--http3': 'disabled',
    '--http1-pipeline-flush': 'disabled',
    '--http2-adaptive-window': 'disabled',
    '--server-header': 'enabled',
    '--date-header': 'enabled',
    '--log': 'enabled',
    '--access-log': 'disabled',
    '--ssl-client-verify': 'disabled',
    '--respawn-failed-workers': 'disabled',
    '--factory': 'disabled',
    '--static-path-precompressed': 'disabled',
    '--metrics': 'disabled',
    '--reload': 'disabled',
    '--reload-ignore-worker-failure': 'disabled',
}


def help_lines(invoke: Callable[..., Any]) -> dict[str, str]:
    """``granian --help`` as {first flag: its entry}, an entry's wrapped lines joined into one."""
    result = invoke(['--help'])
    assert result.exit_code == 0, result.output
    entries: dict[str, str] = {}
    flag = None
    for line in result.output.split('Options:\n', 1)[1].splitlines():
        match = re.match(r'^  (--[a-z0-9-]+)', line)
        if match:
            flag = match.group(1)
            entries[flag] = line.strip()
        elif flag is not None:
            entries[flag] += ' ' + line.strip()
    return entries


# -- --help and --version ---------------------------------------------------------------------------


def test_help_lists_every_upstream_option_with_its_env_var(invoke: Callable[..., Any]) -> None:
    lines = help_lines(invoke)
    assert set(lines) == {*ALL_OPTIONS, '--version', '--help'}
    for flag, env in ALL_OPTIONS.items():
        assert f'[env var: GRANIAN_{env}' in lines[flag], lines[flag]


def test_help_shows_usage_and_defaults(invoke: Callable[..., Any]) -> None:
    result = invoke(['--help'])
    assert result.output.startswith('Usage: granian [OPTIONS] APP')
    lines = help_lines(invoke)
    assert 'default: 127.0.0.1]' in lines['--host']
    assert 'default: rsgi]' in lines['--interface']
    assert '[asgi|asginl|rsgi|wsgi]' in lines['--interface']
    assert 'default: 30; 5<=x<=600]' in lines['--blocking-threads-idle-timeout']
    assert 'default: (backlog/workers)' in lines['--backpressure']
    assert 'default: (disabled)' in lines['--workers-kill-timeout']
    assert 'default: (/static)' in lines['--static-path-route']
    assert 'default: (Working directory)' in lines['--reload-paths']
    assert (
        'default: (auto: on Linux with several workers, no --reload and net.ipv4.tcp_migrate_req=1)]'
        in (lines['--reuse-port'])
    )


def test_help_says_what_the_runtime_options_do_here(invoke: Callable[..., Any]) -> None:
    lines = help_lines(invoke)
    assert 'this server runs one' in lines['--runtime-threads']
    assert 'a larger value is a start-up warning: use --workers' in lines['--runtime-threads']
    assert 'always st here, so mt is a start-up warning' in lines['--runtime-mode']
    assert 'asyncio tasks, started eagerly; rust (no Rust here) is a start-up warning' in lines['--task-impl']
    assert 'in one write once the pipeline drains' in lines['--http1-pipeline-flush']


@pytest.mark.parametrize(('flag', 'shown'), FLAG_DEFAULTS.items())
def test_help_shows_flag_defaults_as_enabled_or_disabled(invoke: Callable[..., Any], flag: str, shown: str) -> None:
    assert f'default: ({shown})]' in help_lines(invoke)[flag]


def test_no_option_without_env_var_or_missing_from_table() -> None:
    options = [param for param in cli.params if isinstance(param, click.Option) and param.name != 'version']
    assert {f'GRANIAN_{param.name.upper()}' for param in options if param.name} == {
        f'GRANIAN_{env}' for env in ALL_OPTIONS.values()
    }
    assert all(param.show_envvar for param in options)


def test_version_prints_granian_and_the_distribution_version(invoke: Callable[..., Any]) -> None:
    result = invoke(['--version'])
    assert result.exit_code == 0
    assert result.output == f'granian {importlib.metadata.version("granian")}\n'


def test_version_falls_back_to_the_cli_distribution(
    invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_version = importlib.metadata.version

    def without_meta_package(name: str) -> str:
        if name == 'granian':
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, 'version', without_meta_package)
    result = invoke(['--version'])
    assert result.output == f'granian {real_version("granian-cli")}\n'


def test_app_is_required(invoke: Callable[..., Any]) -> None:
    result = invoke([])
    assert result.exit_code == 2
    assert "Missing argument 'APP'" in result.output


# -- what reaches Server ----------------------------------------------------------------------------


def test_defaults_are_upstream_server_defaults(serve_kwargs: ServeKwargs) -> None:
    kwargs = serve_kwargs()
    signature = inspect.signature(Server.__init__)
    expected = {
        name: param.default
        for name, param in signature.parameters.items()
        if name not in ('self', 'target', 'reload_filter')  # the CLI has no option for a filter class
    }
    expected.update(http1_settings=HTTP1Settings(), http2_settings=HTTP2Settings(), http3_settings=HTTP3Settings())
    assert kwargs == expected


def test_default_enums_are_members(serve_kwargs: ServeKwargs) -> None:
    kwargs = serve_kwargs()
    assert kwargs['interface'] is Interfaces.RSGI
    assert kwargs['http'] is HTTPModes.auto
    assert kwargs['runtime_mode'] is RuntimeModes.auto
    assert kwargs['loop'] is Loops.auto
    assert kwargs['task_impl'] is TaskImpl.asyncio
    assert kwargs['log_level'] is LogLevels.info
    assert kwargs['ssl_protocol_min'] is SSLProtocols.tls13


def test_renamed_options(serve_kwargs: ServeKwargs, tmp_path: Path) -> None:
    cert, key = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    cert.write_text('cert')
    key.write_text('key')
    kwargs = serve_kwargs(
        [
            '--host',
            '0.0.0.0',
            '--ssl-certificate',
            str(cert),
            '--ssl-keyfile',
            str(key),
            '--ssl-keyfile-password',
            'secret',
            '--access-log',
            '--access-log-fmt',
            '%(status)d',
        ]
    )
    assert kwargs['address'] == '0.0.0.0'
    assert kwargs['ssl_cert'] == cert
    assert kwargs['ssl_key'] == key
    assert kwargs['ssl_key_password'] == 'secret'
    assert kwargs['log_access'] is True
    assert kwargs['log_access_format'] == '%(status)d'
    for option_name in ('host', 'ssl_certificate', 'ssl_keyfile', 'ssl_keyfile_password', 'log_access_enabled'):
        assert option_name not in kwargs


def test_http1_options_build_http1_settings(serve_kwargs: ServeKwargs) -> None:
    kwargs = serve_kwargs(
        [
            '--http1-buffer-size',
            '65536',
            '--http1-header-read-timeout',
            '5000',
            '--no-http1-keep-alive',
            '--http1-pipeline-flush',
        ]
    )
    assert kwargs['http1_settings'] == HTTP1Settings(
        header_read_timeout=5000, keep_alive=False, max_buffer_size=65536, pipeline_flush=True
    )
    assert not any(name.startswith('http1_') and name != 'http1_settings' for name in kwargs)


def test_http2_options_build_http2_settings(serve_kwargs: ServeKwargs) -> None:
    kwargs = serve_kwargs(
        [
            '--http2-adaptive-window',
            '--http2-initial-connection-window-size',
            '2048',
            '--http2-initial-stream-window-size',
            '4096',
            '--http2-keep-alive-interval',
            '1500',
            '--http2-keep-alive-timeout',
            '1m',
            '--http2-max-concurrent-streams',
            '50',
            '--http2-max-frame-size',
            '32768',
            '--http2-max-headers-size',
            '8192',
            '--http2-max-send-buffer-size',
            '1024',
        ]
    )
    assert kwargs['http2_settings'] == HTTP2Settings(
        adaptive_window=True,
        initial_connection_window_size=2048,
        initial_stream_window_size=4096,
        keep_alive_interval=1500,
        keep_alive_timeout=60,
        max_concurrent_streams=50,
        max_frame_size=32768,
        max_headers_size=8192,
        max_send_buffer_size=1024,
    )


def test_values_are_converted(serve_kwargs: ServeKwargs, tmp_path: Path) -> None:
    kwargs = serve_kwargs(
        [
            '--interface',
            'ASGI',
            '--http',
            '1',
            '--uds',
            str(tmp_path / 'granian.sock'),
            '--uds-permissions',
            '0660',
            '--workers-lifetime',
            '1h',
            '--workers-kill-timeout',
            '30',
            '--respawn-interval',
            '0.5',
            '--no-ws',
            '--log-level',
            'DEBUG',
        ]
    )
    assert kwargs['interface'] is Interfaces.ASGI
    assert kwargs['http'] is HTTPModes.http1
    assert kwargs['uds'] == tmp_path / 'granian.sock'
    assert kwargs['uds_permissions'] == 0o660
    assert kwargs['workers_lifetime'] == 3600
    assert kwargs['workers_kill_timeout'] == 30
    assert kwargs['respawn_interval'] == 0.5
    assert kwargs['websockets'] is False
    assert kwargs['log_level'] is LogLevels.debug


def test_repeatable_options_become_lists(serve_kwargs: ServeKwargs, tmp_path: Path) -> None:
    static_a, static_b = tmp_path / 'a', tmp_path / 'b'
    static_a.mkdir()
    static_b.mkdir()
    kwargs = serve_kwargs(
        [
            '--static-path-route',
            '/a',
            '--static-path-mount',
            str(static_a),
            '--static-path-route',
            '/b',
            '--static-path-mount',
            str(static_b),
            '--reload-ignore-dirs',
            'node_modules',
        ]
    )
    assert kwargs['static_path_route'] == ['/a', '/b']
    assert kwargs['static_path_mount'] == [static_a, static_b]
    assert kwargs['reload_ignore_dirs'] == ['node_modules']
    assert kwargs['reload_paths'] is None


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['--workers', '0'], "Invalid value for '--workers': 0 is not in the range x>=1"),
        (['--backlog', '127'], "Invalid value for '--backlog': 127 is not in the range x>=128"),
        (['--reload-tick', '5001'], "Invalid value for '--reload-tick': 5001 is not in the range 50<=x<=5000"),
        (
            ['--blocking-threads-idle-timeout', '1s'],
            "'1s' is less than the minimum allowed value of 5 seconds",
        ),
        (['--workers-lifetime', '59'], "'59' is less than the minimum allowed value of 60 seconds"),
        (['--workers-kill-timeout', '31m'], "'31m' is greater than the maximum allowed value of 1800 seconds"),
        (['--interface', 'cgi'], "Invalid value for '--interface': 'cgi' is not one of"),
        (
            ['--working-dir', '/nonexistent/granian-cli-test'],
            "Directory '/nonexistent/granian-cli-test' does not exist",
        ),
    ],
)
def test_out_of_range_values_are_usage_errors(
    invoke: Callable[..., Any], recorded_servers: list[Any], args: list[str], message: str
) -> None:
    result = invoke([*args, 'examples.hello:app'])
    assert result.exit_code == 2
    assert message in result.output
    assert recorded_servers == []


def test_working_dir_goes_first_on_sys_path(serve_kwargs: ServeKwargs, tmp_path: Path) -> None:
    kwargs = serve_kwargs(['--working-dir', str(tmp_path)])
    assert kwargs['working_dir'] == tmp_path
    assert sys.path[0] == str(tmp_path.resolve())


def test_without_working_dir_the_current_directory_goes_first(serve_kwargs: ServeKwargs) -> None:
    serve_kwargs()
    assert sys.path[0] == ''


# -- env vars ---------------------------------------------------------------------------------------


def test_env_vars_set_options(serve_kwargs: ServeKwargs) -> None:
    kwargs = serve_kwargs(
        env={
            'GRANIAN_HOST': '::1',
            'GRANIAN_PORT': '9000',
            'GRANIAN_INTERFACE': 'ASGI',
            'GRANIAN_WORKERS': '3',
            'GRANIAN_WEBSOCKETS': 'false',
            'GRANIAN_LOG_ACCESS_ENABLED': '1',
            'GRANIAN_LOG_ACCESS_FMT': '%(path)s',
            'GRANIAN_WORKERS_LIFETIME': '1h30m',
            'GRANIAN_UDS_PERMISSIONS': '0600',
            'GRANIAN_HTTP1_KEEP_ALIVE': 'no',
            'GRANIAN_HTTP2_MAX_CONCURRENT_STREAMS': '100',
        }
    )
    assert kwargs['address'] == '::1'
    assert kwargs['port'] == 9000
    assert kwargs['interface'] is Interfaces.ASGI
    assert kwargs['workers'] == 3
    assert kwargs['websockets'] is False
    assert kwargs['log_access'] is True
    assert kwargs['log_access_format'] == '%(path)s'
    assert kwargs['workers_lifetime'] == 5400
    assert kwargs['uds_permissions'] == 0o600
    assert kwargs['http1_settings'].keep_alive is False
    assert kwargs['http2_settings'].max_concurrent_streams == 100


def test_command_line_beats_env_vars(serve_kwargs: ServeKwargs) -> None:
    kwargs = serve_kwargs(['--port', '9001', '--ws'], env={'GRANIAN_PORT': '9000', 'GRANIAN_WEBSOCKETS': 'false'})
    assert kwargs['port'] == 9001
    assert kwargs['websockets'] is True


def test_multiple_values_from_env_split_on_whitespace(serve_kwargs: ServeKwargs) -> None:
    kwargs = serve_kwargs(
        env={
            'GRANIAN_STATIC_PATH_ROUTE': '/static /assets',
            'GRANIAN_RELOAD_IGNORE_DIRS': 'node_modules  .venv',
            'GRANIAN_RELOAD_IGNORE_PATTERNS': r'.*\.tmp$ .*~',
        }
    )
    assert kwargs['static_path_route'] == ['/static', '/assets']
    assert kwargs['reload_ignore_dirs'] == ['node_modules', '.venv']
    assert kwargs['reload_ignore_patterns'] == [r'.*\.tmp$', '.*~']


def test_response_header_options_from_flags_and_env(serve_kwargs: ServeKwargs) -> None:
    kwargs = serve_kwargs(['--no-server-header', '--no-date-header', '--header', 'x-a: 1', '--header', 'x-b:two words'])
    assert (kwargs['server_header'], kwargs['date_header']) == (False, False)
    assert kwargs['headers'] == ['x-a: 1', 'x-b:two words']  # Uvicorn's keyword, checked by Server
    # The variable takes one header per line, as a value may hold spaces; blank lines are skipped.
    kwargs = serve_kwargs(
        env={
            'GRANIAN_HEADER': 'x-frame-options: DENY\n\nx-b: two words\n',
            'GRANIAN_SERVER_HEADER': 'false',
            'GRANIAN_DATE_HEADER': '0',
        }
    )
    assert kwargs['headers'] == ['x-frame-options: DENY', 'x-b: two words']
    assert (kwargs['server_header'], kwargs['date_header']) == (False, False)


def test_multiple_paths_from_env_split_on_pathsep(serve_kwargs: ServeKwargs, tmp_path: Path) -> None:
    first, second = tmp_path / 'one.env', tmp_path / 'two.env'
    first.write_text('A=1\n')
    second.write_text('B=2\n')
    mount = tmp_path / 'public'
    mount.mkdir()
    kwargs = serve_kwargs(
        env={'GRANIAN_ENV_FILES': f'{first}{os.pathsep}{second}', 'GRANIAN_STATIC_PATH_MOUNT': str(mount)}
    )
    assert kwargs['env_files'] == [first, second]
    assert kwargs['static_path_mount'] == [mount]


def test_env_values_are_validated_like_options(invoke: Callable[..., Any], recorded_servers: list[Any]) -> None:
    result = invoke(['examples.hello:app'], env={'GRANIAN_RSS_SAMPLE_INTERVAL': '10m'})
    assert result.exit_code == 2
    assert "'10m' is greater than the maximum allowed value of 300 seconds" in result.output
    assert recorded_servers == []


# -- log config -------------------------------------------------------------------------------------


def test_log_config_is_parsed_into_log_dictconfig(serve_kwargs: ServeKwargs, tmp_path: Path) -> None:
    config = {'version': 1, 'loggers': {'_granian': {'level': 'DEBUG'}}}
    path = tmp_path / 'logging.json'
    path.write_text(json.dumps(config))
    kwargs = serve_kwargs(['--log-config', str(path)])
    assert kwargs['log_dictconfig'] == config
    assert 'log_config' not in kwargs


def test_log_config_from_env(serve_kwargs: ServeKwargs, tmp_path: Path) -> None:
    path = tmp_path / 'logging.json'
    path.write_text('{"version": 1}')
    assert serve_kwargs(env={'GRANIAN_LOG_CONFIG': str(path)})['log_dictconfig'] == {'version': 1}


@pytest.mark.parametrize('content', ['{"version": 1,', 'not json', '', '[1, 2]'])
def test_unparsable_log_config_exits_1(
    invoke: Callable[..., Any], recorded_servers: list[Any], tmp_path: Path, content: str
) -> None:
    path = tmp_path / 'logging.json'
    path.write_text(content)
    result = invoke(['--log-config', str(path), 'examples.hello:app'])
    assert result.exit_code == 1
    assert result.stdout == 'Unable to parse provided logging config.\n'
    assert recorded_servers == []


def test_missing_log_config_is_a_usage_error(invoke: Callable[..., Any], tmp_path: Path) -> None:
    result = invoke(['--log-config', str(tmp_path / 'missing.json'), 'examples.hello:app'])
    assert result.exit_code == 2
    assert 'does not exist' in result.output


# -- fatal errors -----------------------------------------------------------------------------------


class _RefusingServer:
    def __init__(self, target: str, **kwargs: Any) -> None:
        raise ConfigurationError('workers_lifetime: not supported yet by this Granian')


class _FailingServer:
    def __init__(self, target: str, **kwargs: Any) -> None:
        pass

    def serve(self) -> None:
        raise FatalError()


def test_configuration_error_exits_1_with_its_message(
    invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(granian_server.server, 'Server', _RefusingServer)
    monkeypatch.setattr(sys, 'path', list(sys.path))
    result = invoke(['--workers-lifetime', '60', 'examples.hello:app'])
    assert result.exit_code == 1
    # The keyword the message starts with is shown as the flag the user typed.
    assert result.stderr == 'Error: --workers-lifetime: not supported yet by this Granian\n'
    assert 'Traceback' not in result.output


def test_fatal_error_while_serving_exits_1(invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(granian_server.server, 'Server', _FailingServer)
    monkeypatch.setattr(sys, 'path', list(sys.path))
    result = invoke(['examples.hello:app'])
    assert result.exit_code == 1
    assert result.output == ''
