"""WebSocket apps that receive in one task while another accepts, sends or closes (issue 15).

ASGI lets ``receive`` and ``send`` be called from different tasks at any time, and Quart does it:
its receive loop starts, in a task of its own, before the handler accepts. Each interleaving is
served by a real server (ASGI and RSGI) and driven by a real client over HTTP/1.1 (``websockets``)
and over HTTP/2 (the RFC 8441 client of ``testkit.h2ws``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from wsproto.events import CloseConnection

from testkit.h2ws import H2WebSocketClient, WebSocketStream
from testkit.poll import eventually
from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'


class Closed:
    """The server's close frame, as either client reports it."""

    def __init__(self, code: int) -> None:
        self.code = code

    def __repr__(self) -> str:
        return f'Closed({self.code})'


class Socket:
    """One WebSocket to the server, over HTTP/1.1 or HTTP/2, behind the same four calls."""

    def send(self, text: str) -> None:
        raise NotImplementedError

    def receive(self) -> str | bytes | Closed:
        """The next message, or the server's close (which the client answers)."""
        raise NotImplementedError

    def close(self, code: int = 1000) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Let go of the connection."""


class H1Socket(Socket):
    def __init__(self, url: str) -> None:
        self._stack = ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(url, compression=None, open_timeout=10, close_timeout=10)
        )

    def send(self, text: str) -> None:
        self.ws.send(text)

    def receive(self) -> str | bytes | Closed:
        try:
            return self.ws.recv(timeout=10)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, closed
            return Closed(closed.rcvd.code)

    def close(self, code: int = 1000) -> None:
        self.ws.close(code)

    def finish(self) -> None:
        self._stack.close()


class H2Socket(Socket):
    def __init__(self, client: H2WebSocketClient, path: str) -> None:
        self.client = client
        self.ws: WebSocketStream = client.websocket(path)
        assert self.ws.status == 200, self.ws.status

    def send(self, text: str) -> None:
        self.ws.send(text)
        self.client.flush()

    def receive(self) -> str | bytes | Closed:
        message = self.client.receive(self.ws)
        if isinstance(message, CloseConnection):
            self.client.flush()  # our answer to the server's close
            return Closed(message.code)
        return message

    def close(self, code: int = 1000) -> None:
        self.ws.close(code)
        self.client.flush()
        answer = self.client.receive(self.ws)
        assert isinstance(answer, CloseConnection), answer
        self.client.wait_ended(self.ws)

    def finish(self) -> None:
        self.client.close()


class Served:
    def __init__(self, interface: str, carrier: str, proc: ServerProcess) -> None:
        self.interface = interface
        self.carrier = carrier
        self.proc = proc

    def open(self, path: str) -> Socket:
        if self.carrier == 'h1':
            return H1Socket(self.proc.url.replace('http://', 'ws://') + path)
        return H2Socket(H2WebSocketClient('127.0.0.1', self.proc.port), path)

    def observed(self, key: str) -> object:
        """What the app recorded under ``key``, once it has."""
        return eventually(
            lambda: httpx.get(f'{self.proc.url}/observed', params={'key': key}).json(),
            lambda value: value is not None,
            what=key,
        )


# Indirect: a test of an ASGI-only interleaving asks for the ASGI server alone.
@pytest.fixture(scope='module', params=['asgi', 'rsgi'])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, ServerProcess]]:
    interface = request.param
    target = 'asgi_tasks:app' if interface == 'asgi' else 'rsgi_tasks:app'
    proc = api_server(target, interface='asginl' if interface == 'asgi' else 'rsgi', working_dir=str(APPS)).ready()
    yield interface, proc
    assert proc.stop() == 0


@pytest.fixture(params=['h1', 'h2'])
def served(request: pytest.FixtureRequest, server: tuple[str, ServerProcess]) -> Served:
    return Served(server[0], request.param, server[1])


# RSGI has no receive before accept: its transport comes from accept().
asgi_only = pytest.mark.parametrize('server', ['asgi'], indirect=True)


@asgi_only
def test_receive_before_accept_then_echo(served: Served) -> None:
    # Quart's shape: the receive loop waits across the accept and gets the first message.
    socket = served.open('/receive-before-accept')
    try:
        socket.send('hello')
        assert socket.receive() == 'hello'
        socket.send('again')
        assert socket.receive() == 'again'
        socket.close(1000)
    finally:
        socket.finish()
    assert served.observed('receive-before-accept') == 1000


@asgi_only
def test_receive_before_a_refused_handshake_gets_the_disconnect(served: Served) -> None:
    if served.carrier == 'h1':
        url = served.proc.url.replace('http://', 'ws://') + '/receive-before-reject'
        with pytest.raises(InvalidStatus) as info, connect(url):
            pass
        assert info.value.response.status_code == 403
    else:
        client = H2WebSocketClient('127.0.0.1', served.proc.port)
        try:
            ws = client.websocket('/receive-before-reject')
            client.wait_ended(ws)
            assert ws.status == 403
        finally:
            client.close()
    assert served.observed('receive-before-reject') == 'websocket.disconnect'


def test_concurrent_receives(served: Served) -> None:
    socket = served.open('/concurrent-receives')
    try:
        if served.interface == 'asgi':
            # Two tasks receive at once: each message reaches exactly one, the end reaches both.
            sent = [f'message {index}' for index in range(20)] + ['report']
            for text in sent:
                socket.send(text)
            reply = socket.receive()
            assert isinstance(reply, str)
            assert json.loads(reply) == sorted(sent)
            socket.close(1000)
            expected: object = [1000, 1000]
        else:
            # RSGI serves one receive at a time: the second is refused, the first goes on.
            socket.send('first')
            reply = socket.receive()
            assert isinstance(reply, str)
            assert json.loads(reply) == ['ProtocolError', 'first']
            socket.close(1000)
            expected = 'close'
    finally:
        socket.finish()
    assert served.observed('concurrent-receives') == expected


def test_send_while_another_task_receives(served: Served) -> None:
    socket = served.open('/send-while-receiving')
    try:
        assert [socket.receive() for _ in range(3)] == ['one', 'two', 'three']
        socket.send('ping')
        assert socket.receive() == 'got ping'
        socket.close(1000)
    finally:
        socket.finish()
    assert served.observed('send-while-receiving') == (1000 if served.interface == 'asgi' else 'close')


def test_close_while_another_task_receives(served: Served) -> None:
    socket = served.open('/close-while-receiving')
    try:
        closed = socket.receive()
        assert isinstance(closed, Closed)
        assert closed.code == (4001 if served.interface == 'asgi' else 1000)
    finally:
        socket.finish()
    # The waiting task is told the socket ended.
    expected = ['websocket.disconnect', 4001] if served.interface == 'asgi' else 'close'
    assert served.observed('close-while-receiving') == expected
