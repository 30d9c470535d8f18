"""The HTTP protocol object an RSGI app receives, and the transport of a streamed response."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Protocol, runtime_checkable

__all__ = ['HTTPProtocol', 'HTTPStreamTransport', 'ResponseHeaders']

#: Response headers: ``(name, value)`` string pairs, sent in order (a name may repeat).
ResponseHeaders = Sequence[tuple[str, str]]


@runtime_checkable
class HTTPStreamTransport(Protocol):
    """The body of a streamed response, returned by :meth:`HTTPProtocol.response_stream`.

    The response ends when the app's handler returns.
    """

    __slots__ = ()

    def send_bytes(self, data: bytes) -> Awaitable[None]:
        """Send a chunk of the body.

        Returns at once unless the client is slower than the app, in which case it waits for the
        client to catch up. Raises :class:`~granian_rsgi_spec.ProtocolClosed` once the client is
        gone (or the handler has returned).
        """
        ...

    def send_str(self, data: str) -> Awaitable[None]:
        """Send a chunk of the body given as text (encoded as UTF-8); otherwise as :meth:`send_bytes`."""
        ...


@runtime_checkable
class HTTPProtocol(Protocol):
    """One HTTP request's body and response, handed to the app with the scope.

    The request body is read either whole (``await protocol()``) or in chunks
    (``async for chunk in protocol``), once. The response is chosen by calling exactly one of the
    ``response_*`` methods: those are plain calls (not coroutines) that hand the response to the
    server and return. Only the first one counts: later calls are ignored, except
    :meth:`response_stream`, which raises :class:`~granian_rsgi_spec.ProtocolError`. A handler
    that returns, or raises, without choosing a response gets a 500 with an empty body.
    """

    __slots__ = ()

    def __call__(self) -> Awaitable[bytes]:
        """Read the entire request body.

        Raises :class:`~granian_rsgi_spec.ProtocolError` when the body was already read (by a
        previous call or by iteration) and :class:`~granian_rsgi_spec.ProtocolClosed` when the
        client goes away before the body is complete.
        """
        ...

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Iterate over the request body as it arrives (RSGI 1.2).

        Chunks are yielded as they are received; the last one is an empty ``b''``. Errors are as
        for ``await protocol()``, of which this is the streaming alternative.
        """
        ...

    def client_disconnect(self) -> Awaitable[None]:
        """Wait until the client's connection closes (RSGI 1.5).

        A keep-alive connection outlives the request, so an app that awaits this alongside its
        work must cancel the wait once it has responded.
        """
        ...

    def response_empty(self, status: int = 200, headers: ResponseHeaders = ()) -> None:
        """Respond with ``status``, ``headers`` and no body."""
        ...

    def response_str(self, status: int = 200, headers: ResponseHeaders = (), body: str = '') -> None:
        """Respond with a text body, encoded as UTF-8 (set ``content-type`` yourself)."""
        ...

    def response_bytes(self, status: int = 200, headers: ResponseHeaders = (), body: bytes = b'') -> None:
        """Respond with a bytes body."""
        ...

    def response_file(self, status: int, headers: ResponseHeaders, file: str) -> None:
        """Respond with the content of the file at path ``file``, read by the server.

        The app sets the content headers. A file that cannot be opened gives a 404 instead.
        """
        ...

    def response_file_range(self, status: int, headers: ResponseHeaders, file: str, start: int, end: int) -> None:
        """Respond with the bytes ``[start, end)`` of the file at path ``file`` (RSGI 1.6).

        The app sets ``content-range`` and the other headers (and usually status 206). Raises
        :class:`ValueError` (``'Invalid range'``) at once when ``start >= end``.
        """
        ...

    def response_stream(self, status: int = 200, headers: ResponseHeaders = ()) -> HTTPStreamTransport:
        """Start a response whose body the app sends in chunks through the returned transport (RSGI 1.1).

        The body ends when the handler returns.
        """
        ...
