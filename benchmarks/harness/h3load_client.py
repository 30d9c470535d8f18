"""The HTTP/3 load client: aioquic's client, run by ``h3load.py`` in its own process pinned to the
load generator's core, with the ``ours`` venv's Python (which has aioquic).

``--connections`` QUIC connections, each with ``--streams`` requests in flight (a new request as
soon as one ends), for ``--duration`` seconds after the connections are up. Prints one JSON line:
requests done, errors (a failed request, a status other than 200, or a body other than
``--expect``), p50 and p99 latency in ms, the rate, and the client's CPU share of the time (near 1:
the client, not the server, set the pace, as it will with a Python client; the harness reports the
server's CPU per request as the headline for this reason).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent


class _Client(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self._pending: dict[int, tuple[asyncio.Future[tuple[int, bytes]], list[Any]]] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3_event in self.h3.handle_event(event):
            entry = self._pending.get(getattr(h3_event, 'stream_id', -1))
            if entry is None:
                continue
            future, parts = entry
            if isinstance(h3_event, HeadersReceived):
                parts[0] = int(dict(h3_event.headers).get(b':status', b'0'))
            elif isinstance(h3_event, DataReceived):
                parts.append(h3_event.data)
            if getattr(h3_event, 'stream_ended', False):
                del self._pending[h3_event.stream_id]
                future.set_result((parts[0], b''.join(parts[1:])))

    async def get(self, authority: bytes, path: bytes) -> tuple[int, bytes]:
        stream_id = self._quic.get_next_available_stream_id()
        future: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self._pending[stream_id] = (future, [0])
        head = [(b':method', b'GET'), (b':scheme', b'https'), (b':authority', authority), (b':path', path)]
        self.h3.send_headers(stream_id, head, end_stream=True)
        self.transmit()
        return await future


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    url = urlsplit(args.url)
    authority = url.netloc.encode()
    path = (url.path or '/').encode()
    expect = args.expect.encode()
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, verify_mode=ssl.CERT_NONE)
    latencies: list[float] = []
    errors = 0
    stop_at = 0.0

    async def stream(client: _Client) -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            started = time.monotonic()
            try:
                status, body = await asyncio.wait_for(client.get(authority, path), 10)
            except (asyncio.TimeoutError, ConnectionError):
                errors += 1
                continue
            latencies.append(time.monotonic() - started)
            if status != 200 or body != expect:
                errors += 1

    connected = 0
    all_up = asyncio.Event()

    async def connection(ready: asyncio.Event) -> None:
        nonlocal connected
        async with connect(url.hostname or '127.0.0.1', url.port or 443, configuration=configuration,
                           create_protocol=_Client) as client:  # fmt: skip
            connected += 1
            if connected == args.connections:
                all_up.set()
            await ready.wait()
            await asyncio.gather(*(stream(client) for _ in range(args.streams)))  # type: ignore[arg-type]

    ready = asyncio.Event()
    tasks = [asyncio.create_task(connection(ready)) for _ in range(args.connections)]
    await asyncio.wait_for(all_up.wait(), 20)  # the handshakes are not measured
    cpu_start, started = time.process_time(), time.monotonic()
    stop_at = started + args.duration
    ready.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_start
    latencies.sort()

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000 if latencies else float('nan')

    return {
        'requests': len(latencies),
        'errors': errors,
        'rps': len(latencies) / elapsed,
        'p50_ms': percentile(0.5),
        'p99_ms': percentile(0.99),
        'client_cpu': cpu / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('url')
    parser.add_argument('--duration', type=float, default=8)
    parser.add_argument('--connections', type=int, default=4)
    parser.add_argument('--streams', type=int, default=16)
    parser.add_argument('--expect', default='')
    print(json.dumps(asyncio.run(_run(parser.parse_args()))))


if __name__ == '__main__':
    main()
