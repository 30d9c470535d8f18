"""Instructions per request, counted by callgrind: a cost figure that does not move with the load.

Wall-clock rates on this 2-core machine swing with whatever else runs; the number of instructions
the server executes per request does not. This script serves the benchmark apps in-process through
the production path (``granian_server.serving.serve_app`` on a real loopback listener, the stdlib
asyncio loop unless ``--loop`` says otherwise) and drives them with a minimal client on the same
loop: one request in flight, fixed bytes out, a known number of bytes back.

The driver runs each scenario twice under ``valgrind --tool=callgrind``, with ``--count`` and with
twice as many requests, so that interpreter start-up, imports and warm-up cancel out::

    per request = (instructions(2N) - instructions(N)) / N

The client's own work is inside the figure too; it is small and the same for every server version,
so differences between two commits are the server's. What else would move the count is held still:
``PYTHONHASHSEED`` is fixed; the ``date`` header is computed once and not refreshed every second
(under valgrind a run takes tens of seconds, and how many refreshes fall into it would depend on the
machine's load), but a far timer stays pending in its place, as the date timer always is in a real
worker (a loop with a timer pending pays more per turn than one with none, and a count without one
would flatter a tree that happens to leave no timer behind); and the code under test is copied to
one fixed place with a minimal environment (the same code run from two folders differed by up to
2,000 instructions per request, through the allocator: path strings of other lengths move the heap).
Two runs of the same code then agree to the instruction, wherever the checkout lives.

Usage, from the repository root, with the Python that has our packages installed (the hatch env or
``benchmarks/.venvs/ours``)::

    python benchmarks/callgrind.py                         # every scenario
    python benchmarks/callgrind.py h1-get h2c-get --count 2000
    python benchmarks/callgrind.py --json out.json         # for comparing two commits
    python benchmarks/callgrind.py --tree /tmp/before      # another checkout's sources
    python benchmarks/callgrind.py rsgi-get --metrics      # with the Prometheus exporter's counting on

``--inner SCENARIO N`` is the program valgrind runs.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / 'apps'))

_ECHO = b'a' * 1024
_WS_PAYLOAD = b'0123456789abcdef0123456789abcdef'


# -- the client side -------------------------------------------------------------------------------


class Client:
    """A raw socket on the server's loop; every read waits for an exact number of bytes."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self.loop = loop
        self.sock = sock

    async def send(self, data: bytes) -> None:
        await self.loop.sock_sendall(self.sock, data)

    async def receive(self, size: int) -> bytes:
        parts = []
        while size > 0:
            chunk = await self.loop.sock_recv(self.sock, size)
            if not chunk:
                raise ConnectionError('server closed the connection')
            parts.append(chunk)
            size -= len(chunk)
        return b''.join(parts)

    async def receive_head(self) -> bytes:
        """Read an HTTP/1.1 response whose length we learn from its head (warm-up only)."""
        data = b''
        while b'\r\n\r\n' not in data:
            data += await self.loop.sock_recv(self.sock, 65536)
        head, _, body = data.partition(b'\r\n\r\n')
        length = int(re.search(rb'content-length: (\d+)', head, re.I).group(1))  # type: ignore[union-attr]
        while len(body) < length:
            body += await self.loop.sock_recv(self.sock, 65536)
        return data


def _h1(method: bytes, path: bytes, body: bytes = b'') -> bytes:
    head = b'%s %s HTTP/1.1\r\nhost: 127.0.0.1\r\nuser-agent: callgrind\r\naccept: */*\r\n' % (method, path)
    if body:
        head += b'content-length: %d\r\n' % len(body)
    return head + b'\r\n' + body


def h1_scenario(request: bytes) -> Callable[[Client, int], Awaitable[None]]:
    async def run(client: Client, count: int) -> None:
        await client.send(request)
        size = len(await client.receive_head())  # the same length every time (the date is fixed-width)
        for _ in range(count):
            await client.send(request)
            await client.receive(size)

    return run


def _h2_frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    size = len(payload)
    return struct.pack('>HBBBL', size >> 8, size & 0xFF, kind, flags, stream_id) + payload


def _hpack_literal(name: bytes, value: bytes) -> bytes:
    # Literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2): the same
    # bytes for every request, as a client with a full dynamic table would send.
    assert len(name) < 127 and len(value) < 127
    return b'\x00' + bytes((len(name),)) + name + bytes((len(value),)) + value


async def h2c_get(client: Client, count: int) -> None:
    block = b''.join(
        _hpack_literal(n, v)
        for n, v in (
            (b':method', b'GET'),
            (b':scheme', b'http'),
            (b':path', b'/b'),
            (b':authority', b'127.0.0.1'),
            (b'user-agent', b'callgrind'),
        )
    )
    await client.send(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + _h2_frame(0x4, 0, 0, b''))
    # The server's SETTINGS, its WINDOW_UPDATE, then its ACK of ours.
    frames = 0
    buffered = b''
    while frames < 3:
        buffered += await client.loop.sock_recv(client.sock, 65536)
        frames = 0
        pos = 0
        while len(buffered) - pos >= 9:
            size = int.from_bytes(buffered[pos : pos + 3], 'big')
            if len(buffered) - pos < 9 + size:
                break
            pos += 9 + size
            frames += 1
    await client.send(_h2_frame(0x4, 0x1, 0, b''))  # ACK the server's SETTINGS
    stream_id = 1
    # Warm-up request: learn the response size (HEADERS + DATA; our frames are fixed-size).
    await client.send(_h2_frame(0x1, 0x5, stream_id, block))
    size = 0
    data = b''
    while True:
        data += await client.loop.sock_recv(client.sock, 65536)
        pos = 0
        done = False
        while len(data) - pos >= 9:
            length = int.from_bytes(data[pos : pos + 3], 'big')
            if len(data) - pos < 9 + length:
                break
            if data[pos + 4] & 0x1 and data[pos + 3] in (0x0, 0x1):
                done = True
            pos += 9 + length
        if done:
            size = pos
            break
    for _ in range(count):
        stream_id += 2
        await client.send(_h2_frame(0x1, 0x5, stream_id, block))
        await client.receive(size)


def _ws_frame(payload: bytes) -> bytes:
    mask = b'\x01\x02\x03\x04'
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes((0x82, 0x80 | len(payload))) + mask + masked


async def ws_echo(client: Client, count: int) -> None:
    key = base64.b64encode(b'callgrind-key-16')
    await client.send(
        b'GET /ws HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\n'
        b'sec-websocket-version: 13\r\nsec-websocket-key: ' + key + b'\r\n\r\n'
    )
    data = b''
    while b'\r\n\r\n' not in data:
        data += await client.loop.sock_recv(client.sock, 65536)
    message = _ws_frame(_WS_PAYLOAD)
    size = 2 + len(_WS_PAYLOAD)
    for _ in range(count + 1):
        await client.send(message)
        await client.receive(size)


SCENARIOS: dict[str, tuple[str, str, Callable[[Client, int], Awaitable[None]]]] = {
    # name: (interface, http mode, client). HTTP/1.1 is parsed by h11 unless the name says
    # otherwise, so that counts stay comparable with trees that had no other parser.
    'h1-get': ('asgi', '1', h1_scenario(_h1(b'GET', b'/b'))),
    'h1-post-echo': ('asgi', '1', h1_scenario(_h1(b'POST', b'/echo', _ECHO))),
    'h2c-get': ('asgi', '2', h2c_get),
    'ws-echo': ('asgi', '1', ws_echo),
    'rsgi-get': ('rsgi', '1', h1_scenario(_h1(b'GET', b'/b'))),
    'wsgi-get': ('wsgi', '1', h1_scenario(_h1(b'GET', b'/b'))),
    'wsgi-post-echo': ('wsgi', '1', h1_scenario(_h1(b'POST', b'/echo', _ECHO))),
    'auto-get': ('asgi', 'auto', h1_scenario(_h1(b'GET', b'/b'))),
    'h1-get-httptools': ('asgi', '1', h1_scenario(_h1(b'GET', b'/b'))),
    'h1-post-echo-httptools': ('asgi', '1', h1_scenario(_h1(b'POST', b'/echo', _ECHO))),
    'rsgi-get-httptools': ('rsgi', '1', h1_scenario(_h1(b'GET', b'/b'))),
}


def _config(scenario: str, interface_name: str, http: str) -> Any:
    """The worker's options for ``scenario``, for this tree and older ones alike."""
    from granian_http import HTTP1Settings
    from granian_server.constants import Interfaces
    from granian_server.serving import ServeConfig

    http1 = HTTP1Settings()
    if hasattr(http1, 'parser'):  # trees before the parser seam had h11 only
        http1.parser = 'httptools' if scenario.endswith('-httptools') else 'h11'
    return ServeConfig(interface=Interfaces(interface_name), http=http, http1=http1)


def _listeners(sock: socket.socket) -> Any:
    try:
        from granian_server.listening import Listeners
    except ImportError:  # trees before socket activation took a list of sockets
        return [sock]
    return Listeners(shared=[sock])


# -- the server side, in-process -------------------------------------------------------------------


def _metrics_pusher() -> Any:
    """What a worker runs with ``--metrics``: its counters and duration histogram, pushed over a
    pipe nobody reads, on a timer that never fires during a run (its cost is the per-request part)."""
    import multiprocessing

    from granian_server.metrics_worker import MetricsPusher

    _reader, writer = multiprocessing.Pipe(duplex=False)
    return MetricsPusher(writer, 3600.0)


async def _serve_and_drive(scenario: str, count: int, metrics: bool) -> None:
    from granian_server.interfaces import make_interface
    from granian_server.serving import serve_app

    interface_name, http, drive = SCENARIOS[scenario]
    module = __import__(f'{interface_name}_app')
    interface = make_interface(interface_name, module.app)
    loop = asyncio.get_running_loop()
    interface.setup(loop)
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(16)
    listener.setblocking(False)
    stop: asyncio.Future[Any] = loop.create_future()
    config = _config(scenario, interface_name, http)
    pusher = _metrics_pusher() if metrics else None
    server = asyncio.ensure_future(serve_app(interface, config, _listeners(listener), stop, metrics=pusher))
    sock = socket.socket()
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await loop.sock_connect(sock, listener.getsockname())
    driver = asyncio.ensure_future(drive(Client(loop, sock), count))
    try:
        # A server that fails (a harness that no longer fits serve_app, say) ends the run with its
        # error, instead of leaving the client waiting for an answer that never comes.
        await asyncio.wait((driver, server), return_when=asyncio.FIRST_COMPLETED)
        if server.done():
            driver.cancel()
            server.result()
            raise RuntimeError('the server stopped before the client was done')
        driver.result()
    finally:
        sock.close()
        if not stop.done():
            stop.set_result(None)
        await server
        interface.teardown(loop)


def _freeze_date() -> None:
    """Compute the date header once, without its once-a-second timer (see the module docstring)."""
    from granian_http import ServeContext

    refresh = ServeContext._refresh_date

    def refresh_once(ctx: Any) -> None:
        refresh(ctx)
        ctx._date_timer.cancel()
        ctx._date_timer = ctx.loop.call_later(86400, lambda: None)  # pending, never due in a run

    ServeContext._refresh_date = refresh_once  # type: ignore[method-assign]


def inner(scenario: str, count: int, loop_name: str, metrics: bool) -> None:
    _freeze_date()
    if loop_name == 'uvloop':
        import uvloop

        uvloop.run(_serve_and_drive(scenario, count, metrics))
    else:
        asyncio.run(_serve_and_drive(scenario, count, metrics))


# -- the driver ------------------------------------------------------------------------------------

_COLLECTED = re.compile(r'Collected : (\d+)')


#: Where the code under test is staged: a folder of its own per run (runs may overlap), with a
#: name of the same length every time (a path's length moves the heap; see the module docstring).
STAGE = Path(f'/tmp/granian-callgrind-{os.urandom(4).hex()}')


def stage(tree: Path) -> None:
    """Copy ``tree``'s package sources and this harness (with its apps) to :data:`STAGE`."""
    sources = sorted(tree.glob('packages/*/src'))
    if not sources:
        sys.exit(f'{tree}: no packages/*/src there (give a checkout of this repository)')
    shutil.rmtree(STAGE, ignore_errors=True)
    atexit.register(shutil.rmtree, STAGE, True)
    for source in sources:
        shutil.copytree(source, STAGE / 'site', dirs_exist_ok=True, ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copytree(HERE / 'apps', STAGE / 'bench' / 'apps', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy2(__file__, STAGE / 'bench' / 'callgrind.py')


def count_instructions(scenario: str, count: int, loop_name: str, metrics: bool) -> int:
    env = {
        'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
        'PYTHONHASHSEED': '0',
        'PYTHONPATH': str(STAGE / 'site'),
        'PYTHONDONTWRITEBYTECODE': '1',
    }
    command = [
        'valgrind',
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        sys.executable,
        str(STAGE / 'bench' / 'callgrind.py'),
        '--inner',
        scenario,
        str(count),
        '--loop',
        loop_name,
        *(['--metrics'] if metrics else []),
    ]
    result = subprocess.run(command, env=env, cwd=STAGE, capture_output=True, text=True, check=False)
    match = _COLLECTED.search(result.stderr)
    if result.returncode != 0 or match is None:
        sys.exit(f'{scenario}: valgrind failed (exit {result.returncode}):\n{result.stderr[-3000:]}')
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('scenarios', nargs='*', help=f'default: all of {", ".join(SCENARIOS)}')
    parser.add_argument('--count', type=int, default=1000, help='N: requests in the short run (default 1000)')
    parser.add_argument('--loop', default='asyncio', choices=('asyncio', 'uvloop'))
    parser.add_argument('--metrics', action='store_true', help='serve as a worker does with the metrics exporter on')
    parser.add_argument('--json', type=Path, help='also write the results to this file')
    parser.add_argument(
        '--tree', type=Path, default=HERE.parent, help='the checkout whose sources to measure (default: this one)'
    )
    parser.add_argument('--inner', nargs=2, metavar=('SCENARIO', 'N'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.inner[0], int(args.inner[1]), args.loop, args.metrics)
        return
    names = args.scenarios or list(SCENARIOS)
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error(f'unknown scenario(s): {", ".join(unknown)}; choose from {", ".join(SCENARIOS)}')
    stage(args.tree.resolve())
    results: dict[str, int] = {}
    print(f'{"scenario":<16} {"instructions/request":>22}')
    for name in names:
        short = count_instructions(name, args.count, args.loop, args.metrics)
        long = count_instructions(name, 2 * args.count, args.loop, args.metrics)
        per_request = round((long - short) / args.count)
        results[name] = per_request
        print(f'{name:<16} {per_request:>22,}', flush=True)
    if args.json:
        summary = {
            'tree': str(args.tree),
            'loop': args.loop,
            'metrics': args.metrics,
            'count': args.count,
            'results': results,
        }
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == '__main__':
    main()
