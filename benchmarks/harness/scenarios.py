"""The load scenarios: one row per (scenario, interfaces, request, load tool).

Every app under benchmarks/apps serves the same paths with the same bodies, so one scenario runs
against each interface it names. ``expect`` is what a correct response body is; the harness checks
it once per server before loading it, so a broken server fails instead of posting fast errors.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['SCENARIOS', 'Scenario']

_HTTP_INTERFACES = frozenset({'asgi', 'rsgi', 'wsgi'})
_ECHO_BODY = b'a' * 1024


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    expect: bytes
    body: bytes = b''
    interfaces: frozenset[str] = _HTTP_INTERFACES
    # The load generator: a key of run.py's TOOLS (wrk today; h2load or a WebSocket client later).
    tool: str = 'wrk'
    # A Lua script under benchmarks/lua for wrk; None lets the harness write one from method/body.
    wrk_script: str | None = None
    wrk_args: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        sent = f', {len(self.body)} B sent' if self.body else ''
        return f'{self.name}: {self.method} {self.path} ({len(self.expect)} B response{sent})'


SCENARIOS: tuple[Scenario, ...] = (
    Scenario('get-short', 'GET', '/b', expect=b'Hello, world!'),
    Scenario('get-10k', 'GET', '/b10k', expect=b'x' * 10240),
    Scenario('post-echo-1k', 'POST', '/echo', expect=_ECHO_BODY, body=_ECHO_BODY),
)
