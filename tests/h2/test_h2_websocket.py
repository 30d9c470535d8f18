"""WebSockets over HTTP/2 (RFC 8441) through HTTP2Connection: an h2 client sends extended CONNECT and
wsproto frames inside the stream (testkit.h2ws), no sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import h2.errors
import h2.settings
import pytest
from wsproto.events import CloseConnection

from granian_http.exchange import Exchange, ResponseStateError
from granian_http.settings import HTTP2Settings
from granian_http.ws import INBOX_LIMIT, WebSocket, WebSocketClose, WebSocketClosed
from testkit.h2 import Client, Pair, Server, respond
from testkit.h2ws import WebSocketStream, open_websocket

pytestmark = pytest.mark.anyio

ENABLE_CONNECT_PROTOCOL = h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL


class EchoServer:
    """Accepts every WebSocket (first offered subprotocol) and echoes; answers plain requests."""

    def __init__(self, settings: HTTP2Settings | None = None, client: Client | None = None) -> None:
        self.sessions: list[WebSocket] = []
        self.tasks: list[asyncio.Future[None]] = []
        self.ends: list[WebSocketClose] = []
        self.received: list[str | bytes] = []
        self.exchanges: list[Exchange] = []
        self.pair = Pair(Server(handler=self.handle, settings=settings), client)

    def handle(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        if exchange.websocket is None:
            respond(exchange, b'plain ' + exchange.raw_path)
            return
        offered = exchange.websocket.subprotocols
        session = exchange.accept_websocket(offered[0] if offered else None, [(b'x-accepted', b'yes')])
        self.sessions.append(session)
        self.tasks.append(asyncio.ensure_future(self.echo(session)))

    async def echo(self, session: WebSocket) -> None:
        while True:
            message = await session.receive()
            if isinstance(message, WebSocketClose):
                self.ends.append(message)
                return
            self.received.append(message)
            try:
                await session.send(message)
            except WebSocketClosed:
                continue  # the next receive reports how it ended

    async def open(self, path: str = '/ws', **options: Any) -> WebSocketStream:
        ws = open_websocket(self.pair.client, path, **options)
        await self.pair.settle()
        return ws


async def test_enable_connect_protocol_is_advertised_only_with_websockets() -> None:
    assert Pair().client.settings[ENABLE_CONNECT_PROTOCOL] == 1
    assert Pair(Server(websockets=False)).client.settings.get(ENABLE_CONNECT_PROTOCOL, 0) == 0


async def test_extended_connect_is_a_websocket_offer() -> None:
    pair = Pair()
    ws = open_websocket(
        pair.client,
        '/chat/room?x=1',
        subprotocols=['one', 'two'],
        compression=True,
        headers=[('origin', 'https://example.com')],
    )
    pair.pump()
    (exchange,) = pair.server.exchanges
    assert exchange.websocket is not None
    assert exchange.websocket.subprotocols == ['one', 'two']
    assert exchange.websocket.extensions == ['permessage-deflate; client_max_window_bits=15; server_max_window_bits=15']
    assert exchange.websocket.key is None
    # Presented as RFC 6455's GET, so an app sees the same request on either HTTP version.
    assert (exchange.method, exchange.raw_path, exchange.query_string) == ('GET', b'/chat/room', b'x=1')
    assert exchange.http_version == '2'
    assert exchange.authority == 'example.com'
    assert (b'origin', b'https://example.com') in exchange.headers
    assert all(not name.startswith(b':') for name, _ in exchange.headers)
    assert not ws.ended


async def test_plain_requests_are_not_websockets() -> None:
    pair = Pair()
    pair.client.request('GET', '/')
    pair.pump()
    (exchange,) = pair.server.exchanges
    assert exchange.websocket is None
    with pytest.raises(ResponseStateError):
        exchange.accept_websocket()


async def test_echo_text_bytes_ping_and_client_close() -> None:
    server = EchoServer()
    ws = await server.open(subprotocols=['chat', 'other'])
    assert ws.status == 200
    assert ws.response.header(b'sec-websocket-protocol') == b'chat'
    assert ws.response.header(b'x-accepted') == b'yes'
    assert ws.response.header(b'content-length') is None
    assert not ws.ended
    ws.send('hello')
    ws.send(b'\x00\xff')
    ws.send('fragmented message', fragments=3)
    ws.ping(b'are you there')
    await server.pair.settle()
    assert [ws.next_message() for _ in range(3)] == ['hello', b'\x00\xff', 'fragmented message']
    assert ws.pongs == [b'are you there']
    ws.close(1000, 'bye')
    await server.pair.settle()
    closing = ws.next_message()
    assert isinstance(closing, CloseConnection) and closing.code == 1000
    assert server.ends == [WebSocketClose(1000, 'bye')]
    # The close handshake is complete: the server ends its side and leaves the client to end its own.
    assert ws.response.ended and ws.response.reset is None
    ws.end_stream()
    await server.pair.settle()
    assert not server.pair.server.conn._streams
    assert not server.pair.server.closed


async def test_permessage_deflate() -> None:
    server = EchoServer()
    ws = await server.open(compression=True)
    assert (ws.response.header(b'sec-websocket-extensions') or b'').startswith(b'permessage-deflate')
    text = 'compressible ' * 1000
    ws.send(text)
    await server.pair.settle()
    assert ws.next_message() == text
    data = ws.response.body
    assert len(data) < len(text) // 10  # it did travel compressed


async def test_server_close_waits_for_the_clients_answer() -> None:
    pair = Pair()
    ws = open_websocket(pair.client, '/ws')
    pair.pump()
    (exchange,) = pair.server.exchanges
    session = exchange.accept_websocket()
    await pair.settle()
    session.close(4002, 'custom')
    await pair.settle()
    closing = ws.next_message()
    assert isinstance(closing, CloseConnection) and (closing.code, closing.reason) == (4002, 'custom')
    # The test client answered the close: now the server ends the stream, without a reset.
    await pair.settle()
    assert ws.response.ended and ws.response.reset is None
    assert await session.receive() == WebSocketClose(4002, 'custom')


async def test_a_client_that_never_answers_the_close_gets_cancel() -> None:
    pair = Pair()
    ws = open_websocket(pair.client, '/ws')
    pair.pump()
    (exchange,) = pair.server.exchanges
    session = exchange.accept_websocket()
    await pair.settle()
    ws.pull()
    ws._on_event = lambda event: None  # type: ignore[method-assign]  # deaf: no answer to the close
    session._close_timeout = 0.05
    session.close(1000)
    await pair.settle()
    assert not ws.ended
    await asyncio.sleep(0.1)
    await pair.settle()
    assert ws.response.ended
    assert ws.response.reset == h2.errors.ErrorCodes.CANCEL
    assert not pair.server.conn._streams


async def test_client_reset_is_a_lost_connection() -> None:
    server = EchoServer()
    ws = await server.open()
    (session,) = server.sessions
    server.pair.client.conn.reset_stream(ws.stream_id, h2.errors.ErrorCodes.CANCEL)
    await server.pair.settle()
    assert server.ends == [WebSocketClose(1006)]
    with pytest.raises(WebSocketClosed):
        await session.send('late')
    assert not server.pair.server.conn._streams


async def test_client_end_stream_without_a_close_frame() -> None:
    server = EchoServer()
    ws = await server.open()
    ws.send('last words')
    ws.end_stream()
    await server.pair.settle()
    # Like a FIN after the data on HTTP/1.1: the message arrives, then the session ends abnormally.
    assert server.received == ['last words']
    assert server.ends == [WebSocketClose(1006)]
    # Our side ends too (the answer to a FIN); no reset is needed.
    assert ws.response.ended and ws.response.reset is None
    assert not server.pair.server.conn._streams


async def test_a_broken_frame_fails_the_websocket() -> None:
    server = EchoServer()
    ws = await server.open()
    ws.send_raw(b'\x81\x05hello')  # unmasked: a client must mask (RFC 6455 §5.1)
    await server.pair.settle()
    closing = ws.next_message()
    assert isinstance(closing, CloseConnection) and closing.code == 1002
    assert server.ends == [WebSocketClose(1006, closing.reason)]
    # The close frame goes first; the client broke the protocol, so the stream is reset too.
    assert ws.response.reset == h2.errors.ErrorCodes.CANCEL


async def test_data_sent_before_the_answer_reaches_the_session() -> None:
    pair = Pair()
    ws = open_websocket(pair.client, '/ws')
    pair.pump()
    (exchange,) = pair.server.exchanges
    # An optimistic client: its first message leaves before the 200 came. Frame it by hand.
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import TextMessage

    pair.client.send_body(ws.stream_id, Connection(ConnectionType.CLIENT).send(TextMessage(data='early')))
    pair.pump()
    session = exchange.accept_websocket()
    assert await session.receive() == 'early'


@pytest.mark.parametrize(
    ('options', 'status'),
    [
        pytest.param({'version': '8'}, 400, id='old-version'),
        pytest.param({'version': None}, 400, id='no-version'),
        pytest.param({'protocol': 'connect-udp'}, 501, id='other-protocol'),
    ],
)
async def test_refused_handshakes(options: dict[str, Any], status: int) -> None:
    pair = Pair()
    ws = open_websocket(pair.client, '/ws', **options)
    await pair.settle()
    assert ws.status == status
    assert ws.response.ended
    if status == 400:
        assert ws.response.header(b'sec-websocket-version') == b'13'
        assert b'Sec-WebSocket-Version' in ws.response.body
    assert not pair.server.exchanges
    again = pair.client.request('GET', '/after')
    await pair.settle()
    assert len(pair.server.exchanges) == 1 and not pair.client.responses[again].ended  # the connection goes on


async def test_extended_connect_without_websockets_is_malformed() -> None:
    pair = Pair(Server(websockets=False))
    ws = open_websocket(pair.client, '/ws')
    await pair.settle()
    assert ws.response.reset == h2.errors.ErrorCodes.PROTOCOL_ERROR
    assert not pair.server.exchanges


async def test_rejecting_is_an_ordinary_response() -> None:
    pair = Pair()
    ws = open_websocket(pair.client, '/ws')
    pair.pump()
    (exchange,) = pair.server.exchanges
    exchange.start(403, [(b'x-why', b'no')])
    exchange.end(b'forbidden')
    await pair.settle()
    assert ws.status == 403
    assert ws.response.header(b'x-why') == b'no'
    assert bytes(ws.response.body) == b'forbidden'
    assert ws.response.ended
    # The client's side of the CONNECT stream is still open: it is told to stop (RFC 9113 §8.1).
    assert ws.response.reset == h2.errors.ErrorCodes.NO_ERROR
    with pytest.raises(ResponseStateError):
        exchange.accept_websocket()


async def test_large_messages_both_ways_under_flow_control() -> None:
    settings = HTTP2Settings(
        initial_stream_window_size=65535, initial_connection_window_size=65535, max_send_buffer_size=65536
    )
    server = EchoServer(settings=settings, client=Client(window=65535))
    ws = await server.open()
    big = bytes(range(256)) * 12_000  # ~3 MiB, many times both windows
    ws.send(big)
    for _ in range(200):
        await server.pair.settle()
        if ws.messages:
            break
    assert ws.next_message() == big


async def test_send_waits_for_the_stream_window() -> None:
    client = Client(window=16384, auto_ack=False)
    pair = Pair(Server(settings=HTTP2Settings(max_send_buffer_size=32768)), client)
    ws = open_websocket(client, '/ws')
    pair.pump()
    (exchange,) = pair.server.exchanges
    session = exchange.accept_websocket()
    await pair.settle()
    sending = asyncio.ensure_future(session.send(b'x' * 100_000))
    await pair.settle()
    assert not sending.done()  # the window is spent and the queue is over the limit
    assert exchange.write_paused
    assert len(ws.response.body) < 20_000
    for _ in range(20):
        client.conn.increment_flow_control_window(65535, ws.stream_id)
        client.conn.increment_flow_control_window(65535)
        await pair.settle()
        if sending.done():
            break
    await asyncio.wait_for(sending, 1)
    while len(ws.response.body) < 100_000:
        client.conn.increment_flow_control_window(65535, ws.stream_id)
        client.conn.increment_flow_control_window(65535)
        await pair.settle()
    assert ws.next_message() == b'x' * 100_000


async def test_a_slow_reader_stops_the_client_with_flow_control() -> None:
    settings = HTTP2Settings(initial_stream_window_size=65535, initial_connection_window_size=16 * 1024 * 1024)
    pair = Pair(Server(settings=settings))
    ws = open_websocket(pair.client, '/ws')
    pair.pump()
    (exchange,) = pair.server.exchanges
    session = exchange.accept_websocket()
    await pair.settle()
    chunk = b'm' * 60_000
    count = INBOX_LIMIT // len(chunk) + 10  # beyond the session's unread limit plus the stream window
    for _ in range(count):
        ws.send(chunk)
    await pair.settle()
    # The session paused reading: the stream window closed and the rest waits in the client.
    assert pair.client.conn.local_flow_control_window(ws.stream_id) == 0
    assert ws.stream_id in pair.client.outbox
    received = 0
    while received < count:
        assert await asyncio.wait_for(session.receive(), 1) == chunk
        received += 1
        await pair.settle()
    assert ws.stream_id not in pair.client.outbox


async def test_websockets_and_requests_share_one_connection() -> None:
    server = EchoServer()
    first = await server.open('/one')
    plain = server.pair.client.request('GET', '/plain')
    second = await server.open('/two')
    await server.pair.settle()
    first.send('to one')
    second.send('to two')
    another = server.pair.client.request('GET', '/another')
    await server.pair.settle()
    assert first.next_message() == 'to one'
    assert second.next_message() == 'to two'
    assert bytes(server.pair.client.responses[plain].body) == b'plain /plain'
    assert bytes(server.pair.client.responses[another].body) == b'plain /another'
    first.close()
    await server.pair.settle()
    second.send('still here')
    await server.pair.settle()
    assert second.next_message() == 'still here'
    assert server.ends == [WebSocketClose(1000)]


async def test_graceful_shutdown_closes_websockets_with_1001() -> None:
    client = Client(finish_after_goaway=True)
    server = EchoServer(client=client)
    ws = await server.open()
    server.pair.server.conn.shutdown()
    await server.pair.settle()
    assert client.goaway is not None and client.goaway.error_code == h2.errors.ErrorCodes.NO_ERROR
    closing = ws.next_message()
    assert isinstance(closing, CloseConnection) and closing.code == 1001
    await server.pair.settle()
    # The client answered: the stream ends, and with it the draining connection.
    assert ws.response.ended
    await server.pair.settle()
    assert server.pair.server.closed


async def test_connection_lost_reaches_the_session() -> None:
    server = EchoServer()
    await server.open()
    server.pair.server.conn.connection_lost(None)
    await server.pair.settle()
    assert server.ends == [WebSocketClose(1006)]
