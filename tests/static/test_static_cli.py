"""Static files through the ``granian`` command and its GRANIAN_* environment variables."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.process import ROOT, cli_server

APPS = Path(__file__).parent / 'apps'


def test_cli_options_serve_two_mounts(tree: Any) -> None:
    server = cli_server(
        '--interface',
        'asgi',
        '--port',
        '0',
        '--working-dir',
        str(APPS),
        '--static-path-route',
        '/files',
        '--static-path-mount',
        str(tree.public),
        '--static-path-route',
        '/js',
        '--static-path-mount',
        str(tree.assets),
        '--static-path-dir-to-file',
        'index.html',
        '--static-path-expires',
        '10',
        'static_echo:asgi_app',
    ).ready()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            response = client.get('/files/hello.txt')
            assert response.content == b'hello, static\n'
            assert response.headers['cache-control'] == 'max-age=10'
            assert client.get('/js/app.js').content == b'console.log(1)\n'
            assert client.get('/files/sub').content == b'<p>index</p>'
            assert client.get('/static/hello.txt').text == 'app GET /static/hello.txt'
    finally:
        assert server.stop() == 0


def test_env_var_mount_defaults_to_the_static_route(tree: Any) -> None:
    server = cli_server(
        '--interface',
        'rsgi',
        '--port',
        '0',
        '--working-dir',
        str(APPS),
        'static_echo:rsgi_app',
        env={'GRANIAN_STATIC_PATH_MOUNT': str(tree.public), 'GRANIAN_STATIC_PATH_EXPIRES': '0'},
    ).ready()
    try:
        response = httpx.get(f'{server.url}/static/hello.txt', timeout=10)
        assert response.content == b'hello, static\n'
        assert 'cache-control' not in response.headers
    finally:
        assert server.stop() == 0


def run_granian(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``python -m granian <args>`` to its end (it fails on its options): exit code and output."""
    result = subprocess.run(
        [sys.executable, '-m', 'granian', *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout + result.stderr


def test_routes_that_do_not_pair_with_mounts_exit_1(tree: Any) -> None:
    code, output = run_granian(
        '--interface',
        'asgi',
        '--static-path-route',
        '/a',
        '--static-path-route',
        '/b',
        '--static-path-mount',
        str(tree.public),
        'static_echo:asgi_app',
    )
    assert code == 1
    assert 'Static path routes and mounts should have the same length' in output
    assert 'one static_path_route per static_path_mount' in output
    assert 'Traceback' not in output


PAGE = b'plain page\n'


def get_page_through_cli(mount: Path, *args: str, env: dict[str, str] | None = None) -> httpx.Response:
    """Run ``granian <args>`` with a page and its gzip variant in ``mount``; GET it accepting gzip."""
    (mount / 'page.txt').write_bytes(PAGE)
    (mount / 'page.txt.gz').write_bytes(gzip.compress(PAGE))
    server = cli_server('--port', '0', '--working-dir', str(APPS), *args, env=env).ready()
    try:
        return httpx.get(f'{server.url}/static/page.txt', headers={'accept-encoding': 'gzip'}, timeout=10)
    finally:
        assert server.stop() == 0


def test_cli_flag_serves_precompressed_variants(tmp_path: Path) -> None:
    args = ('--interface', 'asgi', '--static-path-mount', str(tmp_path), '--static-path-precompressed')
    response = get_page_through_cli(tmp_path, *args, 'static_echo:asgi_app')
    assert response.headers['content-encoding'] == 'gzip'
    assert response.headers['vary'] == 'accept-encoding'
    # httpx decoded it.
    assert response.content == PAGE


@pytest.mark.parametrize(('flags', 'coding'), [((), 'gzip'), (('--no-static-path-precompressed',), None)])
def test_env_var_turns_precompressed_on_and_the_flag_wins(tmp_path: Path, flags: tuple[str, ...], coding: str) -> None:
    env = {'GRANIAN_STATIC_PATH_MOUNT': str(tmp_path), 'GRANIAN_STATIC_PATH_PRECOMPRESSED': 'true'}
    response = get_page_through_cli(tmp_path, '--interface', 'rsgi', *flags, 'static_echo:rsgi_app', env=env)
    assert response.headers.get('content-encoding') == coding
    assert response.content == PAGE


def test_a_bad_precompressed_env_value_is_one_clear_line(tree: Any) -> None:
    env = {'GRANIAN_STATIC_PATH_MOUNT': str(tree.public), 'GRANIAN_STATIC_PATH_PRECOMPRESSED': 'maybe'}
    code, output = run_granian('--interface', 'asgi', 'static_echo:asgi_app', env=env)
    assert code == 2
    assert "Invalid value for '--static-path-precompressed'" in output
    assert "'maybe' is not a valid boolean" in output
    assert 'Traceback' not in output
