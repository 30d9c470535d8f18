"""The load scenarios: one row per (scenario, interfaces, request, load tool).

Every app under benchmarks/apps serves the same paths with the same bodies, so one scenario runs
against each interface it names. ``expect`` is what a correct response body is; the harness checks
it once per server before loading it, so a broken server fails instead of posting fast errors.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['SCENARIOS', 'Scenario']

_HTTP_INTERFACES = frozenset({'asgi', 'rsgi', 'wsgi'})
_ASYNC_INTERFACES = frozenset({'asgi', 'rsgi'})
_ECHO_BODY = b'a' * 1024
# 32 bytes, like a small chat or game message.
_WS_MESSAGE = b'0123456789abcdef0123456789abcdef'


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    expect: bytes
    body: bytes = b''
    interfaces: frozenset[str] = _HTTP_INTERFACES
    # The load generator: a key of run.py's TOOLS ('wrk', 'h2load', 'ws').
    tool: str = 'wrk'
    # A Lua script under benchmarks/lua for wrk; None lets the harness write one from method/body.
    wrk_script: str | None = None
    wrk_args: tuple[str, ...] = ()
    # 'h1' (HTTP/1.1, cleartext), 'https' (HTTP/1.1 over TLS), 'h2c' (HTTP/2 with prior knowledge)
    # 'h3' (HTTP/3 over QUIC, TLS on the TCP side too) or 'ws' (WebSocket over cleartext HTTP/1.1;
    # body is the message, echoed back as expect).
    # Only servers listing the transport in ServerSpec.transports run it.
    transport: str = 'h1'
    # h2load's load shape: connections and concurrent streams per connection.
    h2load_args: tuple[str, ...] = ('-c', '16', '-m', '16')
    # The HTTP/3 client's (h3load.py): connections, and requests in flight on each.
    h3load_args: tuple[int, int] = (4, 16)

    @property
    def unit(self) -> str:
        """What the rate counts: requests, or WebSocket messages echoed."""
        return 'msg/s' if self.transport == 'ws' else 'req/s'

    @property
    def title(self) -> str:
        if self.transport == 'ws':
            return (
                f'{self.name}: WebSocket {self.path}, {len(self.body)} B binary messages echoed, '
                'one in flight per connection'
            )
        sent = f', {len(self.body)} B sent' if self.body else ''
        over = {'h1': '', 'https': ', HTTP/1.1 over TLS', 'h2c': ', HTTP/2 cleartext', 'h3': ', HTTP/3 over QUIC'}[
            self.transport
        ]
        return f'{self.name}: {self.method} {self.path} ({len(self.expect)} B response{sent}{over})'


SCENARIOS: tuple[Scenario, ...] = (
    Scenario('get-short', 'GET', '/b', expect=b'Hello, world!'),
    # WSGI rows (a thread per request) run the short GET and the echo only, to keep a run short.
    Scenario('get-10k', 'GET', '/b10k', expect=b'x' * 10240, interfaces=_ASYNC_INTERFACES),
    Scenario('post-echo-1k', 'POST', '/echo', expect=_ECHO_BODY, body=_ECHO_BODY),
    Scenario('h2c-get-short', 'GET', '/b', expect=b'Hello, world!', tool='h2load', transport='h2c'),
    Scenario('https-get-short', 'GET', '/b', expect=b'Hello, world!', transport='https'),
    # HTTP/3 (issue 13): ASGI only, the interface hypercorn serves it on; a Python client (h3load).
    Scenario(
        'h3-get-short',
        'GET',
        '/b',
        expect=b'Hello, world!',
        interfaces=frozenset({'asgi'}),
        tool='h3',
        transport='h3',
    ),
    Scenario(
        'ws-echo',
        'GET',
        '/ws',
        expect=_WS_MESSAGE,
        body=_WS_MESSAGE,
        interfaces=_ASYNC_INTERFACES,
        tool='ws',
        transport='ws',
    ),
)
