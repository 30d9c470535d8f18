"""The WSGI building blocks on their own: the input stream, the thread pool, the environ."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from granian_http.exchange import Exchange
from granian_server.interfaces.wsgi_environ import base_environ, build_environ
from granian_server.interfaces.wsgi_file import FileWrapper
from granian_server.interfaces.wsgi_input import WSGIInput
from granian_server.interfaces.wsgi_pool import BlockingPool

# -- wsgi.input ------------------------------------------------------------------------------------


def chunked_input(*chunks: bytes) -> tuple[WSGIInput, list[int]]:
    """A stream fed ``chunks`` one fetch at a time; the list counts the fetches."""
    pending = list(chunks)
    fetches = [0]

    def fetch() -> bytes:
        fetches[0] += 1
        return pending.pop(0) if pending else b''

    return WSGIInput(fetch), fetches


def test_input_read_size_pulls_only_what_it_needs() -> None:
    stream, fetches = chunked_input(b'abc', b'defg', b'h')
    assert stream.read(2) == b'ab'
    assert fetches == [1]
    assert stream.read(3) == b'cde'
    assert fetches == [2]
    assert stream.read(10) == b'fgh'
    assert stream.read(10) == b''
    assert stream.read() == b''


def test_input_read_all_and_zero() -> None:
    stream, _ = chunked_input(b'ab', b'cd', b'ef')
    assert stream.read(0) == b''
    assert stream.read(1) == b'a'
    assert stream.read() == b'bcdef'
    assert stream.read(None) == b''


def test_input_readline_across_chunks() -> None:
    stream, _ = chunked_input(b'ab', b'c\nd', b'e\n', b'\nf')
    assert stream.readline() == b'abc\n'
    assert stream.readline() == b'de\n'
    assert stream.readline() == b'\n'
    assert stream.readline() == b'f'
    assert stream.readline() == b''


def test_input_readline_size() -> None:
    stream, _ = chunked_input(b'abcdef\n', b'gh\n')
    assert stream.readline(4) == b'abcd'
    assert stream.readline(4) == b'ef\n'
    assert stream.readline(0) == b''
    assert stream.readline(-1) == b'gh\n'


def test_input_readlines_and_iteration() -> None:
    stream, _ = chunked_input(b'a\nb', b'\nc')
    assert stream.readlines() == [b'a\n', b'b\n', b'c']
    stream, _ = chunked_input(b'a\nbb\n', b'ccc\n')
    assert stream.readlines(3) == [b'a\n', b'bb\n']
    assert list(stream) == [b'ccc\n']


def test_input_complete_body_needs_no_fetch() -> None:
    stream = WSGIInput(None, b'line\nrest')
    assert stream.readline() == b'line\n'
    assert stream.read() == b'rest'
    assert stream.read(5) == b''


def test_input_stops_fetching_at_end() -> None:
    stream, fetches = chunked_input(b'x')
    assert stream.read() == b'x'
    assert stream.read() == b''
    assert stream.readline() == b''
    assert fetches == [2]


# -- the blocking pool -----------------------------------------------------------------------------


@pytest.fixture
def pool() -> Iterator[BlockingPool]:
    pool = BlockingPool(3, idle_timeout=0.3, name='test-pool')
    yield pool
    pool.shutdown(wait=5)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.01)


def test_pool_starts_threads_on_demand_up_to_its_size(pool: BlockingPool) -> None:
    assert pool.size == 0
    release = threading.Event()
    lock = threading.Lock()
    running: list[str] = []
    done: list[int] = []

    def job(index: int) -> None:
        with lock:
            running.append(threading.current_thread().name)
        release.wait(10)
        with lock:
            done.append(index)

    for index in range(5):
        pool.submit(lambda index=index: job(index))  # type: ignore[misc]
    wait_for(lambda: len(running) == 3)
    # Three threads at most: the other two jobs wait for one to come free.
    assert pool.size == 3
    assert pool.queued == 2
    assert all(name.startswith('test-pool-') for name in running)
    time.sleep(0.05)
    release.set()
    wait_for(lambda: len(done) == 5)
    assert pool.size == 3
    assert pool.queued == 0
    # The metrics exporter reads these: three threads were busy at least the 50 ms above.
    wait_for(lambda: pool.busy_us >= 3 * 50_000)
    assert pool.idle_us >= 0


def test_pool_reuses_an_idle_thread(pool: BlockingPool) -> None:
    names: list[str] = []
    for _ in range(5):
        finished = threading.Event()

        def job(finished: threading.Event = finished) -> None:
            names.append(threading.current_thread().name)
            finished.set()

        pool.submit(job)
        assert finished.wait(10)
        # The thread counts itself idle just after the job; wait for that so the next job is
        # certain to find it.
        wait_for(lambda: pool._spare == 1)
    assert len(set(names)) == 1
    assert pool.size == 1


def test_pool_threads_end_when_idle(pool: BlockingPool) -> None:
    barrier = threading.Barrier(3, timeout=10)
    for _ in range(3):
        pool.submit(barrier.wait)
    wait_for(lambda: barrier.n_waiting == 0 and pool.size == 3)
    # Idle longer than the timeout: every thread ends.
    wait_for(lambda: pool.size == 0)
    finished = threading.Event()
    pool.submit(finished.set)
    assert finished.wait(10)
    assert pool.size == 1


def test_pool_survives_a_failing_job(pool: BlockingPool) -> None:
    def fail() -> None:
        raise RuntimeError('job failed')

    pool.submit(fail)
    finished = threading.Event()
    pool.submit(finished.set)
    assert finished.wait(10)


def test_pool_shutdown_runs_queued_jobs_then_ends_threads() -> None:
    pool = BlockingPool(1, idle_timeout=30)
    results: list[int] = []
    for index in range(3):
        pool.submit(lambda index=index: results.append(index))  # type: ignore[misc]
    pool.shutdown(wait=10)
    assert results == [0, 1, 2]
    assert pool.size == 0


# -- environ ---------------------------------------------------------------------------------------


def head_only(**head: Any) -> Exchange:
    """What ``build_environ`` reads of an exchange: the request head, nothing else."""
    defaults: dict[str, Any] = {
        'method': 'GET',
        'raw_path': b'/',
        'query_string': b'',
        'headers': [],
        'http_version': '1.1',
        'scheme': 'http',
        'client': ('10.0.0.2', 5555),
        'server': ('10.0.0.1', 8000),
        'authority': None,
    }
    return cast(Exchange, SimpleNamespace(**{**defaults, **head}))


def environ_for(script_name: str = '', **head: Any) -> dict[str, Any]:
    return build_environ(base_environ(script_name, FileWrapper), script_name, head_only(**head), None)


def test_environ_http2_host_from_authority() -> None:
    environ = environ_for(http_version='2', authority='example.test:8443', scheme='https')
    assert environ['HTTP_HOST'] == 'example.test:8443'
    assert environ['SERVER_PROTOCOL'] == 'HTTP/2'
    assert environ['wsgi.url_scheme'] == 'https'
    # A host header wins over the authority.
    environ = environ_for(authority='a.test', headers=[(b'host', b'b.test')])
    assert environ['HTTP_HOST'] == 'b.test'


def test_environ_headers() -> None:
    environ = environ_for(
        headers=[
            (b'x-multi', b'1'),
            (b'cookie', b'a=1'),
            (b'x-multi', b'2'),
            (b'cookie', b'b=2'),
            (b'content-type', b'text/plain'),
            (b'x-latin', 'caf\u00e9'.encode('latin-1')),
        ]
    )
    assert environ['HTTP_X_MULTI'] == '1,2'
    assert environ['HTTP_COOKIE'] == 'a=1; b=2'
    assert environ['CONTENT_TYPE'] == 'text/plain'
    assert environ['HTTP_X_LATIN'] == 'caf\u00e9'


def test_environ_script_name() -> None:
    environ = environ_for('/app', raw_path=b'/app/users/1')
    assert (environ['SCRIPT_NAME'], environ['PATH_INFO']) == ('/app', '/users/1')
    environ = environ_for('/app', raw_path=b'/app')
    assert (environ['SCRIPT_NAME'], environ['PATH_INFO']) == ('/app', '/')
    # Not under the prefix: left whole (upstream would cut 4 characters of it).
    environ = environ_for('/app', raw_path=b'/application')
    assert environ['PATH_INFO'] == '/application'


def test_environ_unix_socket() -> None:
    environ = environ_for(client=None, server=('/tmp/app.sock', 0))
    assert environ['REMOTE_ADDR'] == ''
    assert 'REMOTE_PORT' not in environ
    assert environ['SERVER_NAME'] == '/tmp/app.sock'
    assert environ['SERVER_PORT'] == '0'


def test_environ_request_keys_win_over_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('REQUEST_METHOD', 'NOPE')
    monkeypatch.setenv('SOME_OS_VARIABLE', 'kept')
    environ = environ_for(method='POST')
    assert environ['REQUEST_METHOD'] == 'POST'
    assert environ['SOME_OS_VARIABLE'] == os.environ['SOME_OS_VARIABLE']
