"""Keep-alive pings and the message size limit, end to end: a server started by the ``granian``
command with ``--ws-max-size 1000 --ws-ping-interval 0.3 --ws-ping-timeout 1.5``, for ASGI and
RSGI, over HTTP/1.1 (the ``websockets`` client, and a raw socket that never answers) and HTTP/2
(RFC 8441, :mod:`testkit.h2ws`, answering or not).

* A client that answers the pings (``websockets`` does by default; its own pings are off here, so
  its pongs are all that keeps it) stays connected across several intervals.
* A client that never answers gets close 1011 "keepalive ping timeout" within interval + timeout,
  the connection (HTTP/1.1) or stream (HTTP/2) ends, and the app sees the disconnect: ASGI's
  ``websocket.disconnect`` with 1006 and that reason, RSGI's ``ProtocolClosed``.
* 1000 bytes pass and 1001 bytes fail with 1009, compressed or not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from testkit.h2ws import H2WebSocketClient
from testkit.poll import eventually
from testkit.process import ServerProcess, cli_server
from testkit.raw import open_websocket

APPS = Path(__file__).parent / 'apps'
INTERVAL = 0.3
#: Long enough for a client on a loaded machine to answer in time; short enough for a quick test.
TIMEOUT = 1.5
MAX_SIZE = 1000
#: How late the close may come on a loaded machine, beyond interval + timeout.
SLACK = 2.0
#: Pings a live client must have answered: at one per interval, past interval + timeout.
ANSWERED = 8


@dataclass
class Served:
    process: ServerProcess
    interface: str

    @property
    def port(self) -> int:
        return self.process.port

    def ended(self, name: str) -> object:
        """What the app saw at the end of the WebSocket ``name``, once it has ended."""
        url = f'{self.process.url}/ended/{name}'
        return eventually(lambda: httpx.get(url).json(), lambda seen: seen is not None, what=f'{name} to end')

    @property
    def timed_out(self) -> object:
        """What the app sees when the keep-alive gave up on its client."""
        return {'code': 1006, 'reason': 'keepalive ping timeout'} if self.interface == 'asgi' else 'ProtocolClosed'


@pytest.fixture(scope='module', params=['asgi', 'rsgi'])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    target, interface = ('keepalive:asgi_app', 'asginl') if request.param == 'asgi' else ('keepalive:rsgi_app', 'rsgi')
    options = ['--ws-max-size', str(MAX_SIZE), '--ws-ping-interval', str(INTERVAL), '--ws-ping-timeout', str(TIMEOUT)]
    process = cli_server('--interface', interface, '--port', '0', '--working-dir', str(APPS), *options, target)
    yield Served(process.ready(), request.param)
    assert process.stop() == 0


class FrameLog(logging.Handler):
    """The frames a ``websockets`` client logs at debug level: ``< PING ...``, ``> PONG ...``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def count(self, prefix: str) -> int:
        return sum(line.startswith(prefix) for line in list(self.lines))


def frame_logger(name: str) -> tuple[logging.Logger, FrameLog]:
    logger = logging.getLogger(f'tests.keepalive.{name}')
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    log = FrameLog()
    logger.addHandler(log)
    return logger, log


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked frame the server sent."""
    frames = []
    pos = 0
    while pos + 2 <= len(data):
        opcode, length = data[pos] & 0x0F, data[pos + 1] & 0x7F
        pos += 2
        if length >= 126:
            size = 2 if length == 126 else 8
            length = int.from_bytes(data[pos : pos + size], 'big')
            pos += size
        frames.append((opcode, data[pos : pos + length]))
        pos += length
    return frames


# -- HTTP/1.1 ---------------------------------------------------------------------------------------


def test_h1_a_client_that_answers_stays_connected(served: Served) -> None:
    logger, log = frame_logger(f'h1-alive-{served.interface}')
    url = f'ws://127.0.0.1:{served.port}/ws/h1-alive'
    with connect(url, ping_interval=None, compression=None, logger=logger) as ws:
        started = time.monotonic()
        # The client's own log: each '> PONG' answers a '< PING' from the server.
        eventually(lambda: log.count('> PONG'), lambda pongs: pongs >= ANSWERED, what='pings answered')
        assert time.monotonic() - started > INTERVAL + TIMEOUT
        ws.send('still here')
        assert ws.recv(timeout=5) == 'still here'
    assert log.count('< CLOSE') == 1  # the close handshake we started, nothing before it


def test_h1_a_client_that_never_answers_is_closed_with_1011(served: Served) -> None:
    sock, received = open_websocket(served.port, '/ws/h1-deaf')
    with sock:
        opened = time.monotonic()
        # Read everything until the server ends the connection; a server that never gives up
        # times out here.
        sock.settimeout(INTERVAL + TIMEOUT + SLACK)
        while chunk := sock.recv(4096):
            received += chunk
        elapsed = time.monotonic() - opened
    assert INTERVAL + TIMEOUT - 0.1 < elapsed < INTERVAL + TIMEOUT + SLACK
    frames = server_frames(received)
    assert [opcode for opcode, _ in frames] == [0x9, 0x8]  # one ping, then the close
    close = frames[-1][1]
    assert int.from_bytes(close[:2], 'big') == 1011
    assert close[2:] == b'keepalive ping timeout'
    assert served.ended('h1-deaf') == served.timed_out


@pytest.mark.parametrize('compression', [None, 'deflate'])
def test_h1_message_size_limit(served: Served, compression: str | None) -> None:
    url = f'ws://127.0.0.1:{served.port}/ws/h1-size'
    with connect(url, compression=compression) as ws:
        ws.send('x' * MAX_SIZE)
        assert ws.recv(timeout=5) == 'x' * MAX_SIZE
        ws.send(b'y' * (MAX_SIZE + 1))
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


# -- HTTP/2 -----------------------------------------------------------------------------------------


def test_h2_a_client_that_answers_stays_connected(served: Served) -> None:
    client = H2WebSocketClient('127.0.0.1', served.port)
    try:
        ws = client.websocket('/ws/h2-alive')
        assert ws.status == 200
        started = time.monotonic()

        def answered() -> bool:
            ws.pull()  # answers the pings that came
            client.flush()  # and sends the pongs now, not with the next read
            return len(ws.pings) >= ANSWERED

        client.wait(answered, timeout=ANSWERED * (INTERVAL + TIMEOUT) + SLACK)
        assert time.monotonic() - started > INTERVAL + TIMEOUT
        assert len(set(ws.pings)) == len(ws.pings), 'every ping carries a payload of its own'
        ws.send('still here')
        assert client.receive(ws) == 'still here'
        assert not ws.ended
        ws.close()
        client.wait_ended(ws)
    finally:
        client.close()


def test_h2_a_client_that_never_answers_is_closed_with_1011(served: Served) -> None:
    client = H2WebSocketClient('127.0.0.1', served.port)
    try:
        ws = client.websocket('/ws/h2-deaf')
        assert ws.status == 200
        ws.answers_pings = False
        opened = time.monotonic()
        client.wait_ended(ws, timeout=INTERVAL + TIMEOUT + SLACK)
        elapsed = time.monotonic() - opened
        assert INTERVAL + TIMEOUT - 0.1 < elapsed < INTERVAL + TIMEOUT + SLACK
        assert len(ws.pings) == 1
        assert ws.close_frame is not None
        assert (ws.close_frame.code, ws.close_frame.reason) == (1011, 'keepalive ping timeout')
        # Only that stream ended: the connection serves on.
        again = client.websocket('/ws/h2-after')
        assert again.status == 200
    finally:
        client.close()
    assert served.ended('h2-deaf') == served.timed_out


@pytest.mark.parametrize('compression', [False, True])
def test_h2_message_size_limit(served: Served, compression: bool) -> None:
    client = H2WebSocketClient('127.0.0.1', served.port)
    try:
        ws = client.websocket('/ws/h2-size', compression=compression)
        assert ws.status == 200
        ws.send('x' * MAX_SIZE)
        client.flush()
        assert client.receive(ws) == 'x' * MAX_SIZE
        ws.send(b'y' * (MAX_SIZE + 1))
        client.flush()
        client.wait_ended(ws)
        assert ws.close_frame is not None and ws.close_frame.code == 1009
    finally:
        client.close()
