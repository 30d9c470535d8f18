"""The websocket protocol object an RSGI app receives, its transport and its messages."""

from __future__ import annotations

from collections.abc import Awaitable
from enum import Enum
from typing import Protocol, runtime_checkable

__all__ = ['WebsocketMessage', 'WebsocketMessageType', 'WebsocketProtocol', 'WebsocketTransport']


class WebsocketMessageType(int, Enum):
    """The kind of a received websocket message."""

    #: The connection was closed; the message carries no data.
    close = 0
    #: A binary message; ``data`` is bytes.
    bytes = 1
    #: A text message; ``data`` is str.
    string = 2


class WebsocketMessage:
    """A message received from a websocket: its :attr:`kind` and its :attr:`data`."""

    __slots__ = ('data', 'kind')

    def __init__(self, kind: int, data: bytes | str | None = None) -> None:
        #: A :class:`WebsocketMessageType` value (compare with the enum or with 0, 1, 2).
        self.kind = kind
        #: The payload: bytes for ``bytes``, str for ``string``, ``None`` for ``close``.
        self.data = data

    def __repr__(self) -> str:
        return f'WebsocketMessage(kind={self.kind!r}, data={self.data!r})'

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WebsocketMessage):
            return NotImplemented
        return self.kind == other.kind and self.data == other.data

    __hash__ = None  # type: ignore[assignment]


@runtime_checkable
class WebsocketTransport(Protocol):
    """An accepted websocket, returned by :meth:`WebsocketProtocol.accept`."""

    __slots__ = ()

    def receive(self) -> Awaitable[WebsocketMessage]:
        """Wait for the next message (pings and pongs are handled by the server, not returned).

        A close from the client comes back as a message of kind ``close``. Raises
        :class:`~granian_rsgi_spec.ProtocolClosed` when the connection broke, and
        :class:`~granian_rsgi_spec.ProtocolError` when another ``receive`` is already waiting.
        """
        ...

    def send_bytes(self, data: bytes) -> Awaitable[None]:
        """Send a binary message.

        Raises :class:`~granian_rsgi_spec.ProtocolError` after :meth:`WebsocketProtocol.close`, and
        :class:`~granian_rsgi_spec.ProtocolClosed` when the write fails.
        """
        ...

    def send_str(self, data: str) -> Awaitable[None]:
        """Send a text message; errors as for :meth:`send_bytes`."""
        ...


@runtime_checkable
class WebsocketProtocol(Protocol):
    """One websocket connection request, handed to the app with a scope whose ``proto`` is ``'ws'``."""

    __slots__ = ()

    def accept(self) -> Awaitable[WebsocketTransport]:
        """Complete the handshake and return the transport to exchange messages through."""
        ...

    def close(self, status: int | None = None) -> None:
        """Close the websocket (a plain call, not a coroutine).

        Before :meth:`accept` it refuses the handshake with an HTTP response of ``status`` (pass
        one, e.g. 403). After it, it closes the connection. A handler that returns without closing
        is closed by the server.
        """
        ...
