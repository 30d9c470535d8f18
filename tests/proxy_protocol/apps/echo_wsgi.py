"""A WSGI app that answers with the connection's CGI variables."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    keys = ('REMOTE_ADDR', 'REMOTE_PORT', 'SERVER_NAME', 'SERVER_PORT', 'PATH_INFO')
    start_response('200 OK', [('content-type', 'application/json')])
    return [json.dumps({key: environ.get(key) for key in keys}).encode()]
