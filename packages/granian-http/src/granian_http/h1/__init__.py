"""HTTP/1.1 (RFC 9112): the connection, its exchanges, and the parser seam.

The one public name is :class:`HTTP1Connection`, the ``asyncio.Protocol`` a listener creates.
Module map, in the order a request meets them:

* :mod:`._connection`: the connection (reading heads, the parser cycle, keep-alive, timers,
  upgrades to WebSocket and h2c);
* :mod:`._guard`: checks on the raw head before any parser reads it;
* :mod:`._events`: the parser seam, our own request events; :mod:`._h11` is the h11-based parser
  behind it (the reference), the only module touching h11's internals; :mod:`._httptools` the
  llhttp one (``granian[speedups]``); :mod:`._parsers` picks one (``HTTP1Settings.parser``);
* :mod:`._exchange`: one request and its response on the wire (framing, keep-alive, 100-continue);
* :mod:`._response`: serializing response heads;
* :mod:`._upgrade`: recognising ``Upgrade: h2c``; :mod:`._websocket`: the 101 and the carrier.
"""

from ._connection import HTTP1Connection
from ._parsers import PARSERS as PARSERS
from ._parsers import available as parser_available

__all__ = ['PARSERS', 'HTTP1Connection', 'parser_available']
