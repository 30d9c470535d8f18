"""WebSockets over HTTP/2 (RFC 8441) end to end: real server processes (ASGI and RSGI), over h2c
with prior knowledge and over TLS with ALPN, and the RFC 8441 client of testkit.h2ws on a socket."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wsproto.events import CloseConnection

from testkit.autobahn import CORE_CASES, judge, run_kosoku
from testkit.certs import Certs
from testkit.h2ws import H1Bridge, H2WebSocketClient
from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'
TARGETS = {'asgi': ('asgi_ws:app', 'asginl'), 'rsgi': ('rsgi_ws:app', 'rsgi')}


class Served:
    def __init__(self, interface: str, proc: ServerProcess, certs: Certs | None) -> None:
        self.interface = interface
        self.proc = proc
        self.certs = certs

    @property
    def tls(self) -> bool:
        return self.certs is not None

    def connect(self) -> H2WebSocketClient:
        context = None
        if self.certs is not None:
            context = ssl.create_default_context(cafile=str(self.certs.ca))
        return H2WebSocketClient('127.0.0.1', self.proc.port, context)


@pytest.fixture(scope='module', params=['asgi-h2c', 'asgi-tls', 'rsgi-h2c', 'rsgi-tls'])
def served(request: pytest.FixtureRequest, certs: Certs) -> Iterator[Served]:
    interface, transport = request.param.split('-')
    target, name = TARGETS[interface]
    options: dict[str, object] = {'interface': name, 'working_dir': str(APPS), 'log_access': True}
    if transport == 'tls':
        options.update(ssl_cert=certs.cert, ssl_key=certs.key)
    proc = api_server(target, **options).ready()
    yield Served(interface, proc, certs if transport == 'tls' else None)
    assert proc.stop() == 0


@pytest.fixture
def client(served: Served) -> Iterator[H2WebSocketClient]:
    conn = served.connect()
    yield conn
    conn.close()


def test_echo_text_bytes_ping_and_close(client: H2WebSocketClient) -> None:
    ws = client.websocket('/echo')
    assert ws.status == 200
    ws.send('hello')
    ws.send(b'\x00\xff')
    ws.send('in three fragments', fragments=3)
    ws.ping(b'ping?')
    client.flush()
    assert client.receive(ws) == 'hello'
    assert client.receive(ws) == b'\x00\xff'
    assert client.receive(ws) == 'in three fragments'
    client.wait(lambda: ws.pongs == [b'ping?'])
    ws.close(1000, 'done')
    client.flush()
    answer = client.receive(ws)
    assert isinstance(answer, CloseConnection) and answer.code == 1000
    client.wait_ended(ws)
    assert ws.response.reset is None


def test_scope(served: Served, client: H2WebSocketClient) -> None:
    ws = client.websocket('/scope?a=b')
    assert ws.status == 200
    message = client.receive(ws)
    assert isinstance(message, str)
    scope = json.loads(message)
    assert scope['http_version'] == '2'
    assert scope['path'] == '/scope'
    if served.interface == 'asgi':
        assert scope['type'] == 'websocket'
        assert scope['scheme'] == ('wss' if served.tls else 'ws')
        assert scope['query_string'] == 'a=b'
        assert scope['subprotocols'] == []
    else:
        assert scope['proto'] == 'ws'
        assert scope['scheme'] == ('https' if served.tls else 'http')
        assert scope['method'] == 'GET'
        assert scope['query_string'] == 'a=b'
    closing = client.receive(ws)
    assert isinstance(closing, CloseConnection) and closing.code == 1000
    client.wait_ended(ws)


def test_rejected_with_403(client: H2WebSocketClient) -> None:
    ws = client.websocket('/reject')
    client.wait_ended(ws)
    assert ws.status == 403
    # The connection serves on.
    again = client.websocket('/echo')
    assert again.status == 200


def test_large_message_and_compression(client: H2WebSocketClient) -> None:
    ws = client.websocket('/echo', compression=True)
    assert (ws.response.header(b'sec-websocket-extensions') or b'').startswith(b'permessage-deflate')
    big = bytes(range(256)) * 40_000  # 10 MiB, many times the flow control windows
    ws.send(big)
    client.flush()
    assert client.receive(ws, timeout=60) == big
    text = 'squeeze me ' * 10_000
    ws.send(text)
    client.flush()
    assert client.receive(ws) == text


def test_two_websockets_and_requests_on_one_connection(served: Served, client: H2WebSocketClient) -> None:
    first = client.websocket('/echo')
    plain = client.request('GET', '/observed' if served.interface == 'asgi' else '/echo_close')
    second = client.websocket('/echo')
    assert (first.status, second.status) == (200, 200)
    assert first.stream_id != second.stream_id
    for index in range(20):
        first.send(f'first {index}')
        second.send(f'second {index}'.encode())
    client.flush()
    assert [client.receive(first) for _ in range(20)] == [f'first {index}' for index in range(20)]
    assert [client.receive(second) for _ in range(20)] == [f'second {index}'.encode() for index in range(20)]
    assert client.response(plain).status == 200
    first.close()
    client.flush()
    assert isinstance(client.receive(first), CloseConnection)
    second.send('still open')
    client.flush()
    assert client.receive(second) == 'still open'
    last = client.request('GET', '/observed' if served.interface == 'asgi' else '/echo_close')
    assert client.response(last).status == 200


def test_subprotocol_and_close_code(served: Served, client: H2WebSocketClient) -> None:
    if served.interface == 'rsgi':
        # RSGI's accept() takes no subprotocol; its close is always 1000 (checked in test_scope).
        ws = client.websocket('/reject-401')
        client.wait_ended(ws)
        assert ws.status == 401
        return
    ws = client.websocket('/echo', subprotocols=['one', 'two'])
    assert ws.response.header(b'sec-websocket-protocol') == b'two'  # the app picks the last offered
    assert ws.response.header(b'x-accepted') == b'yes'
    closing = client.websocket('/close-code')
    message = client.receive(closing)
    assert isinstance(message, CloseConnection) and (message.code, message.reason) == (4002, 'custom')
    client.wait_ended(closing)


def test_access_log_and_bad_version(served: Served, client: H2WebSocketClient) -> None:
    ws = client.websocket('/echo', version='8')
    client.wait_ended(ws)
    assert ws.status == 400
    assert ws.response.header(b'sec-websocket-version') == b'13'
    line = '"GET /echo HTTP/2.0" 101'
    before = served.proc.output.count(line)
    logged = client.websocket('/echo')
    assert logged.status == 200
    deadline = time.monotonic() + 10
    while served.proc.output.count(line) == before:
        assert time.monotonic() < deadline, served.proc.output
        time.sleep(0.05)


@pytest.mark.parametrize(('interface', 'app'), [('asginl', 'asgi_ws:app'), ('rsgi', 'rsgi_ws:app')])
def test_autobahn_cases_1_to_10_over_http2(interface: str, app: str, tmp_path: Path) -> None:
    """Autobahn's client speaks HTTP/1.1 only: H1Bridge carries each of its connections on an
    extended CONNECT stream, so the cases exercise the HTTP/2 carrier (flow control, closes)."""
    server = api_server(app, interface=interface, working_dir=str(APPS))
    bridge = H1Bridge('127.0.0.1', 0)
    try:
        server.ready()
        bridge.target = ('127.0.0.1', server.port)
        address = bridge.start()
        results = run_kosoku(address, CORE_CASES, tmp_path)
    finally:
        bridge.stop()
        server.stop()
    assert len(bridge.statuses) >= len(results) and set(bridge.statuses) == {200}
    print(f'autobahn 1-10 over HTTP/2 ({interface}): {judge(results)}')
