"""HTTP/2 (RFC 9113) on h2: the connection, its streams, and WebSockets over HTTP/2 (RFC 8441).

Public names: :class:`HTTP2Connection` (the ``asyncio.Protocol`` for a connection that starts as
HTTP/2: ALPN ``h2``, or h2c with prior knowledge), :data:`PREFACE`, and :func:`serve_h2c_upgrade`
with :class:`UpgradedRequest`, the door through which ``granian_http.h1`` hands over a connection
after ``Upgrade: h2c``. HTTP/3 (``granian_http.h3``), whose fields and WebSocket carrying follow the
same rules, uses the header builders and the multiplexed stream (with its RFC 8441 carrier) below.
Module map:

* :mod:`._connection`: the connection (events, dispatch, flushing, flow control, GOAWAY, pings);
* :mod:`._stream`: one stream as an exchange, and :class:`~._stream.StreamLink`, all it may use of
  its connection;
* :mod:`._multiplexed`: what a stream of HTTP/2 and of HTTP/3 share (:class:`MultiplexedStream`,
  the base of both protocols' streams, and :func:`dispatch`);
* :mod:`._websocket`: RFC 8441 offers and the carrier a WebSocket session rides on;
* :mod:`._headers`: request heads in, response header lists out; :mod:`._hpack`: HPACK;
* :mod:`._limits`: budgets and windows that hold under attack;
* :mod:`._lean`: the fast paths through h2, the only module touching h2's internals.
"""

from ._connection import PREFACE, HTTP2Connection, UpgradedRequest, serve_h2c_upgrade
from ._headers import informational_headers, response_head, trailer_headers
from ._multiplexed import MultiplexedLink, MultiplexedStream, dispatch
from ._websocket import refusal_response, websocket_offer

__all__ = [
    'PREFACE',
    'HTTP2Connection',
    'MultiplexedLink',
    'MultiplexedStream',
    'UpgradedRequest',
    'dispatch',
    'informational_headers',
    'refusal_response',
    'response_head',
    'serve_h2c_upgrade',
    'trailer_headers',
    'websocket_offer',
]
