"""Real frameworks served end to end: Starlette (with lifespan state), FastAPI, Django (ASGI), Quart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from testkit.h2ws import H2WebSocketClient
from testkit.process import ServerProcess, api_server
from testkit.raw import leave_mid_stream

APPS = Path(__file__).parent / 'apps'


@pytest.fixture(scope='module')
def starlette() -> Iterator[ServerProcess]:
    server = api_server('starlette_app:app', interface='asgi', working_dir=str(APPS)).ready()
    yield server
    assert server.stop() == 0


def test_starlette_lifespan_state_reaches_requests(starlette: ServerProcess) -> None:
    response = httpx.get(f'{starlette.url}/')
    assert response.status_code == 200
    assert response.text == 'hello from lifespan'


def test_starlette_body_and_query(starlette: ServerProcess) -> None:
    response = httpx.post(f'{starlette.url}/echo?a=1&b=two', content=b'x' * 200_000)
    assert response.json() == {'size': 200_000, 'query': {'a': '1', 'b': 'two'}, 'path': '/echo'}


def test_starlette_streaming(starlette: ServerProcess) -> None:
    with httpx.stream('GET', f'{starlette.url}/stream') as response:
        assert response.headers['transfer-encoding'] == 'chunked'
        assert ''.join(response.iter_text()) == '0\n1\n2\n3\n4\n'


@pytest.mark.parametrize(
    ('target', 'interface'), [('starlette_app:app', 'asgi'), ('django_asgi:application', 'asginl')]
)
def test_a_client_leaving_a_stream_is_not_an_error(target: str, interface: str) -> None:
    # ASGI 2.4: send() raises an OSError once the client is gone. Starlette turns it into its
    # ClientDisconnect, Django lets it out of its handler; either way the server log must not
    # call it a failure.
    server = api_server(target, interface=interface, working_dir=str(APPS), log_access=True).ready()
    try:
        leave_mid_stream(server.port, '/endless')
        # The access log line comes after the app returned, and after anything logged about it.
        server.wait_for(r'"GET /endless HTTP/1.1" 200')
        assert httpx.get(f'{server.url}/').status_code == 200  # still serving
    finally:
        assert server.stop() == 0
    assert '[ERROR]' not in server.output and 'Traceback' not in server.output, server.output


def test_fastapi() -> None:
    server = api_server('fastapi_app:app', interface='asgi', working_dir=str(APPS)).ready()
    try:
        assert httpx.get(f'{server.url}/items/5?q=abc').json() == {'item_id': 5, 'q': 'abc'}
        response = httpx.post(f'{server.url}/items', json={'name': 'pen', 'price': 1.5})
        assert response.json() == {'name': 'pen', 'total': 3.0}
        assert httpx.post(f'{server.url}/items', json={'name': 'pen'}).status_code == 422
        assert httpx.get(f'{server.url}/openapi.json').json()['openapi'].startswith('3.')
    finally:
        assert server.stop() == 0


def test_django_over_asgi_without_lifespan() -> None:
    # Django has no lifespan support: 'asginl' is the way to serve it quietly.
    server = api_server('django_asgi:application', interface='asginl', working_dir=str(APPS)).ready()
    try:
        assert httpx.get(f'{server.url}/').text == 'django says hi'
        assert httpx.get(f'{server.url}/info?q=z').json() == {'method': 'GET', 'path': '/info', 'q': 'z'}
        assert httpx.get(f'{server.url}/missing').status_code == 404
    finally:
        assert server.stop() == 0


def test_quart_http_and_websocket_echo() -> None:
    # Quart receives WebSocket messages in a task it starts before the handler accepts: the
    # first message must reach the handler, not a disconnect (issue 15).
    server = api_server('quart_app:app', interface='asgi', working_dir=str(APPS)).ready()

    async def echo() -> list[str | bytes]:
        async with websockets.connect(server.url.replace('http://', 'ws://') + '/ws') as ws:
            replies = []
            for message in ('hello', b'\x00\x01', 'again'):
                await ws.send(message)
                replies.append(await ws.recv())
            return replies

    try:
        assert httpx.get(f'{server.url}/').text == 'quart says hi'
        response = httpx.post(f'{server.url}/echo?q=z', content=b'x' * 100_000)
        assert response.json() == {'size': 100_000, 'q': 'z'}
        assert asyncio.run(echo()) == ['hello', b'\x00\x01', 'again']
        # And over HTTP/2 (RFC 8441).
        client = H2WebSocketClient('127.0.0.1', server.port)
        try:
            ws = client.websocket('/ws')
            assert ws.status == 200
            ws.send('over h2')
            client.flush()
            assert client.receive(ws) == 'over h2'
        finally:
            client.close()
    finally:
        assert server.stop() == 0
    assert '[ERROR]' not in server.output, server.output
