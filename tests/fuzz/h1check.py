"""Reading a server's HTTP/1.1 answer back with h11, for the targets that drive an interface on a
real HTTP/1.1 exchange (``asgi-messages``, ``rsgi-messages``).

The interface targets make one request, let the app answer it however their input says, and then
ask two things of the connection: what it wrote is one well-formed response (or a response cut
short by a close), and, when it stayed open, it serves the next request as if nothing happened.
"""

from __future__ import annotations

from collections.abc import Callable

import h11

from granian_http import Exchange, HTTP1Connection
from testkit.h1 import MemoryTransport

from .harness import PropertyFailure, expect, settle

__all__ = ['check_response', 'serve_next']


def check_response(written: bytes, closed: bool, method: str = 'GET') -> h11.Response | None:
    """``written`` is one complete response to a ``method`` request (nothing after it), or, when
    the server ``closed`` the connection, the start of one. Returns the final response head read,
    if any."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target='/', headers=[('host', 'x')]))
    client.send(h11.EndOfMessage())
    client.receive_data(written)
    head = None
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError as exc:
            raise PropertyFailure(f'not a valid response: {exc}: {written[:300]!r}') from exc
        if isinstance(event, h11.Response):
            head = event
        elif isinstance(event, h11.EndOfMessage):
            expect(not client.trailing_data[0], 'bytes after the response')
            return head
        elif event is h11.NEED_DATA:
            expect(closed, f'an incomplete response on a connection left open: {written[:300]!r}')
            return head


async def serve_next(
    conn: HTTP1Connection, transport: MemoryTransport, exchanges: Callable[[], list[Exchange]]
) -> None:
    """The connection, still open, takes a second request and answers it (``exchanges`` lists the
    exchanges the handler got so far)."""
    conn.data_received(b'GET /next HTTP/1.1\r\nhost: x\r\n\r\n')
    await settle()
    got = exchanges()
    expect(len(got) == 2, 'the connection took no second request')
    got[1].start(200, [])
    got[1].end(b'second')
    await settle()
    expect(b'second' in transport.take(), 'the second request got no answer')
