"""The two ends of a connection, as exchanges report them."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ['transport_addresses']


def _address(value: Any) -> tuple[str, int] | None:
    if isinstance(value, tuple) and len(value) >= 2:
        return (str(value[0]), int(value[1]))
    return None


def transport_addresses(transport: asyncio.BaseTransport) -> tuple[tuple[str, int] | None, tuple[str, int]]:
    """The peer's ``(host, port)`` (``None`` on a Unix socket) and ours (``(path, 0)`` there)."""
    sockname = transport.get_extra_info('sockname')
    return _address(transport.get_extra_info('peername')), _address(sockname) or (str(sockname or ''), 0)
