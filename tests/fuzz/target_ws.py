"""Fuzz target ``ws``: a WebSocket session fed arbitrary client bytes.

Input: ``[config][n][n cut points][offer?][payload]``. The config byte picks permessage-deflate
(negotiated from the usual offer, or from an offer string the fuzzer writes, which exercises the
negotiation parser too) and a small message size limit. The payload reaches the session
(:class:`granian_http.ws.WebSocket`, on a memory carrier) in the reads the cut points make, while
an app task reads every message.

Properties:

* no exception escapes ``feed`` or reaches the loop; negotiation answers any offer with an
  extension list and a header a client can parse, or declines it;
* every frame the session wrote parses as server frames (wsproto's frame layer, with the
  negotiated extension); every close frame carries a code a server may send;
* a closed carrier comes with a close frame written: the session never drops a client silently
  (the session's own fail path writes one first);
* after the client hangs up (``connection_lost``) the app's ``receive`` ends with a
  :class:`WebSocketClose` and the app task is over;
* differential: the fast frame reader (``read_simple_frames``) and wsproto agree on the messages
  of the frames the fast reader accepts, on the same payload.
"""

from __future__ import annotations

import asyncio

from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, Message, TextMessage
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import FrameProtocol, Opcode, ParseFailed

from granian_http import WebSocketSettings
from granian_http.ws import WebSocket, WebSocketClose, negotiate_extensions
from granian_http.ws._frames import read_simple_frames

from .harness import PropertyFailure, Reader, Target, cut, encode, expect, finish_tasks, read_plan, run_async, settle
from .seeds import literals
from .wscheck import check_close_code

__all__ = ['TARGET']

_SMALL_LIMIT = 64
_LIMIT = 1 << 20


class Carrier:
    """The session's side of a connection, in memory."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.closed = False
        self.write_paused = False

    def write(self, data: bytes) -> None:
        expect(not self.closed, 'write after the carrier closed')
        self.out += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    async def drain(self) -> None:
        pass


def _offer(reader: Reader, config: int) -> list[str]:
    if config & 4:
        return [reader.text(64)]
    return ['permessage-deflate; client_max_window_bits'] if config & 1 else []


def _check_written(data: bytes, header: bytes | None, closed: bool) -> None:
    extensions = []
    if header is not None:
        client_deflate = PerMessageDeflate()
        try:
            client_deflate.finalize(header.decode('ascii'))
        except Exception as exc:
            raise PropertyFailure(f'a negotiated header no client can parse: {header!r}') from exc
        extensions.append(client_deflate)
    frames = FrameProtocol(client=True, extensions=extensions)
    frames.receive_bytes(data)
    close_written = False
    try:
        for frame in frames.received_frames():
            if frame.opcode is Opcode.CLOSE:
                code, _ = frame.payload
                check_close_code(code)
                close_written = True
    except ParseFailed as exc:
        raise PropertyFailure(f'the server wrote a frame a client cannot parse: {exc}; {data[:200]!r}') from exc
    if closed:
        expect(close_written, 'the carrier closed without a close frame')


def _check_fast_reader(payload: bytes, limit: int) -> None:
    messages, used = read_simple_frames(payload, limit)
    expect(0 <= used <= len(payload), f'fast reader used {used} of {len(payload)} bytes')
    reference = Connection(ConnectionType.SERVER)
    reference.receive_data(payload[:used])
    expected: list[str | bytes] = []
    for event in reference.events():
        expect(isinstance(event, (TextMessage, BytesMessage)), f'fast reader took a frame wsproto reads as {event!r}')
        assert isinstance(event, Message)
        expect(event.message_finished, 'fast reader took a fragment')
        expected.append(event.data)
    expect(messages == expected, f'fast reader {messages!r} != wsproto {expected!r}')


async def _app(session: WebSocket, received: list[object]) -> None:
    while True:
        message = await session.receive()
        received.append(message)
        if isinstance(message, WebSocketClose):
            return


async def exercise(config: int, offer: list[str], pieces: list[bytes]) -> None:
    limit = _SMALL_LIMIT if config & 2 else _LIMIT
    extensions, header = negotiate_extensions(offer, limit)
    expect((header is None) == (not extensions), 'an extension without a header, or the reverse')
    carrier = Carrier()
    settings = WebSocketSettings(max_message_size=limit)
    session = WebSocket(carrier, asyncio.get_running_loop(), extensions, settings=settings)
    received: list[object] = []
    task = asyncio.ensure_future(_app(session, received))
    for piece in pieces:
        if carrier.closed:
            break
        session.feed(piece)
        await settle()
    await settle()
    closed = carrier.closed
    _check_written(bytes(carrier.out), header, closed)
    session.connection_lost()  # the client hangs up
    await finish_tasks([task], 'the app reading the session')
    expect(isinstance(received[-1], WebSocketClose), f'receive ended with {received[-1]!r}')
    if closed:
        expect(session.closed, 'the carrier closed but the session is open')


def check(data: bytes) -> None:
    reader = Reader(data)
    config, points = read_plan(reader)
    offer = _offer(reader, config)
    payload = reader.rest()
    if not config & 5:
        _check_fast_reader(payload, _SMALL_LIMIT if config & 2 else _LIMIT)
    run_async(exercise(config, offer, cut(payload, points)))


def _is_frame(data: bytes) -> bool:
    # Masked client frames in the WebSocket tests (the mask bit of the second byte).
    return len(data) >= 6 and data[0] & 0x0F in (0, 1, 2, 8, 9, 10) and bool(data[1] & 0x80)


def seeds() -> list[bytes]:
    frames = list(literals(['websocket/test_frames.py', 'websocket/test_session.py'], _is_frame))
    mask = b'\x01\x02\x03\x04'
    hello = bytes(byte ^ mask[index % 4] for index, byte in enumerate(b'hello'))
    frames += [
        b'\x81\x85' + mask + hello,  # text
        b'\x01\x85' + mask + hello + b'\x80\x85' + mask + hello,  # two fragments
        b'\x89\x85' + mask + hello,  # ping
        b'\x88\x82' + mask + bytes((0x03 ^ 1, 0xE8 ^ 2)),  # close 1000
        b'\xc1\x87' + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b'\xf2H\xcd\xc9\xc9\x07\x00')),  # deflated
    ]
    out = []
    for index, frame in enumerate(frames):
        out.append(encode(frame, config=index % 4))
        out.append(encode(frame * 3, config=1, points=(3, 9)))
    out.append(encode(b'\x12permessage-deflate; server_no_context_takeover' + frames[0], config=4))
    return out


TARGET = Target(name='ws', check=check, seeds=seeds)
