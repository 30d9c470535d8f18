"""WebSockets (RFC 6455): the handshake checks, extension negotiation and the session an app talks to.

This subpackage knows nothing of HTTP/1.1 or HTTP/2. Each of those carries sessions in its own
way (``granian_http.h1`` over the upgraded connection, ``granian_http.h2`` over an RFC 8441
stream) through the :class:`WebSocketCarrier` protocol, and builds a :class:`WebSocketOffer` from
its handshake request. Module map:

* :mod:`._handshake`: the offer, RFC 6455 §4.2.1 checks, permessage-deflate negotiation;
* :mod:`._session`: :class:`WebSocket`, the session (receive, send, close, pings, keep-alive,
  limits);
* :mod:`._frames`: the common frames read and written without wsproto (the fast path);
* :mod:`._wsproto`: the only module that touches wsproto's internals.
"""

from ._handshake import HandshakeError, WebSocketOffer, accept_token, check_handshake, negotiate_extensions, offer_lists
from ._session import (
    CLOSE_TIMEOUT,
    INBOX_LIMIT,
    PING_TIMEOUT_REASON,
    Received,
    WebSocket,
    WebSocketCarrier,
    WebSocketClose,
    WebSocketClosed,
)

__all__ = [
    'CLOSE_TIMEOUT',
    'INBOX_LIMIT',
    'PING_TIMEOUT_REASON',
    'HandshakeError',
    'Received',
    'WebSocket',
    'WebSocketCarrier',
    'WebSocketClose',
    'WebSocketClosed',
    'WebSocketOffer',
    'accept_token',
    'check_handshake',
    'negotiate_extensions',
    'offer_lists',
]
