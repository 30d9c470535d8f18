"""Granian(...) keyword handling: upstream's defaults and derived values, and its checks."""

from __future__ import annotations

import inspect

import pytest

from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes, SSLProtocols, TaskImpl
from granian.errors import ConfigurationError
from granian.http import HTTP1Settings, HTTP2Settings
from granian.log import DEFAULT_ACCESSLOG_FMT, LogLevels

# Upstream's keywords and defaults, and this Granian's own HTTP/3 ones where they sit.
UPSTREAM_DEFAULTS = {
    'address': '127.0.0.1',
    'port': 8000,
    'uds': None,
    'uds_permissions': None,
    'interface': Interfaces.RSGI,
    'workers': 1,
    'blocking_threads': None,
    'blocking_threads_idle_timeout': 30,
    'runtime_threads': 1,
    'runtime_blocking_threads': None,
    'runtime_mode': RuntimeModes.auto,
    'loop': Loops.auto,
    'task_impl': TaskImpl.asyncio,
    'http': HTTPModes.auto,
    'websockets': True,
    'backlog': 1024,
    'backpressure': None,
    'http1_settings': None,
    'http2_settings': None,
    # This Granian's own (upstream has no HTTP/3), beside the other protocol settings.
    'http3': False,
    'http3_settings': None,
    'log_enabled': True,
    'log_level': LogLevels.info,
    'log_dictconfig': None,
    'log_access': False,
    'log_access_format': None,
    'ssl_cert': None,
    'ssl_key': None,
    'ssl_key_password': None,
    'ssl_protocol_min': SSLProtocols.tls13,
    'ssl_ca': None,
    'ssl_crl': None,
    'ssl_client_verify': False,
    'url_path_prefix': None,
    'respawn_failed_workers': False,
    'respawn_interval': 3.5,
    'rss_sample_interval': 30,
    'rss_samples': 1,
    'workers_lifetime': None,
    'workers_max_rss': None,
    'workers_kill_timeout': None,
    'factory': False,
    'working_dir': None,
    'env_files': None,
    'static_path_route': None,
    'static_path_mount': None,
    'static_path_dir_to_file': None,
    'static_path_expires': 86400,
    # From upstream's open pull request #791 (precompressed static files), where it sits.
    'static_path_precompressed': False,
    'metrics_enabled': False,
    'metrics_scrape_interval': 15,
    'metrics_address': '127.0.0.1',
    'metrics_port': 9090,
    'reload': False,
    'reload_paths': None,
    'reload_ignore_dirs': None,
    'reload_ignore_patterns': None,
    'reload_ignore_paths': None,
    'reload_filter': None,
    'reload_tick': 50,
    'reload_ignore_worker_failure': False,
    'process_name': None,
    'pid_file': None,
    # After upstream's keywords, so that none of theirs moves: upstream's open pull request #848,
    # and this project's choice between the listener models (ARCHITECTURE.md).
    'fd': None,
    'reuse_port': None,
    # Not upstream's (its issue #174 asks for the PROXY protocol); after upstream's keywords.
    'proxy_protocol': 'off',
    'proxy_protocol_trusted_hosts': None,
    # Not upstream's (its issue #613 asks for them, as Uvicorn names them); after upstream's keywords.
    'ws_max_size': 16 * 1024 * 1024,
    'ws_ping_interval': None,
    'ws_ping_timeout': 20.0,
    # Uvicorn's response header options (upstream's issues #315 and #594); after upstream's keywords.
    'server_header': True,
    'date_header': True,
    'headers': None,
}


def test_every_upstream_keyword_with_its_default_in_order() -> None:
    params = list(inspect.signature(Granian).parameters.values())
    assert params[0].name == 'target'
    assert {param.name: param.default for param in params[1:]} == UPSTREAM_DEFAULTS
    assert [param.name for param in params[1:]] == list(UPSTREAM_DEFAULTS)


def test_derived_values() -> None:
    server = Granian('app:app', interface='asgi', workers=0, backlog=10, runtime_threads=0)
    assert server.workers == 1
    assert server.backlog == 128
    assert server.backpressure == 128
    assert server.blocking_threads == 1
    assert server.runtime_threads == 1
    assert server.runtime_blocking_threads == 512
    assert server.runtime_mode == RuntimeModes.mt
    assert server.log_access_format == DEFAULT_ACCESSLOG_FMT
    assert isinstance(server.http1_settings, HTTP1Settings)
    assert isinstance(server.http2_settings, HTTP2Settings)
    assert Granian('app:app', interface='asgi', workers=4, backlog=2048).backpressure == 512


def test_plain_strings_are_accepted_for_enums() -> None:
    server = Granian('app:app', interface='asginl', loop='asyncio', http='1', task_impl='asyncio', log_level='debug')
    assert server.interface is Interfaces.ASGINL
    assert server.loop is Loops.asyncio
    assert server.http is HTTPModes.http1
    assert server.log_level is LogLevels.debug


def test_bad_enum_value_names_the_option() -> None:
    with pytest.raises(ConfigurationError, match=r"^loop: 'nope' is not one of"):
        Granian('app:app', interface='asgi', loop='nope')


def test_blocking_threads_above_one_only_for_wsgi() -> None:
    server = Granian('app:app', interface='asgi', blocking_threads=4)
    with pytest.raises(ConfigurationError, match=r'^blocking_threads: '):
        server._check_serve()


@pytest.mark.parametrize('value', [4, 601])
def test_blocking_threads_idle_timeout_range(value: int) -> None:
    server = Granian('app:app', interface='asgi', blocking_threads_idle_timeout=value)
    with pytest.raises(ConfigurationError, match=r'^blocking_threads_idle_timeout: '):
        server._check_serve()


def test_hooks_are_decorators() -> None:
    server = Granian('app:app', interface='asgi')

    @server.on_startup
    def started() -> None: ...

    @server.on_reload
    def reloaded() -> None: ...

    @server.on_shutdown
    def stopped() -> None: ...

    assert server.hooks_startup == [started]
    assert server.hooks_reload == [reloaded]
    assert server.hooks_shutdown == [stopped]
