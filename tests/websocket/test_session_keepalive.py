"""The session's keep-alive pings (``ping_interval``, ``ping_timeout``), on a clock the tests move.

The rules under test: nothing is scheduled when pings are off (the default); a ping goes out only
after a whole interval in which the client sent nothing; the pong to it starts the next interval
at once, and any other bytes from the client (a message, an unsolicited pong) answer it too;
silence for the whole timeout fails the connection with 1011 "keepalive ping timeout", drops the
carrier, and the app's ``receive`` reports 1006 with that reason. The last test runs on the loop's
real clock.
"""

from __future__ import annotations

import asyncio

import pytest
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from granian_http.ws import PING_TIMEOUT_REASON, WebSocketClose
from testkit.poll import eventually_async
from testkit.wssession import Clock, Pair

pytestmark = pytest.mark.anyio

INTERVAL = 10.0
TIMEOUT = 5.0


def pings(pair: Pair) -> list[bytes]:
    """The payloads of the pings the client got since it last looked (nothing else may come)."""
    events = pair.events()
    assert all(isinstance(event, Ping) for event in events), events
    return [bytes(event.payload) for event in events]  # type: ignore[attr-defined]


async def test_no_timer_without_an_interval() -> None:
    clock = Clock()
    pair = Pair(clock=clock)
    assert clock.pending == []
    clock.advance(3600)
    assert pair.carrier.out == b''


async def test_a_silent_client_is_pinged_after_one_interval() -> None:
    clock = Clock()
    pair = Pair(clock=clock, ping_interval=INTERVAL, ping_timeout=TIMEOUT)
    clock.advance(INTERVAL - 0.1)
    assert pings(pair) == []
    clock.advance(0.1)
    (payload,) = pings(pair)
    assert payload


async def test_traffic_within_the_interval_puts_the_ping_off() -> None:
    clock = Clock()
    pair = Pair(clock=clock, ping_interval=INTERVAL, ping_timeout=TIMEOUT)
    clock.advance(INTERVAL - 0.1)
    pair.send(TextMessage(data='alive'))
    clock.advance(0.2)
    assert pings(pair) == []
    # Re-armed when it fired, not per message: the next look is one interval after that one,
    # and finds silence since.
    clock.advance(INTERVAL - 0.2)
    assert pings(pair) == []
    clock.advance(0.1)
    assert len(pings(pair)) == 1
    assert await pair.session.receive() == 'alive'


async def test_no_answer_in_time_fails_the_connection_with_1011() -> None:
    clock = Clock()
    pair = Pair(clock=clock, ping_interval=INTERVAL, ping_timeout=TIMEOUT)
    receiver = asyncio.ensure_future(pair.session.receive())
    clock.advance(INTERVAL)
    assert len(pings(pair)) == 1
    clock.advance(TIMEOUT - 0.1)
    assert not pair.carrier.closed
    clock.advance(0.1)
    (close,) = pair.events()
    assert isinstance(close, CloseConnection)
    assert (close.code, close.reason) == (1011, PING_TIMEOUT_REASON)
    # Dropped, not closed gracefully: a dead peer would never let a graceful close finish.
    assert pair.carrier.aborted
    # No close frame came from the client: the app sees an abnormal end (RFC 6455 §7.1.5).
    assert await asyncio.wait_for(receiver, 1) == WebSocketClose(1006, PING_TIMEOUT_REASON)
    assert clock.pending == []
    pair.session.connection_lost()  # the carrier reports its end: nothing more to deliver
    assert await pair.session.receive() == WebSocketClose(1006, PING_TIMEOUT_REASON)


async def test_the_pong_starts_the_next_interval() -> None:
    clock = Clock()
    pair = Pair(clock=clock, ping_interval=INTERVAL, ping_timeout=TIMEOUT)
    sent = []
    for _ in range(3):  # an idle client, pinged once per interval plus its answer's delay
        clock.advance(INTERVAL)
        (payload,) = pings(pair)
        sent.append(payload)
        clock.advance(1.0)
        pair.send(Pong(payload=payload))
        assert clock.pending == [clock.now + INTERVAL]
    assert len(set(sent)) == 3, 'every ping carries a payload of its own'
    assert not pair.carrier.closed
    # A pong to an earlier ping is traffic, not the answer: the deadline timer still decides.
    clock.advance(INTERVAL)
    (payload,) = pings(pair)
    pair.send(Pong(payload=sent[0]))
    assert clock.pending == [clock.now + TIMEOUT]


@pytest.mark.parametrize(
    'answer',
    [
        pytest.param(TextMessage(data='busy'), id='a message'),
        pytest.param(Pong(payload=b'unsolicited'), id='another pong'),
        pytest.param(BytesMessage(data=b'x' * 100, message_finished=False), id='a fragment'),
    ],
)
async def test_any_bytes_answer_the_ping(answer: object) -> None:
    clock = Clock()
    pair = Pair(clock=clock, ping_interval=INTERVAL, ping_timeout=TIMEOUT)
    clock.advance(INTERVAL)
    (first,) = pings(pair)
    clock.advance(TIMEOUT / 2)
    pair.send(answer)
    clock.advance(TIMEOUT / 2)
    assert not pair.carrier.closed
    # Heard from during the wait: the next ping comes after a whole new silent interval...
    clock.advance(INTERVAL - 0.1)
    assert pings(pair) == []
    clock.advance(0.1)
    (second,) = pings(pair)
    assert second != first
    # ... and that one, unanswered, ends the session as any other.
    clock.advance(TIMEOUT)
    assert pair.carrier.aborted


async def test_pings_without_a_timeout_never_close() -> None:
    clock = Clock()
    pair = Pair(clock=clock, ping_interval=INTERVAL, ping_timeout=None)
    clock.advance(INTERVAL * 5)
    sent = pings(pair)
    assert len(sent) == 5 and len(set(sent)) == 5
    assert not pair.carrier.closed


async def test_a_slow_app_is_not_taken_for_a_dead_client() -> None:
    # The carrier stops reading while the app lags behind: the client's bytes (its pongs too)
    # wait unread, so silence proves nothing until the app catches up.
    clock = Clock()
    pair = Pair(clock=clock, ping_interval=INTERVAL, ping_timeout=TIMEOUT)
    chunk = b'x' * 65536
    while pair.carrier.reading:
        pair.send(BytesMessage(data=chunk))
    clock.advance((INTERVAL + TIMEOUT) * 3)
    assert pings(pair) == []
    assert not pair.carrier.closed
    while not pair.carrier.reading:
        assert await pair.session.receive() == chunk
    # Reading again, the client gets a whole interval to be heard (what it sent while we did not
    # read arrives first); then silence counts again.
    clock.advance(INTERVAL)
    assert pings(pair) == []
    clock.advance(INTERVAL + TIMEOUT)
    assert pair.carrier.aborted


async def test_our_close_or_a_lost_connection_stops_the_pings() -> None:
    clock = Clock()
    closing = Pair(clock=clock, close_timeout=1.0, ping_interval=INTERVAL, ping_timeout=TIMEOUT)
    closing.session.close(1001)
    (close,) = closing.events()
    assert isinstance(close, CloseConnection)
    clock.advance(INTERVAL * 3)
    # The close timeout governed the end (the client never answered): no ping came after it.
    assert closing.carrier.aborted and closing.events() == []
    lost = Pair(clock=clock, ping_interval=INTERVAL, ping_timeout=TIMEOUT)
    lost.session.connection_lost()
    assert clock.pending == []
    client_closed = Pair(clock=clock, ping_interval=INTERVAL, ping_timeout=TIMEOUT)
    client_closed.send(CloseConnection(code=1000))
    assert clock.pending == []


async def test_on_the_real_clock() -> None:
    pair = Pair(ping_interval=0.05, ping_timeout=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    receiver = asyncio.ensure_future(pair.session.receive())
    await eventually_async(lambda: pair.carrier.closed, timeout=5, what='the keep-alive to give up')
    assert loop.time() - started >= 0.1
    ping, close = pair.events()
    assert isinstance(ping, Ping) and isinstance(close, CloseConnection) and close.code == 1011
    assert await receiver == WebSocketClose(1006, PING_TIMEOUT_REASON)
