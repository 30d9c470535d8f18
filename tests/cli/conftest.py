"""Fixtures for the ``granian`` command tests.

``recorded_servers`` swaps the ``Server`` class for one that only records what the command built,
at the very place the command looks it up (``granian_server.server.Server``), so option parsing
can be checked without starting workers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from click.testing import CliRunner, Result

import granian_server.server
from granian_cli import cli


class RecordingServer:
    """Stands in for ``Server``: keeps the target and keywords, serves nothing."""

    built: list[RecordingServer] = []

    def __init__(self, target: str, **kwargs: Any) -> None:
        self.target = target
        self.kwargs = kwargs
        self.served = False
        self.built.append(self)

    def serve(self) -> None:
        self.served = True


@pytest.fixture
def recorded_servers(monkeypatch: pytest.MonkeyPatch) -> list[RecordingServer]:
    built: list[RecordingServer] = []
    monkeypatch.setattr(RecordingServer, 'built', built)
    monkeypatch.setattr(granian_server.server, 'Server', RecordingServer)
    # The command puts the working directory first on sys.path; keep that out of the test process.
    monkeypatch.setattr(sys, 'path', list(sys.path))
    return built


Invoke = Callable[..., Result]


@pytest.fixture
def invoke() -> Invoke:
    """Run the command as ``granian`` runs it: options also read from ``GRANIAN_*`` env vars."""

    def run(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
        # Only the variables a test sets: unset any GRANIAN_* the outer environment carries.
        isolated: dict[str, str | None] = {name: None for name in os.environ if name.startswith('GRANIAN_')}
        isolated.update(env or {})
        return CliRunner().invoke(
            cli,
            list(args),
            env=isolated,
            prog_name='granian',
            auto_envvar_prefix='GRANIAN',
            terminal_width=400,
            max_content_width=400,
        )

    return run


@pytest.fixture
def serve_kwargs(invoke: Invoke, recorded_servers: list[RecordingServer]) -> Callable[..., dict[str, Any]]:
    """Invoke with the given args (and env) and return the keywords the command passed to Server."""

    def run(args: Sequence[str] = (), env: dict[str, str] | None = None) -> dict[str, Any]:
        result = invoke([*args, 'examples.hello:app'], env=env)
        assert result.exit_code == 0, result.output
        (server,) = recorded_servers
        assert server.target == 'examples.hello:app'
        assert server.served
        recorded_servers.clear()
        return server.kwargs

    return run
