"""The WebSocket session driven with bytes from a wsproto client over a memory carrier."""

from __future__ import annotations

import asyncio
import zlib

import pytest
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from granian_http.ws import INBOX_LIMIT, WebSocketClose, WebSocketClosed, negotiate_extensions
from testkit.wssession import Pair

pytestmark = pytest.mark.anyio


async def test_text_and_bytes_both_ways() -> None:
    pair = Pair()
    pair.send(TextMessage(data='héllo'))
    pair.send(BytesMessage(data=b'\x00\x01'))
    assert await pair.session.receive() == 'héllo'
    assert await pair.session.receive() == b'\x00\x01'
    await pair.session.send('back')
    await pair.session.send(b'raw')
    events = pair.events()
    assert [type(e) for e in events] == [TextMessage, BytesMessage]
    assert events[0].data == 'back' and events[1].data == b'raw'  # type: ignore[attr-defined]


async def test_fragments_are_reassembled() -> None:
    pair = Pair()
    pair.send(TextMessage(data='one ', message_finished=False))
    pair.send(TextMessage(data='two ', message_finished=False))
    pair.send(TextMessage(data='three', message_finished=True))
    assert await pair.session.receive() == 'one two three'


async def test_ping_is_answered_and_pong_swallowed() -> None:
    pair = Pair()
    pair.send(Ping(payload=b'are you there'))
    pair.send(Pong(payload=b'unsolicited'))
    pair.send(TextMessage(data='after'))
    assert await pair.session.receive() == 'after'
    (pong,) = pair.events()
    assert isinstance(pong, Pong) and pong.payload == b'are you there'


async def test_client_close_is_answered_and_reported() -> None:
    pair = Pair()
    pair.send(CloseConnection(code=4001, reason='bye'))
    assert await pair.session.receive() == WebSocketClose(4001, 'bye')
    (close,) = pair.events()
    assert isinstance(close, CloseConnection) and close.code == 4001
    assert pair.carrier.closed
    # The end keeps being reported, and sending is over.
    assert await pair.session.receive() == WebSocketClose(4001, 'bye')
    with pytest.raises(WebSocketClosed):
        await pair.session.send('late')


async def test_close_without_code_reports_1005() -> None:
    pair = Pair()
    pair.session.feed(b'\x88\x80' + b'\x00\x00\x00\x00')  # masked close frame, no payload
    assert (await pair.session.receive()).code == 1005  # type: ignore[union-attr]


async def test_server_close_waits_for_the_answer_or_the_timeout() -> None:
    pair = Pair(close_timeout=0.05)
    pair.session.close(1001, 'going away')
    (close,) = pair.events()
    assert isinstance(close, CloseConnection) and close.code == 1001
    assert not pair.carrier.closed
    pair.send(close.response())
    assert pair.carrier.closed
    assert pair.session.close_event == WebSocketClose(1001, 'going away')

    silent = Pair(close_timeout=0.05)
    silent.session.close()
    await asyncio.sleep(0.1)
    # No answer in time: dropped at once, with no graceful end (a TLS close_notify) owed.
    assert silent.carrier.aborted


async def test_dropped_connection_reports_1006() -> None:
    pair = Pair()
    receiver = asyncio.ensure_future(pair.session.receive())
    await asyncio.sleep(0)
    pair.session.connection_lost()
    assert await receiver == WebSocketClose(1006)


async def test_message_too_big_closes_with_1009() -> None:
    pair = Pair(max_message_size=1000)
    pair.send(BytesMessage(data=b'x' * 600, message_finished=False))
    pair.send(BytesMessage(data=b'x' * 600, message_finished=True))
    (close,) = pair.events()
    assert isinstance(close, CloseConnection) and close.code == 1009
    assert pair.carrier.closed


async def test_compression_is_negotiated_and_inflation_is_bounded() -> None:
    pair = Pair(['permessage-deflate; client_max_window_bits'], max_message_size=10_000)
    pair.send(TextMessage(data='a' * 5000))
    assert await pair.session.receive() == 'a' * 5000
    await pair.session.send('z' * 5000)
    (message,) = pair.events()
    assert message.data == 'z' * 5000  # type: ignore[attr-defined]
    # A compressed frame that inflates past the limit fails the connection with 1009.
    bomb = Pair(['permessage-deflate'], max_message_size=10_000)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = compressor.compress(b'\x00' * 1_000_000) + compressor.flush(zlib.Z_SYNC_FLUSH)[:-4]
    assert len(payload) < 2000
    mask = b'\x01\x02\x03\x04'
    masked = bytes(byte ^ mask[idx % 4] for idx, byte in enumerate(payload))
    header = b'\xc2' + bytes([0x80 | 126]) + len(payload).to_bytes(2, 'big')  # FIN+RSV1, binary, masked
    bomb.session.feed(header + mask + masked)
    (close,) = bomb.events()
    assert isinstance(close, CloseConnection) and close.code == 1009


async def test_protocol_errors_fail_the_connection() -> None:
    pair = Pair()
    pair.session.feed(b'\x81\x82abcd\xff\xff')  # masked text frame with invalid UTF-8
    (close,) = pair.events()
    assert isinstance(close, CloseConnection) and close.code == 1007
    assert pair.carrier.closed
    unmasked = Pair()
    unmasked.session.feed(b'\x81\x02hi')  # clients must mask
    (close,) = unmasked.events()
    assert isinstance(close, CloseConnection) and close.code == 1002


async def test_slow_reader_pauses_the_carrier() -> None:
    pair = Pair()
    chunk = b'x' * 65536
    while pair.carrier.reading:
        pair.send(BytesMessage(data=chunk))
    assert pair.session._inbox_size <= INBOX_LIMIT + len(chunk)
    while not pair.carrier.reading:
        assert await pair.session.receive() == chunk


def test_unacceptable_deflate_offers_are_declined_for_the_next() -> None:
    # zlib cannot deflate with an 8-bit window: that offer is declined, the next one accepted.
    extensions, header = negotiate_extensions(
        ['permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits'], 1000
    )
    assert header is not None and header.startswith(b'permessage-deflate')
    assert len(extensions) == 1
    assert negotiate_extensions(['permessage-deflate; server_max_window_bits=8'], 1000) == ([], None)
    assert negotiate_extensions(['x-unknown-extension'], 1000) == ([], None)


async def test_a_reader_waiting_through_our_close_is_woken_when_the_connection_ends() -> None:
    # Graceful shutdown closes with 1001; if the client never answers, the carrier drops after
    # the timeout. A handler blocked in receive() must then see the end, or the worker waits
    # for it forever.
    pair = Pair(close_timeout=0.05)
    receiver = asyncio.ensure_future(pair.session.receive())
    await asyncio.sleep(0)
    pair.session.close(1001, 'going away')
    await asyncio.sleep(0.1)
    assert pair.carrier.closed
    pair.session.connection_lost()
    assert await asyncio.wait_for(receiver, 1) == WebSocketClose(1001, 'going away')


async def test_concurrent_receivers_each_get_a_message_and_both_the_end() -> None:
    pair = Pair()
    first = asyncio.ensure_future(pair.session.receive())
    second = asyncio.ensure_future(pair.session.receive())
    await asyncio.sleep(0)  # both wait now
    pair.send(TextMessage(data='a'))
    pair.send(TextMessage(data='b'))
    assert sorted(await asyncio.gather(first, second)) == ['a', 'b']  # type: ignore[type-var]
    ends = [asyncio.ensure_future(pair.session.receive()) for _ in range(2)]
    await asyncio.sleep(0)
    pair.send(CloseConnection(code=1000))
    assert await asyncio.gather(*ends) == [WebSocketClose(1000), WebSocketClose(1000)]


async def test_cancelling_one_receiver_leaves_the_others_waiting() -> None:
    # A framework tearing down its receive task, or a receive() under a timeout, must not end
    # the wait of another task.
    pair = Pair()
    doomed = asyncio.ensure_future(pair.session.receive())
    survivor = asyncio.ensure_future(pair.session.receive())
    await asyncio.sleep(0)
    doomed.cancel()
    for _ in range(3):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(pair.session.receive(), 0.001)
    pair.send(TextMessage(data='still here'))
    assert await asyncio.wait_for(survivor, 1) == 'still here'
    assert doomed.cancelled()


async def test_close_after_the_connection_dropped_does_nothing() -> None:
    pair = Pair(close_timeout=0.01)
    pair.session.connection_lost()
    pair.session.close(1000)
    assert pair.carrier.out == b''  # no close frame for no one
    assert await pair.session.receive() == WebSocketClose(1006)


def _masked_header(opcode: int, length: int, fin: bool = True) -> bytes:
    """A client frame header announcing ``length`` payload bytes (mask key 0, so no masking)."""
    first = bytes([(0x80 if fin else 0) | opcode])
    if length < 126:
        return first + bytes([0x80 | length]) + b'\x00' * 4
    if length < 65536:
        return first + bytes([0x80 | 126]) + length.to_bytes(2, 'big') + b'\x00' * 4
    return first + bytes([0x80 | 127]) + length.to_bytes(8, 'big') + b'\x00' * 4


async def test_a_frame_announcing_too_much_is_refused_at_once() -> None:
    pair = Pair(max_message_size=1000)
    pair.session.feed(_masked_header(0x2, 100 * 1024 * 1024) + b'x' * 16)
    (close,) = pair.events()
    assert isinstance(close, CloseConnection) and close.code == 1009
    assert pair.carrier.closed
    assert await pair.session.receive() == WebSocketClose(1006, 'Message too big')
    # In the 16-bit form too (the fast frame reader hands it over), and counting what the
    # message's earlier fragments already took.
    short = Pair(max_message_size=1000)
    short.session.feed(_masked_header(0x2, 1001) + b'x')
    assert [event.code for event in short.events()] == [1009]  # type: ignore[attr-defined]
    fragmented = Pair(max_message_size=1000)
    fragmented.session.feed(_masked_header(0x2, 600, fin=False) + b'x' * 600)
    fragmented.session.feed(_masked_header(0x0, 401) + b'x')
    assert [event.code for event in fragmented.events()] == [1009]  # type: ignore[attr-defined]


async def test_frames_within_the_limit_may_arrive_slowly() -> None:
    pair = Pair(max_message_size=1000)
    pair.session.feed(_masked_header(0x2, 600, fin=False) + b'x' * 600)
    pair.session.feed(_masked_header(0x0, 400, fin=False) + b'x' * 10)  # up to the limit, slowly
    pair.session.feed(b'x' * 390)
    # A ping amid the message announces its payload too, but is no part of the message.
    pair.session.feed(_masked_header(0x9, 125) + b'p')
    assert pair.events() == []
    pair.session.feed(b'p' * 124)
    (pong,) = pair.events()
    assert isinstance(pong, Pong)
    pair.session.feed(_masked_header(0x0, 0))
    assert await pair.session.receive() == b'x' * 1000
    assert not pair.carrier.closed
