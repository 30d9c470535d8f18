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

TARGETS: tuple[Target, ...] = (
    Target('ours-asyncio', 'uvicorn-h11-asyncio', _ASGI_GETS, 1.5),
    Target('ours-asyncio', 'hypercorn-asyncio', _ASGI_GETS, 3.0),
    Target('ours-asyncio', 'hypercorn-asyncio', ('h2c-get-short',), 5.0),
)
