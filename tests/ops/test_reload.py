"""Reloader mode: edited files respawn the workers; ignores, failures, and the missing extra."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from granian import Granian
from granian.errors import ConfigurationError
from ops.opskit import wait_until
from testkit.process import ServerProcess, api_server

APP = """
VERSION = {version!r}


async def app(scope, receive, send):
    if scope['type'] != 'http':
        return
    await send({{'type': 'http.response.start', 'status': 200, 'headers': []}})
    await send({{'type': 'http.response.body', 'body': VERSION.encode()}})
"""


def _write_app(path: Path, version: str) -> None:
    path.write_text(APP.format(version=version))


def _reloading_server(tmp_path: Path, **options: object) -> ServerProcess:
    _write_app(tmp_path / 'reload_app.py', 'one')
    server = api_server(
        'reload_app:app',
        interface='asginl',
        working_dir=str(tmp_path),
        reload=True,
        reload_paths=[tmp_path],
        cwd=tmp_path,
        **options,
    ).ready()
    server.wait_for(f'Watching for changes in: {tmp_path}')
    return server


def _started(server: ServerProcess) -> int:
    return server.output.count('Started worker-1')


def test_an_edited_file_is_served_after_the_reload(tmp_path: Path) -> None:
    server = _reloading_server(tmp_path)
    try:
        assert httpx.get(server.url).text == 'one'
        _write_app(tmp_path / 'reload_app.py', 'two')
        server.wait_for('Changes detected, reloading workers..')
        server.wait_for(rf'modified: {tmp_path / "reload_app.py"}')
        wait_until(lambda: _started(server) == 2, what='the new worker')
        assert httpx.get(server.url).text == 'two'
    finally:
        assert server.stop() == 0


def test_ignored_dirs_patterns_and_paths_do_not_reload(tmp_path: Path) -> None:
    (tmp_path / 'skipped_dir').mkdir()
    (tmp_path / 'kept').mkdir()
    server = _reloading_server(
        tmp_path,
        reload_ignore_dirs=['skipped_dir'],
        reload_ignore_patterns=[r'\.txt$'],
        reload_ignore_paths=[tmp_path / 'kept' / 'secret.py'],
    )
    try:
        # All four in one debounced batch: only the one not ignored is reported.
        (tmp_path / 'skipped_dir' / 'mod.py').write_text('x = 1\n')
        (tmp_path / 'notes.txt').write_text('hello\n')
        (tmp_path / 'kept' / 'secret.py').write_text('x = 1\n')
        (tmp_path / 'kept' / 'watched.py').write_text('x = 1\n')
        server.wait_for('Changes detected, reloading workers..')
        wait_until(lambda: _started(server) == 2, what='the new worker')
        reported = {line.split(': ', 1)[1] for line in server.lines if str(tmp_path) in line and 'Watching' not in line}
        assert reported == {str(tmp_path / 'kept' / 'watched.py')}
    finally:
        assert server.stop() == 0


def test_a_broken_edit_keeps_serving_after_the_fix_with_ignore_worker_failure(tmp_path: Path) -> None:
    server = _reloading_server(tmp_path, reload_ignore_worker_failure=True)
    try:
        (tmp_path / 'reload_app.py').write_text('this is not python\n')
        server.wait_for('Unexpected exit from worker-1')
        assert server.proc.poll() is None
        _write_app(tmp_path / 'reload_app.py', 'fixed')
        wait_until(lambda: _started(server) == 2, what='the fixed worker')
        assert httpx.get(server.url).text == 'fixed'
    finally:
        assert server.stop() == 0


def test_a_broken_edit_stops_the_server_without_ignore_worker_failure(tmp_path: Path) -> None:
    server = _reloading_server(tmp_path)
    (tmp_path / 'reload_app.py').write_text('this is not python\n')
    assert server.proc.wait(30) == 1
    server.stop()
    assert 'Unexpected exit from worker-1' in server.output


def test_lifetime_rss_and_metrics_are_ignored_with_reload(capsys: pytest.CaptureFixture[str]) -> None:
    server = Granian(
        'app:app', interface='asgi', reload=True, workers_lifetime=3600, workers_max_rss=100, metrics_enabled=True
    )
    server._check_serve()
    out = capsys.readouterr().out
    assert 'Workers lifetime is not available in combination with reload, ignoring' in out
    assert 'Workers max RSS is not available in combination with reload, ignoring' in out
    assert 'Metrics are not available in combination with reload, ignoring' in out
    assert server.workers_lifetime is None and server.workers_max_rss is None and not server.metrics_enabled


def test_reload_without_watchfiles_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, 'watchfiles', None)
    server = Granian('app:app', interface='asgi', reload=True)
    with pytest.raises(ConfigurationError, match=r'^reload: .*`pip install granian\[reload\]`'):
        server._check_serve()
