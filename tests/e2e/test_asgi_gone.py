"""ASGI spec 2.4 end to end: once the client is gone, ``send`` raises an ``OSError`` subclass.

For HTTP over HTTP/1.1 (the connection drops) and HTTP/2 (the stream is reset), and for
WebSockets over both (a close frame, a dropped connection, a reset stream); ``receive`` still
reports the disconnect; an app that lets the error out is not logged as failing; the scopes say
which spec versions they follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from testkit.h2 import SocketClient
from testkit.h2ws import H2WebSocketClient
from testkit.poll import eventually
from testkit.process import ServerProcess, api_server
from testkit.raw import leave_mid_stream, open_websocket

APPS = Path(__file__).parent / 'apps'
GONE = ['ClientDisconnected', True]
WS_GONE = ['WebSocketClosed', True]


def start() -> ServerProcess:
    return api_server('asgi_gone:app', interface='asgi', working_dir=str(APPS), log_access=True).ready()


@pytest.fixture(scope='module')
def server() -> Iterator[ServerProcess]:
    proc = start()
    yield proc
    assert proc.stop() == 0


def observed(server: ServerProcess, key: str) -> object:
    return eventually(
        lambda: httpx.get(f'{server.url}/observed', params={'key': key}).json(),
        lambda value: value is not None,
        what=key,
    )


def drop_websocket(server: ServerProcess, path: str) -> None:
    """Open a WebSocket over HTTP/1.1 and drop the connection without a close frame."""
    sock, _ = open_websocket(server.port, path)
    sock.close()


def test_scope_versions(server: ServerProcess) -> None:
    versions = httpx.get(f'{server.url}/versions').json()
    # version: the ASGI core; spec_version: HTTP and WebSocket 2.4, lifespan 2.0.
    assert versions == {
        'http': {'version': '3.0', 'spec_version': '2.4'},
        'lifespan': {'version': '3.0', 'spec_version': '2.0'},
    }


def test_http1_send_after_the_connection_dropped(server: ServerProcess) -> None:
    leave_mid_stream(server.port, '/stream?key=h1')
    assert observed(server, 'h1') == {'send': GONE, 'then': 'http.disconnect'}


def test_http2_send_after_the_stream_was_reset(server: ServerProcess) -> None:
    conn = SocketClient('127.0.0.1', server.port)
    try:
        stream_id = conn.client.request('GET', '/stream?key=h2')
        response = conn.client.responses[stream_id]
        conn.read_until(lambda _: len(response.body) >= 16384)
        conn.client.conn.reset_stream(stream_id)
        conn.flush()
        # The connection stays: only the stream is gone.
        assert observed(server, 'h2') == {'send': GONE, 'then': 'http.disconnect'}
    finally:
        conn.close()


@pytest.mark.parametrize('how', ['close', 'drop'])
def test_websocket_over_http1(server: ServerProcess, how: str) -> None:
    key = f'ws-h1-{how}'
    if how == 'close':
        with connect(server.url.replace('http://', 'ws://') + f'/?key={key}') as ws:
            ws.close(1000)
        code = 1000
    else:
        drop_websocket(server, f'/?key={key}')
        code = 1006
    assert observed(server, key) == {'disconnect': code, 'send': WS_GONE, 'close': WS_GONE}


@pytest.mark.parametrize('how', ['close', 'reset'])
def test_websocket_over_http2(server: ServerProcess, how: str) -> None:
    key = f'ws-h2-{how}'
    client = H2WebSocketClient('127.0.0.1', server.port)
    try:
        ws = client.websocket(f'/?key={key}')
        assert ws.status == 200
        if how == 'close':
            ws.close(4000)
            code = 4000
        else:
            client.client.conn.reset_stream(ws.stream_id)
            code = 1006
        client.flush()
        assert observed(server, key) == {'disconnect': code, 'send': WS_GONE, 'close': WS_GONE}
    finally:
        client.close()


def test_an_app_that_lets_the_error_out_is_not_logged_as_failing() -> None:
    # Spec 2.4: the server must not log the exception it raised itself as an error.
    server = start()
    try:
        leave_mid_stream(server.port, '/stream?key=quiet-http&reraise=1')
        assert observed(server, 'quiet-http') == {'send': GONE, 'then': 'http.disconnect'}
        drop_websocket(server, '/?key=quiet-ws&reraise=1')
        assert observed(server, 'quiet-ws') == {'disconnect': 1006}
    finally:
        assert server.stop() == 0
    assert '"GET /stream HTTP/1.1" 200' in server.output  # the request itself is logged
    assert '[ERROR]' not in server.output and 'Traceback' not in server.output, server.output
