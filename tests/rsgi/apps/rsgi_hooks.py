"""A class-based RSGI app with all three hooks; they leave marker files in ``$RSGI_MARKERS``.

``__call__`` answers differently from ``__rsgi__``, to show which one the server picked.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from granian.rsgi import HTTPProtocol, Scope


def _write_marker(kind: str, data: dict[str, Any]) -> None:
    Path(os.environ['RSGI_MARKERS'], f'{kind}-{os.getpid()}.json').write_text(json.dumps(data))


async def _open_resource() -> str:
    await asyncio.sleep(0)
    return 'resource-ready'


class App:
    def __init__(self) -> None:
        self.resource: str | None = None
        self.init_calls = 0
        self.loop: asyncio.AbstractEventLoop | None = None

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.init_calls += 1
        running = loop.is_running()
        # A loop that is not running lets the hook run async set-up to completion.
        self.resource = loop.run_until_complete(_open_resource())
        self.loop = loop
        _write_marker('init', {'running': running, 'calls': self.init_calls})

    async def __rsgi__(self, scope: Scope, protocol: HTTPProtocol) -> None:
        body = {
            'via': '__rsgi__',
            'resource': self.resource,
            'init_calls': self.init_calls,
            'same_loop': asyncio.get_running_loop() is self.loop,
            'pid': os.getpid(),
        }
        protocol.response_str(200, [('content-type', 'application/json')], json.dumps(body))

    async def __call__(self, scope: Scope, protocol: HTTPProtocol) -> None:
        protocol.response_str(200, [('content-type', 'application/json')], json.dumps({'via': '__call__'}))

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        running = loop.is_running()
        closed = loop.run_until_complete(_open_resource())
        _write_marker('del', {'running': running, 'same_loop': loop is self.loop, 'ran_coroutine': closed})


app = App()
