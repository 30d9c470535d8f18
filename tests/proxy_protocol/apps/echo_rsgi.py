"""An RSGI app that answers with the scope's client and server."""

from __future__ import annotations

import json
from typing import Any


async def app(scope: Any, protocol: Any) -> None:
    body = {'client': scope.client, 'server': scope.server, 'http_version': scope.http_version, 'path': scope.path}
    protocol.response_bytes(200, [('content-type', 'application/json')], json.dumps(body).encode())
