"""Upstream's Rust-runtime options: accepted, and each one that has no effect here says so once.

``runtime_threads`` above 1, an explicit ``runtime_mode='mt'`` and ``task_impl='rust'`` each give one
warning line at start-up naming the option; their defaults (and ``st``, what the server does) give
none. Counted in the log of a real server, started through the CLI and through the API.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from granian import Granian
from granian.constants import RuntimeModes
from granian.server.embed import Server as EmbeddedServer
from testkit.process import ServerProcess, api_server, cli_server

APPS = Path(__file__).resolve().parents[1] / 'ops' / 'apps'
WARNINGS = {
    'runtime_threads': r'\[WARNING\] runtime_threads: 3 has no effect, every worker runs one event-loop thread: .*'
    r'use workers=3',
    'runtime_mode': r"\[WARNING\] runtime_mode: 'mt' has no effect",
    'task_impl': r"\[WARNING\] task_impl: 'rust' has no effect, this server has no Rust task",
}
CLI = ('--interface', 'asgi', '--port', '0', '--loop', 'asyncio', '--working-dir', str(APPS))
RUNTIME_LINE = r'Runtime: one event-loop thread per worker, request tasks started eagerly, 512 blocking I/O threads'


def served(server: ServerProcess) -> ServerProcess:
    """Wait until the server answers, then stop it; its whole start-up log is in ``lines``."""
    server.ready()
    try:
        assert httpx.get(server.url, timeout=10).status_code == 200
    finally:
        assert server.stop() == 0
    return server


def test_defaults_say_nothing_about_the_rust_runtime() -> None:
    server = served(cli_server(*CLI, 'ops_app:app'))
    for pattern in (*WARNINGS.values(), r'runtime_\w+:', r'task_impl:'):
        assert server.count(pattern) == 0, server.output
    assert server.count(RUNTIME_LINE) == 1


def test_each_option_without_effect_is_one_warning_from_the_cli() -> None:
    args = ('--runtime-threads', '3', '--runtime-mode', 'mt', '--task-impl', 'rust')
    server = served(cli_server(*CLI, *args, 'ops_app:app'))
    for option, pattern in WARNINGS.items():
        assert server.count(pattern) == 1, (option, server.output)
    # One loop thread, whatever was asked: the worker started once, and served.
    assert server.count(r'Started worker-') == 1
    assert server.count(RUNTIME_LINE) == 1


def test_st_is_what_the_server_does_and_says_nothing() -> None:
    server = served(
        api_server('ops_app:app', interface='asgi', working_dir=str(APPS), runtime_mode='st', task_impl='asyncio')
    )
    for pattern in WARNINGS.values():
        assert server.count(pattern) == 0, server.output


def test_the_api_warns_the_same_way() -> None:
    options = {'runtime_threads': 3, 'runtime_mode': 'mt', 'task_impl': 'rust'}
    server = served(api_server('ops_app:app', interface='asgi', working_dir=str(APPS), **options))
    for pattern in WARNINGS.values():
        assert server.count(pattern) == 1, server.output


def test_auto_still_resolves_as_upstream_for_code_that_reads_it() -> None:
    assert Granian('app:app', interface='rsgi').runtime_mode == RuntimeModes.st
    assert Granian('app:app', interface='asgi').runtime_mode == RuntimeModes.mt
    assert Granian('app:app', interface='rsgi', runtime_threads=2).runtime_mode == RuntimeModes.mt


@pytest.mark.anyio
async def test_the_embedded_server_warns_too(capsys: pytest.CaptureFixture[str]) -> None:
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        return None

    server = EmbeddedServer(app, port=0, interface='asginl', runtime_threads=3, task_impl='rust')
    capsys.readouterr()  # what construction logged; the lines counted come from serve()
    task = asyncio.create_task(server.serve())
    out = ''
    while 'Runtime: ' not in out:  # logged before it starts listening
        await asyncio.sleep(0.01)
        out += capsys.readouterr().out
    server.stop()
    await task
    out += capsys.readouterr().out
    warned = [line.split('] ', 1)[1].split(':', 1)[0] for line in out.splitlines() if 'has no effect' in line]
    assert warned == ['runtime_threads', 'task_impl']
