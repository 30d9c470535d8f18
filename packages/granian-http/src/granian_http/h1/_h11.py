"""Reading HTTP/1.1 requests with h11's own readers, without h11's connection state machine.

``h11.Connection`` wraps its readers in a state machine for both peers: keep-alive, 100-continue,
protocol switches and the server's own writes, all of which this server decides itself (it
writes responses with :mod:`._h1_response`). That bookkeeping cost as much as the parsing: about
28 µs of a small request, against 12 µs for the readers alone.

So this module drives h11's readers directly: its request-line and header reader (which builds
and validates the ``h11.Request``), its body-framing rule, and its Content-Length and chunked
readers. The parsing and every check stay h11's; what is left out is the state machine.

Those are h11 internals (``h11._readers``, ``h11._receivebuffer``, ``h11._connection``), so
granian-http pins h11 to the minor versions it is tested with.

One parser reads one request: after its end it reports ``NEED_DATA`` until :meth:`restart`,
which the connection calls once the response is done, taking any pipelined bytes with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h11
from h11._connection import _body_framing
from h11._readers import READERS, maybe_read_from_IDLE_client
from h11._receivebuffer import ReceiveBuffer
from h11._state import SEND_BODY

__all__ = ['NEED_DATA', 'RequestParser']

NEED_DATA = h11.NEED_DATA

# Framing name ("content-length", "chunked") -> h11's body reader class.
_BODY_READERS: dict[str, Callable[..., Any]] = READERS[SEND_BODY]  # type: ignore[assignment]

Event = h11.Request | h11.Data | h11.EndOfMessage


def _done(_: ReceiveBuffer) -> None:
    """The reader after the end of a request: nothing more until the next cycle."""
    return None


class RequestParser:
    __slots__ = ('_buffer', '_limit', '_reader')

    def __init__(self, limit: int) -> None:
        self._buffer = ReceiveBuffer()
        #: None while expecting a head; then the body reader; then :func:`_done`.
        self._reader: Callable[[ReceiveBuffer], Any] | None = None
        self._limit = limit

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def done(self) -> bool:
        """True once the request has ended (the bytes still buffered belong to the next one)."""
        return self._reader is _done

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_event(self) -> Event | type[h11.NEED_DATA]:
        """The next event of this request, or ``NEED_DATA``.

        Raises :class:`h11.RemoteProtocolError` with h11's status hint for a malformed request.
        """
        reader = self._reader
        try:
            if reader is None:
                request = maybe_read_from_IDLE_client(self._buffer)
                if request is None:
                    return NEED_DATA
                framing, args = _body_framing(request.method, request)
                self._reader = _BODY_READERS[framing](*args)
                return request
            event = reader(self._buffer)
        except h11.LocalProtocolError as exc:
            # h11 raises these from its readers; its Connection would re-raise them as remote.
            raise h11.RemoteProtocolError(str(exc), exc.error_status_hint) from None
        if event is None:
            if reader is not _done and len(self._buffer) > self._limit:
                # Only a chunk-size line can grow without an event: one that never ends.
                raise h11.RemoteProtocolError('Receive buffer too long', 431)
            return NEED_DATA
        if type(event) is h11.EndOfMessage:
            self._reader = _done
        return event  # type: ignore[no-any-return]

    def pending(self) -> bytes:
        """The bytes received but not parsed (a pipelined request, or a protocol's first bytes)."""
        return bytes(self._buffer)

    def restart(self) -> bytes:
        """Get ready for the next request; return the unparsed bytes for the connection to check."""
        pending = bytes(self._buffer)
        self._buffer = ReceiveBuffer()
        self._reader = None
        return pending
