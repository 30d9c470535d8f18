"""The response state table (granian_http/_state.py), tried cell by cell on both protocols.

For every state and every response call, on an HTTP/1.1 exchange and on an HTTP/2 stream: a call
the table allows moves the exchange to the state the table names; every other call raises
ResponseStateError (with the message the table's rules give), except the body calls the table lets
through silently once the client is gone.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from granian_http import Exchange, ResponseStateError
from granian_http._state import CALLS, DONE, HELD, IDLE, STATES, STREAMING, TRANSITIONS, UPGRADED
from testkit import h1, h2

pytestmark = pytest.mark.anyio

_KEY = base64.b64encode(b'sixteen byte key').decode()


async def _h1_exchange() -> tuple[Exchange, Any]:
    server = h1.Server()
    server.send(
        b'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ' + _KEY.encode() + b'\r\n\r\n'
    )
    (exchange,) = server.exchanges
    return exchange, server


async def _h2_exchange() -> tuple[Exchange, Any]:
    pair = h2.Pair()
    stream_id = pair.client.conn.get_next_available_stream_id()
    block = [
        (':method', 'CONNECT'),
        (':protocol', 'websocket'),
        (':scheme', 'http'),
        (':authority', 'example.com'),
        (':path', '/ws'),
        ('sec-websocket-version', '13'),
    ]
    pair.client.conn.send_headers(stream_id, block)
    pair.client.responses[stream_id] = h2.Response(stream_id)
    pair.pump()
    (exchange,) = pair.server.exchanges
    return exchange, pair


PROTOCOLS: dict[str, Callable[[], Awaitable[tuple[Exchange, Any]]]] = {'h1': _h1_exchange, 'h2': _h2_exchange}


def _drive(exchange: Exchange, state: int) -> None:
    """Bring a fresh exchange into ``state`` through legal calls."""
    if state in (HELD, STREAMING, DONE):
        exchange.start(200, [(b'content-type', b'text/plain')])
    if state == STREAMING:
        exchange.write(b'x')
    elif state == DONE:
        exchange.end(b'x')
    elif state == UPGRADED:
        exchange.accept_websocket()


async def _call(exchange: Exchange, call: str, small_file: Path) -> None:
    if call == 'start':
        exchange.start(200, [])
    elif call == 'flush_head':
        exchange.flush_head()
    elif call == 'write':
        exchange.write(b'y')
    elif call == 'end':
        exchange.end(b'y')
    elif call == 'send_file':
        await exchange.send_file(small_file)
    elif call == 'accept_websocket':
        exchange.accept_websocket()
    else:
        assert call == 'abort'
        exchange.abort()


def _state(exchange: Exchange) -> int:
    return exchange._state  # type: ignore[attr-defined,no-any-return]


def _expected_message(state: int, call: str) -> str:
    if state == IDLE:
        return 'Response not started'
    if call in ('write', 'end', 'flush_head') and state in (DONE, UPGRADED):
        return 'Response already finished'
    return 'Response already started'


def test_the_table_covers_every_state_and_leads_only_to_states() -> None:
    assert set(TRANSITIONS) == set(STATES)
    for row in TRANSITIONS.values():
        assert set(row) <= set(CALLS)
        assert set(row.values()) <= set(STATES)


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
@pytest.mark.parametrize('state', sorted(STATES), ids=lambda state: STATES[state])
@pytest.mark.parametrize('call', CALLS)
async def test_every_call_in_every_state(protocol: str, state: int, call: str, tmp_path: Path) -> None:
    small_file = tmp_path / 'small.txt'
    small_file.write_bytes(b'file body')
    exchange, _keep = await PROTOCOLS[protocol]()
    _drive(exchange, state)
    assert _state(exchange) == state
    target = TRANSITIONS[state].get(call)
    if target is None:
        with pytest.raises(ResponseStateError) as info:
            await _call(exchange, call, small_file)
        assert str(info.value) == _expected_message(state, call)
        assert _state(exchange) == state  # a refused call changes nothing
    else:
        await _call(exchange, call, small_file)
        assert _state(exchange) == target


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
@pytest.mark.parametrize('call', ['write', 'end', 'flush_head'])
async def test_body_calls_after_the_end_are_dropped_once_the_client_is_gone(protocol: str, call: str) -> None:
    exchange, _keep = await PROTOCOLS[protocol]()
    _drive(exchange, DONE)
    exchange.lost()  # type: ignore[attr-defined] (what each connection calls when the client is gone)
    assert exchange.disconnected
    await _call(exchange, call, Path('/nonexistent'))
    assert _state(exchange) == DONE
    # Calls that are not body calls still raise: the app's order is wrong whatever the client did.
    with pytest.raises(ResponseStateError):
        exchange.start(200, [])


async def test_a_body_the_protocol_refused_leaves_the_app_writing_into_nothing() -> None:
    # The app is streaming its answer when the request body turns out malformed: HTTP/1.1 answers
    # nothing more (the head is out), closes, and the app's later calls are dropped, not raised.
    server = h1.Server()
    server.send(b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
    (exchange,) = server.exchanges
    exchange.start(200, [])
    exchange.write(b'partial')
    server.send(b'zz\r\n')  # not a chunk size
    assert exchange.disconnected and server.transport.closing
    exchange.write(b'more')
    exchange.end(b'last')
    assert _state(exchange) == DONE
