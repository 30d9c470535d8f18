"""The static_path_* options: upstream's pairing rule and its log line, the /static default, the
values a worker receives, and the embedded server serving a mount."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from granian import Granian
from granian.errors import ConfigurationError
from granian.server.embed import Server as EmbeddedServer
from granian_server.static import pair_mounts


def test_no_mount_means_no_static_files() -> None:
    server = Granian('app:app', interface='asgi')
    assert server.static_path_mounts == ()
    assert server._serve_config().static_path_mounts == ()


def test_one_mount_without_route_is_served_at_static(tmp_path: Path) -> None:
    server = Granian('app:app', interface='asgi', static_path_mount=[tmp_path])
    config = server._serve_config()
    assert config.static_path_mounts == (('/static', os.path.realpath(tmp_path)),)
    assert config.static_path_expires == 86400
    assert config.static_path_dir_to_file is None
    assert config.static_path_precompressed is False


def test_routes_and_mounts_pair_in_order(tmp_path: Path) -> None:
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    server = Granian(
        'app:app',
        interface='asgi',
        static_path_route=['/a', '/b'],
        static_path_mount=[tmp_path / 'a', tmp_path / 'b'],
        static_path_dir_to_file='index.html',
        static_path_expires=0,
    )
    config = server._serve_config()
    assert config.static_path_mounts == (
        ('/a', os.path.realpath(tmp_path / 'a')),
        ('/b', os.path.realpath(tmp_path / 'b')),
    )
    assert config.static_path_dir_to_file == 'index.html'
    assert config.static_path_expires == 0


def test_mounts_are_resolved_to_real_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / 'real').mkdir()
    (tmp_path / 'alias').symlink_to(tmp_path / 'real')
    monkeypatch.chdir(tmp_path)
    assert pair_mounts([], ['alias']) == (('/static', os.path.realpath(tmp_path / 'real')),)


@pytest.mark.parametrize(
    ('routes', 'mounts'),
    [
        (['/a', '/b'], ['x']),
        ([], ['x', 'y']),
        (['/a'], []),
        (['/a'], ['x', 'y']),
    ],
)
def test_routes_and_mounts_that_do_not_pair_up(
    routes: list[str], mounts: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Granian('app:app', interface='asgi', static_path_route=routes, static_path_mount=[Path(m) for m in mounts])
    message = str(raised.value)
    assert message.startswith('static_path: ')
    assert 'static_path_route' in message
    assert 'static_path_mount' in message
    assert 'one static_path_route per static_path_mount' in message
    # Upstream's log line comes first (the _granian logger writes to stdout).
    assert '[ERROR] Static path routes and mounts should have the same length' in capsys.readouterr().out


@pytest.mark.parametrize(('route', 'normalised'), [('/static', '/static'), ('static/', '/static'), ('/', '/')])
def test_routes_are_normalised(tmp_path: Path, route: str, normalised: str) -> None:
    assert pair_mounts([route], [tmp_path])[0][0] == normalised


def test_negative_expires_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r'^static_path_expires: '):
        Granian('app:app', interface='asgi', static_path_mount=[tmp_path], static_path_expires=-1)


def test_a_mount_that_is_not_a_directory_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Granian('app:app', interface='asgi', static_path_mount=[tmp_path / 'missing'])
    assert 'is not a directory: it will answer 404' in capsys.readouterr().out


def test_dir_to_file_without_mount_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    Granian('app:app', interface='asgi', static_path_dir_to_file='index.html')
    assert 'static_path_dir_to_file has no effect without static_path_mount' in capsys.readouterr().out


def test_precompressed_reaches_the_worker(tmp_path: Path) -> None:
    server = Granian('app:app', interface='asgi', static_path_mount=[tmp_path], static_path_precompressed=True)
    assert server._serve_config().static_path_precompressed is True


@pytest.mark.parametrize('value', ['false', 'yes', 1, None])
def test_precompressed_must_be_a_bool(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigurationError, match=r'^static_path_precompressed: must be True or False, not '):
        Granian('app:app', interface='asgi', static_path_mount=[tmp_path], static_path_precompressed=value)


def test_precompressed_without_mount_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    Granian('app:app', interface='asgi', static_path_precompressed=True)
    assert 'static_path_precompressed has no effect without static_path_mount' in capsys.readouterr().out


async def embedded_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] == 'lifespan':
        return
    await send({'type': 'http.response.start', 'status': 200, 'headers': []})
    await send({'type': 'http.response.body', 'body': b'embedded app'})


def test_the_embedded_server_serves_static_files(tmp_path: Path) -> None:
    (tmp_path / 'hello.txt').write_bytes(b'hello')
    (tmp_path / 'hello.txt.gz').write_bytes(gzip.compress(b'hello'))

    async def main() -> None:
        server = EmbeddedServer(
            embedded_app,
            port=0,
            interface='asginl',
            static_path_route=['/files'],
            static_path_mount=[tmp_path],
            static_path_precompressed=True,
        )
        task = asyncio.create_task(server.serve())
        try:
            for _ in range(500):
                if server.bind_port:
                    break
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=f'http://127.0.0.1:{server.port}', timeout=10) as client:
                for _ in range(100):
                    try:
                        response = await client.get('/files/hello.txt')
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.02)
                assert response.content == b'hello'
                assert response.headers['cache-control'] == 'max-age=86400'
                # httpx asked for gzip and decoded it.
                assert response.headers['content-encoding'] == 'gzip'
                assert (await client.get('/files/missing')).status_code == 404
                assert (await client.get('/other')).content == b'embedded app'
        finally:
            server.stop()
            await asyncio.wait_for(task, 10)

    asyncio.run(main())
