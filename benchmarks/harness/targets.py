"""The project's speed targets: our row over a peer's row, per scenario, same run."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['TARGETS', 'Target']


@dataclass(frozen=True)
class Target:
    ours: str
    peer: str
    scenarios: tuple[str, ...]
    min_ratio: float
    # Compare requests per server CPU-second (the peer's CPU µs per request over ours) instead of
    # requests per second: for scenarios whose load client sets the pace (HTTP/3's is Python).
    by_cpu: bool = False


_ASGI_GETS = ('get-short', 'get-10k')
_WSGI = ('get-short', 'post-echo-1k')
_WS = ('ws-echo',)

TARGETS: tuple[Target, ...] = (
    Target('ours-asyncio', 'uvicorn-h11-asyncio', _ASGI_GETS, 1.5),
    Target('ours-asyncio', 'hypercorn-asyncio', _ASGI_GETS, 3.0),
    Target('ours-asyncio', 'hypercorn-asyncio', ('h2c-get-short',), 5.0),
    # RSGI (issue 3): faster than our own ASGI on the same loop, and than uvicorn's h11 ASGI.
    Target('ours-rsgi-asyncio', 'ours-asyncio', ('get-short',), 1.1),
    Target('ours-rsgi-asyncio', 'uvicorn-h11-asyncio', ('get-short',), 1.5),
    # WSGI (issue 4): against gunicorn's threaded worker.
    Target('ours-wsgi', 'gunicorn-gthread', _WSGI, 1.5),
    # WebSocket echo, messages/s (issue 5): ours through ASGI and RSGI against uvicorn's default
    # implementation and hypercorn, all on the stdlib loop.
    Target('ours-asyncio', 'uvicorn-websockets-asyncio', _WS, 1.2),
    Target('ours-rsgi-asyncio', 'uvicorn-websockets-asyncio', _WS, 1.2),
    Target('ours-asyncio', 'hypercorn-asyncio', _WS, 1.5),
    Target('ours-rsgi-asyncio', 'hypercorn-asyncio', _WS, 1.5),
    # Speed (issue 12). The earlier targets above stay: they must keep holding.
    # 1. Pure Python (stdlib loop, h11) against uvicorn with all its accelerators.
    Target('ours-asyncio', 'uvicorn-httptools-uvloop', _ASGI_GETS, 1.0),
    # 2. With granian[speedups] (uvloop, httptools) against the Rust Granian on uvloop.
    Target('ours-speedups', 'granian-rust-uvloop', ('get-short', 'post-echo-1k'), 1.0),
    Target('ours-rsgi-speedups', 'granian-rust-rsgi-uvloop', ('get-short',), 1.0),
    # 3. WSGI: within 0.6x of the Rust Granian, and 4x gunicorn's threaded worker.
    Target('ours-wsgi', 'granian-rust-wsgi', _WSGI, 0.6),
    Target('ours-wsgi', 'gunicorn-gthread', _WSGI, 4.0),
    # 4. HTTP/2 and WebSockets at least as fast as the Rust Granian (both on the stdlib loop).
    Target('ours-asyncio', 'granian-rust-asyncio', ('h2c-get-short',), 1.0),
    Target('ours-asyncio', 'granian-rust-asyncio', _WS, 1.0),
    Target('ours-rsgi-asyncio', 'granian-rust-rsgi-asyncio', _WS, 1.0),
    # HTTP/3 (issue 13): twice hypercorn's requests per CPU-second; both are built on aioquic, so
    # the difference is what each builds around it.
    Target('ours-asyncio', 'hypercorn-asyncio', ('h3-get-short',), 2.0, by_cpu=True),
)
