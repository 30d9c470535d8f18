"""A WebSocket client over HTTP/2 (RFC 8441) for tests: extended CONNECT with the h2 client of
:mod:`testkit.h2`, and wsproto for the WebSocket frames inside the stream.

No stock Python client speaks RFC 8441. :class:`WebSocketStream` is the sans-IO part: it opens the
stream, turns the stream's DATA into WebSocket events and messages into DATA, and works on any
:class:`testkit.h2.Client` (the in-memory :class:`testkit.h2.Pair` of the protocol tests, or a
socket). :class:`H2WebSocketClient` puts it on a real socket (cleartext h2c with prior knowledge,
or TLS with ALPN ``h2``) with blocking calls and a timeout on each.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ssl
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.extensions import Extension, PerMessageDeflate

from testkit.h2 import Client, Response, SocketClient

__all__ = ['H1Bridge', 'H2WebSocketClient', 'WebSocketStream', 'open_websocket']

Message = str | bytes | CloseConnection

_GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


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
        #: The payloads of the server's pings; each is answered unless ``answers_pings`` is off
        #: (a client that went deaf, for the server's keep-alive).
        self.pings: list[bytes] = []
        self.answers_pings = True
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
            self.pings.append(bytes(event.payload))
            if self.answers_pings:
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


class H1Bridge:
    """Lets an HTTP/1.1 WebSocket client talk to a server's WebSockets over HTTP/2.

    Each client connection is answered with 101 and carried on its own h2c connection to the
    server as an extended CONNECT stream; the bytes of the WebSocket frames pass through
    unchanged both ways (RFC 8441 keeps RFC 6455 framing). Closes map as RFC 8441 §5 says: the
    client's FIN is END_STREAM, the server's END_STREAM closes the client's connection, and a
    reset aborts it. Autobahn's client (kosoku) only speaks HTTP/1.1; through this it tests the
    HTTP/2 carrier. It runs on its own loop in a thread: ``start()`` returns its address.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.statuses: list[int] = []
        # asyncio keeps tasks weakly: a tunnel whose sockets both wait on flow control would
        # otherwise be collected mid-flight.
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> str:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._serve, '127.0.0.1', 0), self._loop)
        self._server = started.result(10)
        host, port = self._server.sockets[0].getsockname()[:2]
        return f'{host}:{port}'

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b'\r\n\r\n')
            request_line, *lines = head.decode('latin-1').split('\r\n')
            target = request_line.split(' ')[1]
            fields: dict[str, list[str]] = {}
            for line in lines:
                if ':' in line:
                    name, value = line.split(':', 1)
                    fields.setdefault(name.strip().lower(), []).append(value.strip())
            key = fields['sec-websocket-key'][0]
            up_reader, upstream = await asyncio.open_connection(*self.target)
            await _Tunnel(reader, writer, up_reader, upstream, self).run(target, key, fields)
        except (ConnectionError, asyncio.IncompleteReadError, KeyError, h2.exceptions.ProtocolError):
            writer.transport.abort()
        finally:
            if upstream is not None:
                upstream.transport.abort()


class _Tunnel:
    """One client connection of :class:`H1Bridge` and the HTTP/2 stream that carries it."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
        bridge: H1Bridge,
    ) -> None:
        self.reader, self.writer = reader, writer
        self.up_reader, self.upstream = up_reader, upstream
        self.bridge = bridge
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.conn = h2.connection.H2Connection(config)
        self.stream_id = 0
        self.outbox = bytearray()
        self.client_done = False
        self.window = asyncio.Event()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.upstream.write(data)

    async def events(self) -> list[Any]:
        data = await self.up_reader.read(65536)
        if not data:
            raise ConnectionError('the server closed the connection')
        events = self.conn.receive_data(data)
        self.flush()
        return events

    async def run(self, target: str, key: str, fields: dict[str, list[str]]) -> None:
        conn = self.conn
        conn.initiate_connection()
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**24})
        conn.increment_flow_control_window(2**24)
        self.flush()
        while not conn.remote_settings.enable_connect_protocol:
            await self.events()
        self.stream_id = conn.get_next_available_stream_id()
        block = [
            (':method', 'CONNECT'),
            (':protocol', 'websocket'),
            (':scheme', 'http'),
            (':authority', f'{self.bridge.target[0]}:{self.bridge.target[1]}'),
            (':path', target),
            ('sec-websocket-version', '13'),
        ]
        for name in ('sec-websocket-protocol', 'sec-websocket-extensions'):
            if name in fields:
                block.append((name, ', '.join(fields[name])))
        conn.send_headers(self.stream_id, block)
        self.flush()
        response: dict[bytes, bytes] | None = None
        while response is None:
            for event in await self.events():
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == self.stream_id:
                    response = dict(event.headers)
                elif isinstance(event, h2.events.StreamReset) and event.stream_id == self.stream_id:
                    raise ConnectionError('the server reset the handshake')
        status = int(response[b':status'])
        self.bridge.statuses.append(status)
        if status != 200:
            self.writer.write(b'HTTP/1.1 %d Refused\r\ncontent-length: 0\r\nconnection: close\r\n\r\n' % status)
            await self.writer.drain()
            self.writer.close()
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest())
        head = b'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n'
        head += b'sec-websocket-accept: ' + accept + b'\r\n'
        for name in (b'sec-websocket-protocol', b'sec-websocket-extensions'):
            if name in response:
                head += name + b': ' + response[name] + b'\r\n'
        self.writer.write(head + b'\r\n')
        pump = asyncio.ensure_future(self.client_to_server())
        self.bridge._tasks.add(pump)
        pump.add_done_callback(self.bridge._tasks.discard)
        try:
            await self.server_to_client()
        finally:
            pump.cancel()

    async def client_to_server(self) -> None:
        """The client's bytes become DATA as flow control allows; its FIN becomes END_STREAM."""
        conn = self.conn
        while True:
            data = await self.reader.read(65536)
            if not data:
                self.client_done = True
            self.outbox += data
            while self.outbox:
                size = min(
                    len(self.outbox), conn.local_flow_control_window(self.stream_id), conn.max_outbound_frame_size
                )
                if size <= 0:
                    self.window.clear()
                    await self.window.wait()
                    continue
                try:
                    conn.send_data(self.stream_id, bytes(self.outbox[:size]))
                except h2.exceptions.StreamClosedError:
                    return  # the server reset the stream
                del self.outbox[:size]
                self.flush()
            if self.client_done:
                try:
                    conn.end_stream(self.stream_id)
                except h2.exceptions.StreamClosedError:
                    return
                self.flush()
                return

    async def server_to_client(self) -> None:
        """DATA goes to the client; END_STREAM closes its connection, a reset aborts it."""
        while True:
            try:
                events = await self.events()
            except ConnectionError:
                self.writer.transport.abort()
                return
            for event in events:
                if getattr(event, 'stream_id', None) not in (self.stream_id, 0):
                    continue
                if isinstance(event, h2.events.DataReceived):
                    self.writer.write(event.data)
                    self.conn.acknowledge_received_data(event.flow_controlled_length, self.stream_id)
                    self.flush()
                elif isinstance(event, h2.events.WindowUpdated):
                    self.window.set()
                elif isinstance(event, h2.events.StreamEnded):
                    await self.writer.drain()
                    self.writer.close()
                    return
                elif isinstance(event, h2.events.StreamReset):
                    self.writer.transport.abort()
                    return
            await self.writer.drain()
