"""Large bodies stay out of the worker's memory; a slow client slows the app; a client that leaves
gets the app's ``close()`` called.

Memory is read from ``/proc/<worker pid>/status`` (the worker is the server process's child): the
peak (``VmHWM``, reset through ``clear_refs`` before each transfer) may exceed the resident size
before the transfer by less than 20 MiB while 50 MiB go through.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

WSGIServer = Any  # conftest.WSGIServer; test modules cannot import conftest

MIB = 1024 * 1024
SIZE = 50 * MIB
BUDGET_KIB = 20 * 1024


@pytest.fixture(scope='module')
def server(start_server: Callable[..., WSGIServer]) -> WSGIServer:
    return start_server('basic:app')


@pytest.fixture(scope='module')
def worker_pid(server: WSGIServer) -> int:
    pid = server.proc.pid
    children = Path(f'/proc/{pid}/task/{pid}/children').read_text().split()
    assert children == [str(server.worker_pid)]
    return int(children[0])


@pytest.fixture(scope='module')
def client(server: WSGIServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def memory_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        key, _, rest = line.partition(':')
        if key in ('VmRSS', 'VmHWM'):
            values[key] = int(rest.split()[0])
    return values


class MemoryWatch:
    """Measures how far the worker's peak RSS rises above its RSS at the start."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        Path(f'/proc/{pid}/clear_refs').write_text('5')  # reset VmHWM to the current RSS
        self.before = memory_kib(pid)['VmRSS']

    @property
    def growth_kib(self) -> int:
        return memory_kib(self.pid)['VmHWM'] - self.before


def payload_chunks() -> Iterator[bytes]:
    block = os.urandom(MIB)
    for index in range(SIZE // MIB):
        yield bytes([index]) + block[1:]


def warm_up(client: httpx.Client) -> None:
    # The first requests allocate what every request reuses (threads, buffers, code paths).
    for _ in range(3):
        assert client.post('/hash', content=iter([b'w' * 300_000] * 4)).status_code == 200
        with client.stream('GET', '/stream', params={'size': 4 * MIB, 'tag': 'warm'}) as response:
            for _ in response.iter_raw():
                pass


def test_upload_50mib_streams_through_bounded_memory(client: httpx.Client, worker_pid: int) -> None:
    warm_up(client)
    watch = MemoryWatch(worker_pid)
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for chunk in payload_chunks():
            digest.update(chunk)
            yield chunk

    response = client.post('/hash', content=body(), headers={'content-length': str(SIZE)})
    assert response.status_code == 200
    assert response.json() == {'size': SIZE, 'sha256': digest.hexdigest()}
    assert watch.growth_kib < BUDGET_KIB, f'worker RSS grew by {watch.growth_kib} KiB'


def test_download_50mib_generator_through_bounded_memory(client: httpx.Client, worker_pid: int) -> None:
    warm_up(client)
    watch = MemoryWatch(worker_pid)
    received = 0
    with client.stream('GET', '/stream', params={'size': SIZE, 'tag': 'download'}) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += len(chunk)
    assert received >= SIZE  # chunked framing adds a little
    assert watch.growth_kib < BUDGET_KIB, f'worker RSS grew by {watch.growth_kib} KiB'


def test_download_50mib_file_wrapper_through_bounded_memory(
    client: httpx.Client, worker_pid: int, tmp_path: Path
) -> None:
    path = tmp_path / 'big.bin'
    expected = hashlib.sha256()
    with path.open('wb') as handle:
        for chunk in payload_chunks():
            expected.update(chunk)
            handle.write(chunk)
    warm_up(client)
    assert client.get('/file', params={'path': str(path), 'length': 1000}).status_code == 200
    watch = MemoryWatch(worker_pid)
    digest = hashlib.sha256()
    with client.stream('GET', '/file', params={'path': str(path)}) as response:
        assert response.headers['content-length'] == str(SIZE)
        for chunk in response.iter_raw():
            digest.update(chunk)
    assert digest.hexdigest() == expected.hexdigest()
    assert watch.growth_kib < BUDGET_KIB, f'worker RSS grew by {watch.growth_kib} KiB'


def produced(client: httpx.Client, tag: str) -> int:
    return int(client.get('/progress', params={'tag': tag}).json()['produced'])


def stalled_at(client: httpx.Client, tag: str) -> int:
    """The app's progress if it did not move between two looks 0.2 s apart, else 0."""
    first = produced(client, tag)
    time.sleep(0.2)
    return first if produced(client, tag) == first else 0


def test_slow_client_slows_the_app(client: httpx.Client, server: WSGIServer, wait_until: Callable[..., Any]) -> None:
    total = 1024 * MIB
    with socket.create_connection(server.address, timeout=20) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f'GET /stream?size={total}&tag=slow HTTP/1.1\r\nHost: x\r\n\r\n'.encode())
        received = 0
        while received < MIB:
            received += len(sock.recv(65536))
        # The client stops reading. The app may fill the socket buffers and our bounded buffer,
        # then it must wait: what it produced stays a small distance ahead of what was read.
        wait_until(lambda: produced(client, 'slow') > 0)
        stalled = wait_until(lambda: stalled_at(client, 'slow'), message='the app to stall')
        assert stalled - received < 32 * MIB, f'app produced {stalled} bytes while the client read {received}'
        # Reading again lets the app go on.
        while received < stalled + 4 * MIB:
            received += len(sock.recv(65536))
        wait_until(lambda: produced(client, 'slow') > stalled, message='the app to resume')
    # The client left mid-body: the app's iterable is closed.
    closed = wait_until(lambda: (server.shared / 'closed-slow').exists(), message='close() after the disconnect')
    assert closed
    assert int((server.shared / 'closed-slow').read_text()) < total


def test_disconnect_while_app_is_producing_calls_close(
    client: httpx.Client, server: WSGIServer, wait_until: Callable[..., Any]
) -> None:
    with socket.create_connection(server.address, timeout=20) as sock:
        sock.sendall(b'GET /stream?size=1000000000&chunk=100&pause=0.01&tag=drip HTTP/1.1\r\nHost: x\r\n\r\n')
        assert sock.recv(65536).startswith(b'HTTP/1.1 200 ')
        wait_until(lambda: produced(client, 'drip') > 1000)
    wait_until(lambda: (server.shared / 'closed-drip').exists(), message='close() after the disconnect')
