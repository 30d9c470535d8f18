"""The interface adapters: ASGI, RSGI and WSGI, each built only on the exchange contract.

A serving worker drives an adapter through four steps:

1. :meth:`Interface.setup` — synchronous, before the worker's loop runs (RSGI's ``__rsgi_init__``
   wants a loop that is not running);
2. :meth:`Interface.start` — on the loop; returns the handler the protocols call once per request
   (ASGI runs lifespan startup here and raises :class:`~granian_server.errors.FatalError` when it
   fails);
3. :meth:`Interface.stop` — on the loop, after the last connection closed (lifespan shutdown);
4. :meth:`Interface.teardown` — synchronous, after the loop stopped.

Each interface registers a factory in :data:`INTERFACES`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from granian_http import Exchange

from .._tasks import TaskSet
from ..log import AccessLogFormatter
from ..metrics import Durations

__all__ = ['INTERFACES', 'Interface', 'Runtime', 'make_interface']

RequestHandler = Callable[[Exchange], None]


@dataclass
class Runtime:
    """What a worker offers an interface while it serves."""

    loop: asyncio.AbstractEventLoop
    tasks: TaskSet
    executor: Executor
    access_log: AccessLogFormatter | None
    url_path_prefix: str | None
    blocking_threads: int
    blocking_threads_idle_timeout: int
    #: The histogram HTTP requests are timed into, when the metrics exporter is on.
    durations: Durations | None = None


class Interface:
    """Base class of the adapters; the default hooks do nothing."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def setup(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called before the worker's loop runs."""

    async def start(self, runtime: Runtime) -> RequestHandler:
        raise NotImplementedError

    async def stop(self) -> None:
        """Called on the loop once every connection has closed."""

    def teardown(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called after the worker's loop stopped."""


#: Interface name (``Interfaces`` value) -> adapter factory.
INTERFACES: dict[str, Callable[[Any], Interface]] = {}


def make_interface(name: str, app: Any) -> Interface:
    # Importing the adapter modules registers them.
    from . import (
        asgi,  # noqa: F401
        rsgi,  # noqa: F401
        wsgi,  # noqa: F401
    )

    return INTERFACES[name](app)
