"""RSGI, Granian's server interface (version 1.6), as types a framework can use without a server.

An RSGI app is an async callable ``app(scope, protocol)``. The server calls it once per HTTP
request (``scope.proto == 'http'``, ``protocol`` an :class:`HTTPProtocol`) and once per
websocket connection (``scope.proto == 'ws'``, ``protocol`` a :class:`WebsocketProtocol`). An app
object may also offer ``__rsgi__`` (used instead of ``__call__``), ``__rsgi_init__(loop)`` and
``__rsgi_del__(loop)`` (see :class:`RSGIAppObject`, :class:`RSGIInit`, :class:`RSGIDel`).

The protocol classes here are :class:`typing.Protocol` s: annotate with them; the server supplies
its own classes that satisfy them. :class:`ProtocolError`, :class:`ProtocolClosed`,
:class:`WebsocketMessage` and :class:`WebsocketMessageType` are the concrete classes servers use.
"""

from __future__ import annotations

from ._app import RSGIApp, RSGIAppObject, RSGIDel, RSGIInit, RSGIProtocol
from ._errors import ProtocolClosed, ProtocolError
from ._headers import Headers
from ._http import HTTPProtocol, HTTPStreamTransport, ResponseHeaders
from ._scope import Scope
from ._websocket import WebsocketMessage, WebsocketMessageType, WebsocketProtocol, WebsocketTransport

__all__ = [
    'RSGI_VERSION',
    'HTTPProtocol',
    'HTTPStreamTransport',
    'Headers',
    'ProtocolClosed',
    'ProtocolError',
    'RSGIApp',
    'RSGIAppObject',
    'RSGIDel',
    'RSGIInit',
    'RSGIProtocol',
    'ResponseHeaders',
    'Scope',
    'WebsocketMessage',
    'WebsocketMessageType',
    'WebsocketProtocol',
    'WebsocketTransport',
]

#: The version of the specification these types describe (``scope.rsgi_version``).
RSGI_VERSION = '1.6'
