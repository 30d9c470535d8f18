"""The ASGI app a headless Chromium loads over HTTP/3: a page with a stylesheet, an image and a
``fetch()``, whose script writes each resource's ``nextHopProtocol`` into the page once all are in."""

from __future__ import annotations

import base64
import json
from typing import Any

PAGE = b"""<!doctype html>
<html><head><title>h3</title><link rel="stylesheet" href="/style.css"></head>
<body><img src="/pixel.png" alt="pixel"><pre id="out">pending</pre>
<script>
window.addEventListener('load', async () => {
  const answer = await (await fetch('/api')).json();
  const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  const seen = entries.map((entry) => [new URL(entry.name).pathname, entry.nextHopProtocol]);
  document.getElementById('out').textContent = 'RESULT ' + JSON.stringify({answer, seen});
});
</script></body></html>"""
STYLE = b'body { background: #fafafa; } img { width: 8px; }'
# A 1x1 transparent PNG.
PIXEL = base64.b64decode(
    b'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII='
)
ROUTES = {
    '/': (b'text/html; charset=utf-8', PAGE),
    '/style.css': (b'text/css', STYLE),
    '/pixel.png': (b'image/png', PIXEL),
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope['type'] != 'http':
        return
    path = scope['path']
    if path == '/api':
        content_type, body = b'application/json', json.dumps({'http_version': scope['http_version']}).encode()
    else:
        content_type, body = ROUTES.get(path, (b'text/plain', b'not found'))
    status = 200 if path == '/api' or path in ROUTES else 404
    await send({'type': 'http.response.start', 'status': status, 'headers': [(b'content-type', content_type)]})
    await send({'type': 'http.response.body', 'body': body})
