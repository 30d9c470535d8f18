"""HTTP/2 (RFC 9113) on h2: the connection, its streams, and WebSockets over HTTP/2 (RFC 8441).

Public names: :class:`HTTP2Connection` (the ``asyncio.Protocol`` for a connection that starts as
HTTP/2: ALPN ``h2``, or h2c with prior knowledge), :data:`PREFACE`, and :func:`serve_h2c_upgrade`
with :class:`UpgradedRequest`, the door through which ``granian_http.h1`` hands over a connection
after ``Upgrade: h2c``.
Module map:

* :mod:`._connection`: the connection (events, dispatch, flushing, flow control, GOAWAY, pings);
* :mod:`._stream`: one stream as an exchange, and :class:`~._stream.StreamLink`, all it may use of
  its connection;
* :mod:`._websocket`: RFC 8441 offers and the carrier a WebSocket session rides on;
* :mod:`._headers`: request heads in, response header lists out; :mod:`._hpack`: HPACK;
* :mod:`._limits`: budgets and windows that hold under attack;
* :mod:`._lean`: the fast paths through h2, the only module touching h2's internals.
"""

from ._connection import PREFACE, HTTP2Connection, UpgradedRequest, serve_h2c_upgrade

__all__ = ['PREFACE', 'HTTP2Connection', 'UpgradedRequest', 'serve_h2c_upgrade']
