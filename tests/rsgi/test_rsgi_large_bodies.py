"""50 MiB up and 50 MiB down through one RSGI worker, which must not buffer either body whole.

The worker's peak resident memory (``VmHWM``) is compared with its resident memory before the
transfers: streaming keeps the growth to a few buffers, while buffering a body would add 50 MiB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx

from testkit.process import api_server

APPS = Path(__file__).parent / 'apps'
SIZE = 50 * 1024 * 1024
CHUNK = 1024 * 1024
MAX_GROWTH_KIB = 30 * 1024


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith(f'{field}:'):
            return int(line.split()[1])
    raise AssertionError(f'no {field} in /proc/{pid}/status')


def _upload(size: int = SIZE) -> Iterator[bytes]:
    block = bytes(range(256)) * (CHUNK // 256)
    for _ in range(size // CHUNK):
        yield block


def test_large_bodies_are_streamed_both_ways() -> None:
    proc = api_server('rsgi_inspector:app', interface='rsgi', working_dir=str(APPS)).ready()
    try:
        [worker] = proc.worker_pids()
        with httpx.Client(base_url=proc.url, timeout=60) as client:
            # Warm up both paths, so that what is measured is the transfer and not first-use costs.
            client.post('/digest', content=_upload(4 * CHUNK)).raise_for_status()
            with client.stream('GET', '/generate', params={'size': 4 * CHUNK}) as response:
                for _ in response.iter_raw():
                    pass
            before = _memory_kib(worker, 'VmRSS')

            expected = hashlib.sha256()
            for block in _upload():
                expected.update(block)
            result = client.post('/digest', content=_upload()).json()
            assert result == {'size': SIZE, 'sha256': expected.hexdigest()}

            received = 0
            digest = hashlib.sha256()
            with client.stream('GET', '/generate', params={'size': SIZE}) as response:
                assert response.status_code == 200
                for chunk in response.iter_raw():
                    received += len(chunk)
                    digest.update(chunk)
            assert received == SIZE
            assert digest.hexdigest() == expected.hexdigest()

            peak = _memory_kib(worker, 'VmHWM')
        assert peak - before < MAX_GROWTH_KIB, f'worker RSS grew by {(peak - before) // 1024} MiB'
    finally:
        code = proc.stop()
    assert code == 0, proc.output
