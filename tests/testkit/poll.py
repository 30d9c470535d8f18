"""Waiting for an observable condition instead of sleeping a fixed time.

A fixed sleep is either too short on a loaded machine (the test fails for no reason) or longer
than needed everywhere. These helpers look again every few milliseconds until the condition holds
and fail with the last value seen when it never does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ['eventually', 'eventually_async']

_T = TypeVar('_T')
_INTERVAL = 0.02


def _give_up_after(deadline: float, what: str, value: object) -> None:
    if time.monotonic() > deadline:
        raise AssertionError(f'timed out waiting for {what}; last value: {value!r}')


def eventually(
    probe: Callable[[], _T], accept: Callable[[_T], bool] = bool, *, timeout: float = 20.0, what: str = 'condition'
) -> _T:
    """Call ``probe`` until ``accept`` likes its value, and return that value."""
    deadline = time.monotonic() + timeout
    while not accept(value := probe()):
        _give_up_after(deadline, what, value)
        time.sleep(_INTERVAL)
    return value


async def eventually_async(
    probe: Callable[[], _T], accept: Callable[[_T], bool] = bool, *, timeout: float = 20.0, what: str = 'condition'
) -> _T:
    """:func:`eventually` for a coroutine: the loop keeps running (an embedded server, say) between looks."""
    deadline = time.monotonic() + timeout
    while not accept(value := probe()):
        _give_up_after(deadline, what, value)
        await asyncio.sleep(_INTERVAL)
    return value
