"""Recognising an HTTP/1.1 ``Upgrade: h2c`` request (RFC 7540 §3.2).

RFC 9113 dropped this upgrade, but clients still use it (``curl --http2`` on ``http://`` URLs).
A request is upgraded when all of these hold, otherwise it is served on HTTP/1.1 as if the
``Upgrade`` header were not there (which the RFC allows):

* the server serves both HTTP versions (``http='auto'``) on a cleartext listener: over TLS, ALPN
  chooses the protocol and h2c must not be used;
* ``Upgrade`` names ``h2c``, ``Connection`` names ``upgrade`` and ``http2-settings``, and there is
  exactly one ``HTTP2-Settings`` header, valid base64url of whole settings entries;
* the body, if any, has a ``content-length`` of at most the HTTP/1.1 buffer size: it is read whole
  on HTTP/1.1 and handed to stream 1 complete. A chunked body, or one that waits for
  ``100-continue``, keeps the request on HTTP/1.1.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..context import ServeContext

__all__ = ['SWITCHING_PROTOCOLS', 'h2c_upgrade_settings']

SWITCHING_PROTOCOLS = b'HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n'


def _tokens(value: bytes) -> set[bytes]:
    return {token.strip().lower() for token in value.split(b',')}


def h2c_upgrade_settings(
    ctx: ServeContext, headers: Iterable[tuple[bytes, bytes]], expect_continue: bool, body_limit: int
) -> bytes | None:
    """The request's ``HTTP2-Settings`` (padded base64url) when it is an upgrade we take, else ``None``."""
    if ctx.http_mode != 'auto' or ctx.ssl_context is not None or expect_continue:
        # http='1' serves HTTP/1.1 only; over TLS, ALPN already chose (RFC 7540 §3.3); a client
        # waiting for 100-continue would wait across the protocol switch.
        return None
    upgrade = False
    connection: set[bytes] = set()
    settings: list[bytes] = []
    for name, value in headers:
        if name == b'upgrade':
            upgrade = upgrade or b'h2c' in _tokens(value)
        elif name == b'connection':
            connection |= _tokens(value)
        elif name == b'http2-settings':
            settings.append(value.strip())
        elif name == b'transfer-encoding' or (
            name == b'content-length' and (not value.isdigit() or int(value) > body_limit)
        ):
            return None  # a body we would not buffer whole: stay on HTTP/1.1
    if not upgrade or len(settings) != 1 or not {b'upgrade', b'http2-settings'} <= connection:
        # §3.2.1: exactly one HTTP2-Settings, and both names in Connection (they are hop-by-hop:
        # a proxy that did not understand them must have removed them).
        return None
    # base64url without padding (§3.2.1); the decoder wants the padding back.
    value = settings[0].rstrip(b'=')
    value += b'=' * (-len(value) % 4)
    try:
        decoded = base64.urlsafe_b64decode(value)
    except (binascii.Error, ValueError):
        return None
    if len(decoded) % 6:
        return None  # not whole SETTINGS entries (6 bytes each): not an upgrade we can take
    return value
