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
)
