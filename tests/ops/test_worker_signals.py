"""A worker stopped the instant it is forked stops: the SIGTERM that a shutdown right after a respawn
sends is not lost to the supervisor's signal handlers, which the child runs with until it sets up
its own (seen as a server that never stopped, its last worker serving on)."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator

import pytest

from granian_server.constants import Interfaces
from granian_server.listening import Listeners
from granian_server.serving import ServeConfig
from granian_server.supervisor import WorkerProcess, mp_context
from granian_server.worker import WorkerSpec
from ops.opskit import APPS

ROUNDS = 5


@pytest.fixture
def supervisor_handlers() -> Iterator[list[int]]:
    """Signal handlers as the supervisor installs them: they only note the signal."""
    noted: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _: noted.append(signum)) for sig in (signal.SIGTERM,)}
    yield noted
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def test_a_worker_terminated_right_after_the_fork_stops(supervisor_handlers: list[int]) -> None:
    listener = socket.create_server(('127.0.0.1', 0))
    spec = WorkerSpec(target='ops_app:app', serve=ServeConfig(interface=Interfaces.ASGI), working_dir=str(APPS))
    try:
        for _ in range(ROUNDS):
            worker = WorkerProcess(1, spec, Listeners(shared=[listener]), mp_context())
            worker.start()
            worker.terminate()  # at once: the child is still in multiprocessing's bootstrap
            worker.proc.join(15)
            alive = worker.proc.is_alive()
            if alive:
                worker.proc.kill()
                worker.proc.join()
            assert not alive, 'the worker missed the SIGTERM sent as it was forked, and served on'
        assert supervisor_handlers == []  # the children's signals never reached the parent
    finally:
        listener.close()
