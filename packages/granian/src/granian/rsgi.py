from granian_rsgi_spec import RSGI_VERSION as RSGI_VERSION
from granian_rsgi_spec import Headers as Headers
from granian_rsgi_spec import HTTPProtocol as HTTPProtocol
from granian_rsgi_spec import HTTPStreamTransport as HTTPStreamTransport
from granian_rsgi_spec import ProtocolClosed as ProtocolClosed
from granian_rsgi_spec import ProtocolError as ProtocolError
from granian_rsgi_spec import ResponseHeaders as ResponseHeaders
from granian_rsgi_spec import RSGIApp as RSGIApp
from granian_rsgi_spec import RSGIAppObject as RSGIAppObject
from granian_rsgi_spec import RSGIDel as RSGIDel
from granian_rsgi_spec import RSGIInit as RSGIInit
from granian_rsgi_spec import RSGIProtocol as RSGIProtocol
from granian_rsgi_spec import Scope as Scope
from granian_rsgi_spec import WebsocketMessage as WebsocketMessage
from granian_rsgi_spec import WebsocketMessageType as WebsocketMessageType
from granian_rsgi_spec import WebsocketProtocol as WebsocketProtocol
from granian_rsgi_spec import WebsocketTransport as WebsocketTransport

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
