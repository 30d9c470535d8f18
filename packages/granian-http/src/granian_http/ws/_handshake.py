"""The WebSocket opening handshake: what the client offered, whether we take it, and the extensions.

A protocol turns a handshake request into a :class:`WebSocketOffer` (HTTP/1.1 with
:func:`check_handshake`, RFC 6455 §4.2.1; HTTP/2's extended CONNECT in ``granian_http.h2``, RFC
8441) and puts it on the exchange, where the interface accepts or rejects it. A request that
claims to be a handshake but breaks the RFC never reaches the interface: the protocol answers it
with the :class:`HandshakeError`'s status.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from wsproto.extensions import Extension
from wsproto.handshake import server_extensions_handshake
from wsproto.utilities import generate_accept_token

from ._wsproto import BoundedDeflate

__all__ = ['HandshakeError', 'WebSocketOffer', 'accept_token', 'check_handshake', 'negotiate_extensions', 'offer_lists']


class HandshakeError(Exception):
    """A WebSocket opening handshake we refuse, with the status and the reason to answer."""

    def __init__(self, status: int, reason: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


@dataclass(frozen=True)
class WebSocketOffer:
    """A valid opening handshake, waiting for the app to accept or reject it."""

    subprotocols: list[str]
    #: The raw ``sec-websocket-extensions`` offers.
    extensions: list[str]
    #: ``sec-websocket-key`` on HTTP/1.1; RFC 8441 has none.
    key: bytes | None


def _tokens(value: bytes) -> list[bytes]:
    return [token.strip().lower() for token in value.split(b',')]


def offer_lists(name: bytes, value: bytes, subprotocols: list[str], extensions: list[str]) -> bool:
    """Collect a ``sec-websocket-protocol`` or ``-extensions`` field into the offer's lists.

    Returns ``False`` for any other field. Both fields may repeat and each holds a
    comma-separated list (RFC 6455 §11.3.2, §11.3.4); latin-1 keeps every byte decodable.
    """
    if name == b'sec-websocket-protocol':
        subprotocols.extend(item.strip() for item in value.decode('latin-1').split(',') if item.strip())
        return True
    if name == b'sec-websocket-extensions':
        extensions.append(value.decode('latin-1'))
        return True
    return False


def check_handshake(method: str, http_version: str, headers: Iterable[tuple[bytes, bytes]]) -> WebSocketOffer | None:
    """Return the offer of an HTTP/1.1 WebSocket upgrade request, ``None`` for any other request.

    A request is an upgrade when ``Upgrade`` names websocket and ``Connection`` names upgrade;
    raises :class:`HandshakeError` when such a request breaks RFC 6455 §4.2.1.
    """
    upgrade = connection_upgrade = False
    version: bytes | None = None
    key: bytes | None = None
    subprotocols: list[str] = []
    extensions: list[str] = []
    for name, value in headers:
        if name == b'upgrade':
            upgrade = upgrade or b'websocket' in _tokens(value)
        elif name == b'connection':
            connection_upgrade = connection_upgrade or b'upgrade' in _tokens(value)
        elif name == b'sec-websocket-version':
            version = value.strip()
        elif name == b'sec-websocket-key':
            key = value.strip()
        else:
            offer_lists(name, value, subprotocols, extensions)
    if not (upgrade and connection_upgrade):
        return None
    if method != 'GET':
        raise HandshakeError(400, 'WebSocket handshake: the method must be GET')
    if http_version != '1.1':
        raise HandshakeError(400, 'WebSocket handshake: HTTP/1.1 is required')
    if version != b'13':
        # §4.4: tell the client which version we speak; 426 Upgrade Required is the status the
        # RFC's own example uses.
        raise HandshakeError(
            426,
            'WebSocket handshake: unsupported Sec-WebSocket-Version (13 is supported)',
            ((b'sec-websocket-version', b'13'),),
        )
    if key is None:
        raise HandshakeError(400, 'WebSocket handshake: missing Sec-WebSocket-Key')
    try:
        # §4.1: the key is a base64-encoded 16-byte nonce; anything else is not a handshake.
        valid_key = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid_key = False
    if not valid_key:
        raise HandshakeError(400, 'WebSocket handshake: invalid Sec-WebSocket-Key')
    return WebSocketOffer(subprotocols, extensions, key)


def negotiate_extensions(offers: list[str], max_message_size: int) -> tuple[list[Extension], bytes | None]:
    """Pick the first extension offer we can honour; return it and its response header value.

    Each header value may hold several comma-separated offers, in the client's order of
    preference. An offer with parameters we cannot meet (a window below 9 bits, which zlib does
    not do) is declined and the next one tried, as RFC 7692 §5 asks (Autobahn 13.7.* found a
    server that gave up after the first).
    """
    for value in offers:
        for offer in value.split(','):
            offer = offer.strip()
            if not offer:
                continue
            deflate = BoundedDeflate(max_message_size)
            try:
                header = server_extensions_handshake([offer], [deflate])
            except ValueError:
                continue
            if header:
                return [deflate], header
    return [], None


def accept_token(key: bytes) -> bytes:
    """``Sec-WebSocket-Accept`` for a client's key (RFC 6455 §4.2.2)."""
    return generate_accept_token(key)
