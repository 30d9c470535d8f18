"""Real frameworks served end to end: Starlette (with lifespan state), FastAPI, Django (ASGI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.process import ServerProcess, api_server

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
