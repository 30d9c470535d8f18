"""An HTTP/3 client for tests: aioquic's own client (``aioquic.asyncio.client.connect`` and
``H3Connection``) over real UDP, with what the tests need to look at: responses (with 1xx heads and
trailers), the resets and STOP_SENDINGs the server sends, and how the connection ended.

:func:`h3_session` opens a connection; :meth:`H3Client.request` sends one request and waits for its
whole response; the lower-level calls (:meth:`H3Client.open`, :meth:`H3Client.send_data`,
:meth:`H3Client.reset`) let a test break the protocol on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, QuicEvent, StopSendingReceived, StreamReset

__all__ = ['H3Client', 'H3WebSocket', 'Response', 'h3_session']

Fields = list[tuple[bytes, bytes]]


@dataclass
class Response:
    stream_id: int
    status: int = 0
    headers: Fields = field(default_factory=list)
    body: bytes = b''
    interim: list[Fields] = field(default_factory=list)
    trailers: Fields = field(default_factory=list)
    #: The error code of the server's RESET_STREAM, if it reset the stream.
    reset: int | None = None
    #: The error code of the server's STOP_SENDING, if it sent one.
    stop_sending: int | None = None
    ended: bool = False

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)


class H3Client(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.responses: dict[int, Response] = {}
        self._done: dict[int, asyncio.Future[Response]] = {}
        #: The ConnectionTerminated event, once the connection ended.
        self.terminated: ConnectionTerminated | None = None
        self._terminated = asyncio.get_running_loop().create_future()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ConnectionTerminated):
            self.terminated = event
            if not self._terminated.done():
                self._terminated.set_result(event)
            for future in self._done.values():
                if not future.done():
                    future.set_exception(ConnectionError(f'connection closed: {event.error_code:#x}'))
        elif isinstance(event, StreamReset):
            response = self.responses.get(event.stream_id)
            if response is not None:
                response.reset = event.error_code
                self._finish(response)
        elif isinstance(event, StopSendingReceived):
            response = self.responses.get(event.stream_id)
            if response is not None:
                response.stop_sending = event.error_code
        for h3_event in self.h3.handle_event(event):
            response = self.responses.get(getattr(h3_event, 'stream_id', -1))
            if response is None:
                continue
            if isinstance(h3_event, HeadersReceived):
                status = dict(h3_event.headers).get(b':status')
                if status is None:
                    response.trailers = list(h3_event.headers)
                elif status.startswith(b'1'):
                    response.interim.append(list(h3_event.headers))
                else:
                    response.status = int(status)
                    response.headers = [(k, v) for k, v in h3_event.headers if not k.startswith(b':')]
            elif isinstance(h3_event, DataReceived):
                response.body += h3_event.data
            if getattr(h3_event, 'stream_ended', False):
                response.ended = True
                self._finish(response)

    def _finish(self, response: Response) -> None:
        future = self._done.get(response.stream_id)
        if future is not None and not future.done():
            future.set_result(response)

    # -- requests ------------------------------------------------------------------------------

    def open(self, headers: Fields, end_stream: bool = False) -> int:
        """Send a request's HEADERS as given (pseudo-headers included) on a new stream."""
        stream_id = self._quic.get_next_available_stream_id()
        self.responses[stream_id] = Response(stream_id)
        self._done[stream_id] = asyncio.get_running_loop().create_future()
        self.h3.send_headers(stream_id, headers, end_stream=end_stream)
        self.transmit()
        return stream_id

    def send_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None:
        self.h3.send_data(stream_id, data, end_stream)
        self.transmit()

    def reset(self, stream_id: int, code: int = 0x10C) -> None:
        """Cancel a request (RESET_STREAM and STOP_SENDING, H3_REQUEST_CANCELLED by default)."""
        self._quic.reset_stream(stream_id, code)
        self._quic.stop_stream(stream_id, code)
        self.transmit()

    async def wait_received(self, stream_id: int, timeout: float = 20) -> None:
        """Wait until the server acknowledged the whole request (HEADERS and FIN): it has then
        read it, and handed it to its app in the same turn."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._quic._streams[stream_id].sender._acked_fin:
            assert loop.time() < deadline, 'the server never acknowledged the request'
            await asyncio.sleep(0.01)

    async def response(self, stream_id: int, timeout: float = 20) -> Response:
        return await asyncio.wait_for(asyncio.shield(self._done[stream_id]), timeout)

    async def request(
        self,
        path: str,
        method: str = 'GET',
        body: bytes | None = None,
        headers: Fields = (),  # type: ignore[assignment]
        authority: bytes = b'localhost',
        timeout: float = 20,
    ) -> Response:
        fields = [
            (b':method', method.encode()),
            (b':scheme', b'https'),
            (b':authority', authority),
            (b':path', path.encode()),
            *headers,
        ]
        stream_id = self.open(fields, end_stream=body is None)
        if body is not None:
            self.send_data(stream_id, body, end_stream=True)
        return await self.response(stream_id, timeout)

    async def wait_terminated(self, timeout: float = 20) -> ConnectionTerminated:
        return await asyncio.wait_for(asyncio.shield(self._terminated), timeout)


@contextlib.asynccontextmanager
async def h3_session(
    port: int, host: str = '127.0.0.1', ca: str | None = None, **config: Any
) -> AsyncIterator[H3Client]:
    """A connected :class:`H3Client` (the certificate checked against ``ca`` when given)."""
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name='localhost', **config)
    if ca is None:
        configuration.verify_mode = ssl.CERT_NONE
    else:
        configuration.load_verify_locations(ca)
    async with connect(host, port, configuration=configuration, create_protocol=H3Client) as client:
        yield client  # type: ignore[misc]


class H3WebSocket:
    """A WebSocket over an HTTP/3 extended CONNECT stream (RFC 9220), frames by wsproto."""

    def __init__(self, client: H3Client, stream_id: int) -> None:
        from wsproto.connection import Connection, ConnectionType

        self.client = client
        self.stream_id = stream_id
        self.codec = Connection(ConnectionType.CLIENT)
        self._offset = 0

    @classmethod
    async def open(cls, client: H3Client, path: bytes, timeout: float = 20) -> tuple[H3WebSocket, Response]:
        """Send the extended CONNECT; return the socket and the response once its head came."""
        head = [
            (b':method', b'CONNECT'),
            (b':protocol', b'websocket'),
            (b':scheme', b'https'),
            (b':authority', b'localhost'),
            (b':path', path),
            (b'sec-websocket-version', b'13'),
        ]
        stream_id = client.open(head)
        response = client.responses[stream_id]
        await _poll(lambda: response.status != 0 or response.reset is not None or response.ended, timeout)
        return cls(client, stream_id), response

    def send(self, message: str | bytes) -> None:
        from wsproto.events import BytesMessage, TextMessage

        event = TextMessage(message) if isinstance(message, str) else BytesMessage(message)
        self.client.send_data(self.stream_id, self.codec.send(event))

    def close(self, code: int = 1000) -> None:
        from wsproto.events import CloseConnection

        self.client.send_data(self.stream_id, self.codec.send(CloseConnection(code)))

    async def receive(self, timeout: float = 20) -> object:
        """The next whole message (str or bytes), or the close frame (a ``CloseConnection``)."""
        from wsproto.events import BytesMessage, CloseConnection, TextMessage

        response = self.client.responses[self.stream_id]
        parts: list[str | bytes] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if len(response.body) > self._offset:
                self.codec.receive_data(response.body[self._offset :])
                self._offset = len(response.body)
            for event in self.codec.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    parts.append(event.data)
                    if event.message_finished:
                        return ''.join(parts) if isinstance(event, TextMessage) else b''.join(parts)  # type: ignore[arg-type]
                elif isinstance(event, CloseConnection):
                    return event
            assert loop.time() < deadline, 'no WebSocket message came'
            await asyncio.sleep(0.01)


async def _poll(condition: Any, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, 'timed out'
        await asyncio.sleep(0.01)
