"""The fast path for common WebSocket frames, checked against wsproto as the reference."""

from __future__ import annotations

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, Ping, TextMessage

from granian_http.ws._frames import frame, read_simple_frames

SIZES = [0, 1, 5, 125, 126, 127, 1000, 65535, 65536, 70_000]


def client_frame(event: object) -> bytes:
    return Connection(ConnectionType.CLIENT).send(event)  # type: ignore[arg-type]


@pytest.mark.parametrize('size', SIZES)
def test_reads_what_a_client_sends(size: int) -> None:
    text = ('é' * size).encode()[:size].decode('utf-8', 'ignore').ljust(size // 2, 'a')
    data = (bytes(range(256)) * (size // 256 + 1))[:size]
    stream = client_frame(TextMessage(data=text)) + client_frame(BytesMessage(data=data))
    messages, used = read_simple_frames(stream, 1 << 24)
    if size < 65536 and len(text.encode()) < 65536:
        assert messages == [text, data] and used == len(stream)
    else:
        # 64-bit lengths are wsproto's.
        assert messages == [] and used == 0


def test_stops_at_the_first_frame_that_is_not_simple() -> None:
    simple = client_frame(TextMessage(data='one'))
    ping = client_frame(Ping(payload=b'p'))
    fragment = client_frame(TextMessage(data='frag', message_finished=False))
    for other in (ping, fragment):
        messages, used = read_simple_frames(simple + other + simple, 1 << 24)
        assert messages == ['one'] and used == len(simple)


def test_incomplete_and_oversized_frames_are_left() -> None:
    data = client_frame(BytesMessage(data=b'x' * 300))
    for cut in (1, 5, 7, 200, len(data) - 1):
        assert read_simple_frames(data[:cut], 1 << 24) == ([], 0)
    assert read_simple_frames(data, 299) == ([], 0)


def test_broken_frames_are_left_to_wsproto() -> None:
    mask = b'\x01\x02\x03\x04'
    invalid_utf8 = bytes(byte ^ mask[idx % 4] for idx, byte in enumerate(b'\xff\xfe'))
    cases = [
        b'\x81\x02hi',  # not masked
        b'\xc1\x82' + mask + invalid_utf8,  # RSV1 without an extension
        b'\x83\x80' + mask,  # reserved opcode
        b'\x81\x82' + mask + invalid_utf8,  # invalid UTF-8
        b'\x82\xfe\x00\x05' + mask + b'12345',  # 16-bit length below 126: not minimal
    ]
    for case in cases:
        assert read_simple_frames(case, 1 << 24) == ([], 0)


@pytest.mark.parametrize('size', SIZES)
def test_writes_what_a_client_reads(size: int) -> None:
    client = Connection(ConnectionType.CLIENT)
    text = 'ü' * size
    payload = b'\x07' * size
    client.receive_data(frame(text) + frame(payload))
    events = list(client.events())
    assert [type(event) for event in events] == [TextMessage, BytesMessage]
    assert events[0].data == text and events[1].data == payload  # type: ignore[attr-defined]
    assert all(event.message_finished for event in events)  # type: ignore[attr-defined]
