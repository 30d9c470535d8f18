"""Static files through the ``granian`` command and its GRANIAN_* environment variables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

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


def test_routes_that_do_not_pair_with_mounts_exit_1(tree: Any) -> None:
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'granian',
            '--interface',
            'asgi',
            '--static-path-route',
            '/a',
            '--static-path-route',
            '/b',
            '--static-path-mount',
            str(tree.public),
            'static_echo:asgi_app',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert 'Static path routes and mounts should have the same length' in output
    assert 'one static_path_route per static_path_mount' in output
    assert 'Traceback' not in output
