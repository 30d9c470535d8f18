"""What the running loop reports to its exception handler, collected for a test to check."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ['loop_reports']


@contextmanager
def loop_reports(loop: asyncio.AbstractEventLoop) -> Iterator[list[dict[str, object]]]:
    """Collect the contexts ``loop`` hands its exception handler (an exception no one awaited, a
    task destroyed pending, a failing callback) while the block runs; the previous handler after."""
    reports: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reports.append(context))
    try:
        yield reports
    finally:
        loop.set_exception_handler(previous)
