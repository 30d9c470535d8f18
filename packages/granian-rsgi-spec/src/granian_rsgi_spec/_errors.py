"""The two errors an RSGI server raises into the app.

Both subclass :class:`RuntimeError`, as upstream's do, so code written against upstream Granian
(``except RuntimeError``) keeps working; servers raise these very classes, so
``except granian_rsgi_spec.ProtocolClosed`` catches what the server raises.
"""

from __future__ import annotations

__all__ = ['ProtocolClosed', 'ProtocolError']


class ProtocolError(RuntimeError):
    """The app used the protocol out of order.

    Raised, for example, when the request body is read a second time (``await protocol()`` after
    ``await protocol()`` or after ``async for``), or when ``response_stream`` is called once a
    response was already chosen.
    """

    def __init__(self, message: str = 'RSGI protocol error') -> None:
        super().__init__(message)


class ProtocolClosed(RuntimeError):
    """The transport is gone: the client disconnected, or the response is already over.

    Raised while reading a request body the client abandoned, and by the stream transport's
    ``send_bytes``/``send_str`` once the client has gone away.
    """

    def __init__(self, message: str = 'RSGI transport is closed') -> None:
        super().__init__(message)
