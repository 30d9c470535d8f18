"""``__rsgi__``, ``__rsgi_init__`` and ``__rsgi_del__`` on a class-based app, with two workers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from testkit.process import api_server

APPS = Path(__file__).parent / 'apps'


def _markers(folder: Path, kind: str) -> dict[int, dict[str, object]]:
    return {int(path.stem.split('-')[1]): json.loads(path.read_text()) for path in folder.glob(f'{kind}-*.json')}


def test_hooks_run_once_per_worker_around_serving(tmp_path: Path) -> None:
    proc = api_server(
        'rsgi_hooks:app',
        interface='rsgi',
        working_dir=str(APPS),
        workers=2,
        env={'RSGI_MARKERS': str(tmp_path)},
    ).ready()
    try:
        proc.wait_for(r'Started worker-2')
        proc.wait_for(r'Started worker-1')
        worker_pids = set(proc.worker_pids())
        assert len(worker_pids) == 2
        # Before any request, each worker has run its init hook, on a loop that was not running.
        assert set(_markers(tmp_path, 'init')) == worker_pids
        assert all(marker == {'running': False, 'calls': 1} for marker in _markers(tmp_path, 'init').values())
        assert not _markers(tmp_path, 'del')
        with httpx.Client(base_url=proc.url, timeout=10) as client:
            for _ in range(4):
                body = client.get('/').json()
                # __rsgi__ wins over __call__, and it sees what the init hook prepared on its loop.
                assert body['via'] == '__rsgi__'
                assert body['resource'] == 'resource-ready'
                assert body['init_calls'] == 1
                assert body['same_loop'] is True
                assert body['pid'] in worker_pids
    finally:
        code = proc.stop()
    assert code == 0, proc.output
    deleted = _markers(tmp_path, 'del')
    assert set(deleted) == worker_pids
    assert all(
        marker == {'running': False, 'same_loop': True, 'ran_coroutine': 'resource-ready'}
        for marker in deleted.values()
    )
