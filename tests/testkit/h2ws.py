"""A WebSocket client over HTTP/2 (RFC 8441) for tests: extended CONNECT with the h2 client of
:mod:`testkit.h2`, and wsproto for the WebSocket frames inside the stream.

No stock Python client speaks RFC 8441. :class:`WebSocketStream` is the sans-IO part: it opens the
stream, turns the stream's DATA into WebSocket events and messages into DATA, and works on any
:class:`testkit.h2.Client` (the in-memory :class:`testkit.h2.Pair` of the protocol tests, or a
socket). :class:`H2WebSocketClient` puts it on a real socket (cleartext h2c with prior knowledge,
or TLS with ALPN ``h2``) with blocking calls and a timeout on each.
"""

from __future__ import annotations

import ssl
from collections import deque
from collections.abc import Callable, Sequence

import h2.exceptions
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.extensions import Extension, PerMessageDeflate

from testkit.h2 import Client, Response, SocketClient

__all__ = ['H2WebSocketClient', 'WebSocketStream', 'open_websocket']

Message = str | bytes | CloseConnection


class WebSocketStream:
    """One WebSocket on one HTTP/2 stream of an h2 :class:`Client`."""

    def __init__(self, client: Client, stream_id: int, deflate: PerMessageDeflate | None) -> None:
        self.client = client
        self.stream_id = stream_id
        self._deflate = deflate
        self._offset = 0
        self.codec: Connection | None = None
        #: Whole messages, then the server's close frame, in the order they came.
        self.messages: deque[Message] = deque()
        self.pongs: list[bytes] = []
        #: The server's close frame, once it came.
        self.close_frame: CloseConnection | None = None
        self._fragments: list[str | bytes] = []

    @property
    def response(self) -> Response:
        return self.client.responses[self.stream_id]

    @property
    def status(self) -> int | None:
        return self.response.status if self.response.headers else None

    @property
    def accepted(self) -> bool:
        return self.status == 200

    @property
    def ended(self) -> bool:
        """The server ended its side of the stream (END_STREAM) or reset it."""
        return self.response.ended or self.response.reset is not None

    def pull(self) -> None:
        """Turn what the stream received since the last call into messages."""
        if not self.accepted:
            return
        if self.codec is None:
            extensions: list[Extension] = []
            accepted = self.response.header(b'sec-websocket-extensions')
            if accepted is not None and self._deflate is not None:
                self._deflate.finalize(accepted.decode())
                extensions.append(self._deflate)
            self.codec = Connection(ConnectionType.CLIENT, extensions)
        body = self.response.body
        if len(body) > self._offset:
            data = bytes(body[self._offset :])
            self._offset = len(body)
            self.codec.receive_data(data)
            for event in self.codec.events():
                self._on_event(event)

    def _on_event(self, event: object) -> None:
        if isinstance(event, (TextMessage, BytesMessage)):
            self._fragments.append(event.data)
            if event.message_finished:
                parts, self._fragments = self._fragments, []
                if isinstance(event, TextMessage):
                    self.messages.append(''.join(str(part) for part in parts))
                else:
                    self.messages.append(b''.join(bytes(part) for part in parts))
        elif isinstance(event, Ping):
            self._send(event.response())
        elif isinstance(event, Pong):
            self.pongs.append(bytes(event.payload))
        elif isinstance(event, CloseConnection):
            self.close_frame = event
            self.messages.append(event)
            if self.codec is not None and self.codec.state is ConnectionState.REMOTE_CLOSING:
                self._send(event.response())  # answer the server's close, as a client must

    def next_message(self) -> Message | None:
        self.pull()
        return self.messages.popleft() if self.messages else None

    def _send(self, event: TextMessage | BytesMessage | Ping | CloseConnection | Pong) -> None:
        assert self.codec is not None, 'the WebSocket is not open'
        data = self.codec.send(event)
        if self.response.reset is None:
            try:
                self.client.send_body(self.stream_id, data)
            except h2.exceptions.StreamClosedError:
                self.client.outbox.pop(self.stream_id, None)  # the stream is over: nothing to send on

    def send(self, data: str | bytes, *, fragments: int = 1) -> None:
        """Send one message, split into ``fragments`` frames."""
        self.pull()
        size = max(1, -(-len(data) // fragments))
        parts = [data[start : start + size] for start in range(0, len(data), size)] or [data]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if isinstance(part, str):
                self._send(TextMessage(data=part, message_finished=last))
            else:
                self._send(BytesMessage(data=part, message_finished=last))

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are, for broken frames."""
        self.client.send_body(self.stream_id, data)

    def ping(self, payload: bytes = b'') -> None:
        self.pull()
        self._send(Ping(payload=payload))

    def close(self, code: int = 1000, reason: str = '') -> None:
        self.pull()
        self._send(CloseConnection(code=code, reason=reason))

    def end_stream(self) -> None:
        """END_STREAM from our side: the client's FIN."""
        self.client.send_body(self.stream_id, b'', end=True)


def open_websocket(
    client: Client,
    path: str,
    *,
    subprotocols: Sequence[str] = (),
    compression: bool = False,
    headers: Sequence[tuple[str, str]] = (),
    version: str | None = '13',
    protocol: str = 'websocket',
    scheme: str = 'http',
    authority: str = 'example.com',
) -> WebSocketStream:
    """Queue the extended CONNECT that opens a WebSocket at ``path``."""
    block = [(':protocol', protocol)]
    if version is not None:
        block.append(('sec-websocket-version', version))
    if subprotocols:
        block.append(('sec-websocket-protocol', ', '.join(subprotocols)))
    deflate = PerMessageDeflate() if compression else None
    if deflate is not None:
        block.append(('sec-websocket-extensions', f'{deflate.name}; {deflate.offer()}'))
    block += headers
    stream_id = client.request('CONNECT', path, headers=block, end=False, scheme=scheme, authority=authority)
    return WebSocketStream(client, stream_id, deflate)


class H2WebSocketClient:
    """WebSockets and plain requests multiplexed on one HTTP/2 connection over a real socket."""

    def __init__(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0) -> None:
        self.socket = SocketClient(host, port, ssl_context)
        self.client = self.socket.client
        self.scheme = 'https' if ssl_context is not None else 'http'
        self.authority = f'{host}:{port}'
        self.timeout = timeout
        # RFC 8441 §3: a client may only send :protocol once the server's SETTINGS allowed it.
        self.wait(lambda: bool(self.client.settings))

    def wait(self, done: Callable[[], bool], timeout: float | None = None) -> None:
        self.socket.read_until(lambda _: done(), timeout or self.timeout)

    def websocket(self, path: str, **options: object) -> WebSocketStream:
        """Open a WebSocket and wait for the server's answer (check ``status`` for a refusal)."""
        ws = open_websocket(self.client, path, scheme=self.scheme, authority=self.authority, **options)  # type: ignore[arg-type]
        self.wait(lambda: bool(ws.response.headers) or ws.ended)
        return ws

    def request(self, method: str, path: str, body: bytes | None = None) -> int:
        stream_id = self.client.request(method, path, body=body, scheme=self.scheme, authority=self.authority)
        self.socket.flush()
        return stream_id

    def response(self, stream_id: int) -> Response:
        response = self.client.responses[stream_id]
        self.wait(lambda: response.ended or response.reset is not None)
        return response

    def flush(self) -> None:
        self.socket.flush()

    def receive(self, ws: WebSocketStream, timeout: float | None = None) -> Message:
        """The next message, or the server's close frame; ``TimeoutError`` if none comes."""
        found: list[Message] = []

        def arrived() -> bool:
            message = ws.next_message()
            if message is not None:
                found.append(message)
                return True
            return False

        self.wait(arrived, timeout)
        if not found:
            raise ConnectionError(f'the connection closed before a message came on stream {ws.stream_id}')
        return found[0]

    def wait_ended(self, ws: WebSocketStream, timeout: float | None = None) -> None:
        """Wait until the server ended or reset the stream, taking in what came before."""

        def ended() -> bool:
            ws.pull()
            return ws.ended

        self.wait(ended, timeout)

    def close(self) -> None:
        self.socket.close()
