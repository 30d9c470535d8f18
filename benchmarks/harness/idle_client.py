"""Hold N idle connections to one server for the memory benchmark (``benchmarks/memory.py``).

    python -m harness.idle_client --host 127.0.0.1 --port 8000 --kind keepalive --path /b \\
        --payload 'Hello, world!' --connections 10000

Run from ``benchmarks/``, pinned by the harness to the load generator's core, in a process of its
own so its sockets and memory are not the harness's. Every connection first completes one
exchange, so the server holds it in the state being measured:

- ``keepalive``: one ``GET <path>`` over HTTP/1.1, answered 200 with exactly ``<payload>`` as the
  body and no ``Connection: close``: the connection then sits idle in keep-alive;
- ``ws``: the upgrade handshake on ``<path>`` (101 with the right ``Sec-WebSocket-Accept``) and
  ``<payload>`` as one binary message echoed back unchanged: an idle open WebSocket. Pings from
  the server are answered, as any client would, so a server's keepalive ping does not close it.

It talks to the harness in JSON lines: once every connection is open (or has failed) it prints
``{"opened": n, "failed": k, "seconds": s, "errors": [...]}``; on the line ``check`` it reports how
many connections are still open at that moment (none closed by the server, no EOF) and then runs
one more exchange on each, ``{"open": n, "answered": m, "errors": [...]}``, proving the server still
serves them; on ``close`` or end of input it closes everything and exits.

Stdlib only, stdlib asyncio loop: it uses a few KiB per connection of its own, which do not count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterable

from . import wsframes

# Connections being opened at once: enough to open thousands in seconds, few enough to stay within
# any listen backlog the servers use, so no SYN is dropped and retried a second later.
_OPENING_AT_ONCE = 128
# One exchange on a local server takes milliseconds; this only stops a hung one from hanging the run.
_EXCHANGE_TIMEOUT = 30.0
# Error texts kept for the report: the first few tell the story.
_ERRORS_KEPT = 5


class _Connection(asyncio.Protocol):
    """One client connection: one exchange at a time, answers pings, notices any close at once."""

    def __init__(self, kind: str, host: str, port: int, path: str, payload: bytes) -> None:
        self.kind, self.host, self.port, self.path, self.payload = kind, host, port, path, payload
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.closed = False
        self.accept = b''
        self.waiter: asyncio.Future[None] | None = None
        self.problem: str | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            self._parse()
        except (ConnectionError, ValueError) as exc:
            self._fail(str(exc))
            if self.transport is not None:
                self.transport.abort()

    def eof_received(self) -> bool:
        self._fail('the server closed the connection')
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f'connection lost: {exc!r}' if exc else 'the server closed the connection')

    # exchanges
    async def exchange(self) -> None:
        """One request (WebSocket: message) and its complete, checked answer; the handshake first."""
        if self.kind == 'keepalive':
            await self._round_trip(f'GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n'.encode())
            return
        if not self.upgraded:
            request, self.accept = wsframes.handshake(self.host, self.port, self.path)
            await self._round_trip(request)
        await self._round_trip(wsframes.client_frame(wsframes.BINARY, self.payload))

    async def _round_trip(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise ConnectionError(self.problem or 'not connected')
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        try:
            await asyncio.wait_for(self.waiter, _EXCHANGE_TIMEOUT)
        finally:
            self.waiter = None

    @property
    def _waiting(self) -> bool:
        return self.waiter is not None and not self.waiter.done()

    def _done(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, problem: str) -> None:
        if not self.closed:
            self.closed, self.problem = True, problem
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(problem))

    def _parse(self) -> None:
        if self.kind == 'keepalive':
            self._parse_response()
            return
        if not self.upgraded:
            end = self.buffer.find(b'\r\n\r\n')
            if end < 0:
                return
            wsframes.check_upgrade(bytes(self.buffer[:end]), self.accept)
            del self.buffer[: end + 4]
            self.upgraded = True
            self._done()
        while (frame := wsframes.read_frame(self.buffer)) is not None:
            final, opcode, data, used = frame
            del self.buffer[:used]
            if opcode == wsframes.PING:
                assert self.transport is not None
                self.transport.write(wsframes.client_frame(wsframes.PONG, data))
            elif opcode == wsframes.CLOSE:
                raise ConnectionError(f'the server closed the WebSocket ({data[:2].hex() or "no code"})')
            elif not self._waiting:
                raise ConnectionError(f'a message nobody asked for (opcode {opcode:#x})')
            elif opcode != wsframes.BINARY or not final or data != self.payload:
                raise ConnectionError(f'the echo differs: opcode {opcode:#x}, {data[:40]!r}')
            else:
                self._done()

    def _parse_response(self) -> None:
        end = self.buffer.find(b'\r\n\r\n')
        if end < 0:
            return
        if not self._waiting:
            raise ConnectionError(f'data nobody asked for: {bytes(self.buffer[:60])!r}')
        lines = bytes(self.buffer[:end]).decode('latin-1').split('\r\n')
        headers = {name.strip().lower(): value.strip() for name, _, value in (h.partition(':') for h in lines[1:])}
        length = int(headers.get('content-length', '-1'))
        if length < 0:
            raise ConnectionError(f'a response without Content-Length: {lines[0]}')
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if lines[0].split(' ')[1:2] != ['200'] or body != self.payload:
            raise ConnectionError(f'expected 200 and {self.payload!r}, got {lines[0]!r} and {body[:40]!r}')
        if headers.get('connection', '').lower() == 'close':
            raise ConnectionError('the server answered Connection: close')
        self._done()


async def _each(
    connections: Iterable[_Connection], step: Callable[[_Connection], Awaitable[None]], errors: list[str]
) -> int:
    """Run ``step`` on every connection, a bounded number at once; how many succeeded."""
    gate = asyncio.Semaphore(_OPENING_AT_ONCE)

    async def one(conn: _Connection) -> bool:
        async with gate:
            try:
                await step(conn)
                return True
            except (OSError, asyncio.TimeoutError) as exc:
                if len(errors) < _ERRORS_KEPT:
                    errors.append(f'{type(exc).__name__}: {exc}')
                return False

    return sum(await asyncio.gather(*(one(conn) for conn in connections)))


def _say(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + '\n')
    sys.stdout.flush()


async def _main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    payload = args.payload.encode()
    conns = [_Connection(args.kind, args.host, args.port, args.path, payload) for _ in range(args.connections)]

    async def open_one(conn: _Connection) -> None:
        await loop.create_connection(lambda: conn, args.host, args.port)
        await conn.exchange()

    errors: list[str] = []
    started = time.monotonic()
    opened = await _each(conns, open_one, errors)
    seconds = time.monotonic() - started
    _say({'opened': opened, 'failed': len(conns) - opened, 'seconds': round(seconds, 2), 'errors': errors})
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if command != 'check':
            break
        # At this instant: every close or EOF from the server has already marked its connection.
        still_open = [conn for conn in conns if not conn.closed and conn.transport is not None]
        errors = [conn.problem for conn in conns if conn.problem][:_ERRORS_KEPT]
        answered = await _each(still_open, _Connection.exchange, errors)
        _say({'open': len(still_open), 'answered': answered, 'errors': errors})
    for conn in conns:
        if conn.transport is not None:
            conn.transport.abort()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--kind', choices=('keepalive', 'ws'), required=True)
    parser.add_argument('--path', required=True)
    parser.add_argument('--payload', required=True, help='the expected body (keepalive) or the message echoed (ws)')
    parser.add_argument('--connections', type=int, required=True)
    asyncio.run(_main(parser.parse_args()))


if __name__ == '__main__':
    main()
