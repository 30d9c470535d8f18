"""One HTTP/1.1 request and its response: the wire-specific part of the exchange.

Everything protocol-neutral (body buffer, waiters, response order, ``send_file``) is the exchange
core's (:mod:`granian_http._core`). What is HTTP/1.1's own, and lives here:

* **Framing** (RFC 9112 §6): the head decides how the body is delimited, and every chunk after it
  is framed accordingly: exactly ``content-length`` bytes, chunked transfer coding, or (HTTP/1.0
  streaming) until the connection closes. Bytes beyond an announced length are cut, and the
  connection is then not reused: what was cut cannot be delivered, and a client reading on would
  take it for the next response.
* **One write per small response**: the held head and the body leave in one ``transport.write``
  (one syscall, usually one segment); above :data:`_COALESCE_LIMIT` they go in two writes, since
  copying a large body into the head's buffer costs more than the extra syscall.
* **Keep-alive** is decided per response: the request's wish, the server's setting, the app's
  ``connection: close``, a body we could not finish reading or writing.
* ``Expect: 100-continue`` (RFC 9110 §10.1.1): the 100 goes out only when the app first waits for
  the body, so an app that answers without reading never invites the upload.

The exchange talks to its connection only through :class:`H1Link`, and the connection to the
exchange only through the public methods at the end of the class.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from .._core import ConnectionFacts, ExchangeCore
from .._state import DONE, HELD
from ..exchange import Headers, ResponseStateError
from ..ws import WebSocket, WebSocketOffer, negotiate_extensions
from ._response import FRAMING_CHUNKED, FRAMING_CLOSE, FRAMING_LENGTH, FRAMING_NONE, build_head
from ._websocket import accept_head

if TYPE_CHECKING:
    from wsproto.extensions import Extension

    from ..context import ServeContext
    from ..transport import WriteFlow

__all__ = ['H1Exchange', 'H1Link']

_CONTINUE = b'HTTP/1.1 100 Continue\r\n\r\n'
# Bodies above this size are written after the head instead of being copied into one buffer.
_COALESCE_LIMIT = 64 * 1024


class H1Link(Protocol):
    """What an exchange needs of its HTTP/1.1 connection, and nothing more."""

    #: The worker's shared state (the default response fields are read from it per response).
    ctx: ServeContext
    #: The transport's write flow: ``write_paused`` and ``drain`` are the connection's.
    flow: WriteFlow
    #: Unread request body the connection buffers before it stops reading the socket.
    buffer_limit: int

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def transport_closing(self) -> bool:
        """The transport is closing (or gone): writes would be dropped."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def response_done(self, exchange: H1Exchange) -> None:
        """The response is complete: reuse the connection for the next request, or close it."""

    def answer_error(self, status: int) -> None:
        """Answer ``status`` in place of the app and close (the request cannot go on)."""

    def upgrade(self, extensions: list[Extension]) -> WebSocket:
        """Hand the transport to a WebSocket session; the connection serves no more requests."""

    def watch_disconnect(self, exchange: H1Exchange, waiter: asyncio.Future[None]) -> None:
        """Tell ``waiter`` when the connection closes, even after this exchange is done."""


class H1Exchange(ExchangeCore):
    __slots__ = (
        '_expect_continue',
        '_framing',
        '_head_request',
        '_http11',
        '_link',
        '_remaining',
        'keep_alive',
    )

    def __init__(
        self,
        link: H1Link,
        facts: ConnectionFacts,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: list[tuple[bytes, bytes]],
        http11: bool,
        keep_alive: bool,
        expect_continue: bool,
    ) -> None:
        # Not super(): a direct call skips building a super object, once per request.
        ExchangeCore.__init__(self, facts, method, raw_path, query_string, headers, '1.1' if http11 else '1', None)
        self._link = link
        self._http11 = http11
        #: Whether the connection may serve another request after this one; only ever narrowed.
        self.keep_alive = keep_alive
        self._expect_continue = expect_continue
        self._head_request = method == 'HEAD'
        # Set when the head is built: how the body is delimited, and what a content-length still
        # allows.
        self._framing = FRAMING_NONE
        self._remaining = 0

    # -- the wire ------------------------------------------------------------------------------

    def _head(self, body_length: int | None) -> bytes:
        """Serialize the held head (``ValueError`` for a header that cannot be sent)."""
        status = self._status
        if status < 200:
            # An informational status (or 101 outside an upgrade) cannot end a response: the
            # client would read it as interim and wait for a final one that never comes.
            raise ValueError(f'Invalid HTTP status code {status!r} for a final response')
        data, self._framing, self._remaining, self.keep_alive = build_head(
            status,
            self._resp_headers,
            self._http11,
            self.keep_alive,
            self._head_request,
            body_length,
            self._link.ctx.response_defaults,
        )
        if self._expect_continue:
            # The client was never sent a 100: it may send the body after all, or never. Either
            # way the next bytes on this connection are not a request we can trust to find.
            self._expect_continue = False
            if not self.body_complete:
                self.keep_alive = False
        return data

    def _frame(self, data: bytes) -> bytes:
        """Frame a body chunk for the wire according to the head already sent."""
        framing = self._framing
        if framing == FRAMING_CHUNKED:
            # An empty chunk would be the terminator (RFC 9112 §7.1): never write one mid-body.
            return b'%x\r\n%b\r\n' % (len(data), data) if data else b''
        if framing == FRAMING_LENGTH:
            if len(data) > self._remaining:
                # More than the head announced: the excess cannot be delivered (a client would
                # read it as the next response), and the connection is not reused after it.
                data = data[: self._remaining]
                self.keep_alive = False
            self._remaining -= len(data)
            return data
        if framing == FRAMING_CLOSE:
            # HTTP/1.0 streaming: the body ends when the connection closes (RFC 9112 §6.3, rule 8).
            return data
        return b''  # FRAMING_NONE: a HEAD answer, 204 or 304 carries no body whatever the app sends

    def _write_joined(self, head: bytes, body: bytes) -> None:
        # One write for a small response (one syscall, usually one segment); two for a large
        # one, whose copy into the head's buffer would cost more than the second syscall.
        link = self._link
        if len(body) > _COALESCE_LIMIT:
            link.write(head)
            link.write(body)
        else:
            link.write(head + body)

    def _emit_head(self, body_length: int | None) -> None:
        self._link.write(self._head(body_length))

    def _emit_first(self, data: bytes) -> None:
        head = self._head(None)
        self._write_joined(head, self._frame(data))

    def _emit_body(self, data: bytes) -> None:
        link = self._link
        if link.transport_closing():
            # The client reset the connection: asyncio drops our writes silently and reports the
            # loss only on a later loop turn, which an app streaming without ever waiting would
            # never reach. It learns now (disconnected; ASGI's send raises) instead of spinning.
            self.lost()
            return
        link.write(self._frame(data))

    def _emit_whole(self, data: bytes, trailers: Headers | None) -> None:
        # The length is known, so the head says content-length and there is no place for
        # trailers (only chunked bodies carry them). This is the common small response, so the
        # helpers it would call (_frame, _write_joined, _finish) are written out for the usual
        # case: a body of exactly the announced length, head and body in one write.
        head = self._head(len(data))
        link = self._link
        if self._framing == FRAMING_NONE:
            link.write(head)
        else:
            if self._framing == FRAMING_LENGTH and self._remaining == len(data):
                self._remaining = 0
                body = data
            else:
                body = self._frame(data)  # the app's own content-length differs: cut, or short
            if len(body) > _COALESCE_LIMIT:
                link.write(head)
                link.write(body)
            else:
                link.write(head + body)
            if self._remaining:
                self.keep_alive = False  # shorter than the app announced: only a close tells
        # _response_complete, written out for the same reason.
        self._complete = True
        waiter = self._complete_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        link.response_done(self)

    def _emit_end(self, data: bytes, trailers: Headers | None) -> None:
        tail = self._frame(data)
        if self._framing == FRAMING_CHUNKED:
            # The last chunk, then trailers (RFC 9112 §7.1.2), in the same write as the last data.
            tail += b'0\r\n' + _trailer_block(trailers) + b'\r\n'
        if tail:
            self._link.write(tail)
        self._finish()

    def _emit_abort(self) -> None:
        # HTTP/1.1 has no way to say "this response is broken" but closing: a client reading a
        # content-length or chunked body then sees it cut short (RFC 9112 §8).
        self.keep_alive = False
        self._link.close()
        self._response_complete()

    def _file_head(self, count: int) -> bool:
        # The head goes out alone: the file follows in chunks read off the loop.
        self._link.write(self._head(count))
        if self._framing == FRAMING_NONE:  # HEAD, 204, 304: the head was the whole response
            self._finish()
            return False
        return True

    def _emit_accept(self, offer: WebSocketOffer, subprotocol: str | None, headers: Headers) -> WebSocket:
        if offer.key is None:
            # Only an RFC 8441 offer has no key, and it never reaches an HTTP/1.1 exchange.
            raise ResponseStateError('Not a WebSocket handshake')
        link = self._link
        extensions, extensions_header = negotiate_extensions(offer.extensions, link.ctx.ws.max_message_size)
        link.write(accept_head(offer.key, subprotocol, extensions_header, headers, link.ctx.response_defaults))
        # The 101 is the whole HTTP response: from here the bytes are WebSocket frames.
        self._response_complete()
        return link.upgrade(extensions)

    def _body_consumed(self) -> None:
        # The buffer is empty again: reading resumes if the buffer limit had stopped it.
        self._link.resume_reading()

    def _body_wanted(self) -> None:
        if self._expect_continue:
            # RFC 9110 §10.1.1: the client waits for this before sending the body. Sent only now
            # (the app asked for the body) and only before the final head: after it, a 100
            # would be read as a second response.
            self._expect_continue = False
            if self._state <= HELD:
                self._link.write(_CONTINUE)

    def _watch_disconnect(self, waiter: asyncio.Future[None]) -> None:
        self._link.watch_disconnect(self, waiter)

    @property
    def write_paused(self) -> bool:
        return self._link.flow.paused

    async def drain(self) -> None:
        await self._link.flow.drain()

    def _finish(self) -> None:
        if self._framing == FRAMING_LENGTH and self._remaining:
            # Shorter than announced: only closing the connection tells the client.
            self.keep_alive = False
        self._response_complete()
        self._link.response_done(self)

    # -- the connection's side -----------------------------------------------------------------

    def take_body(self) -> bytes:
        """What is buffered of the body, all at once (the h2c upgrade hands it to stream 1)."""
        body = b''.join(self._body)
        self._body.clear()
        return body

    def drop_body(self) -> None:
        """The response is done and the app read no further: unread bytes are not kept."""
        self._body.clear()
        self._body_size = 0

    def lost(self) -> None:
        """The connection is gone."""
        self._client_gone()

    def fail(self, status: int) -> None:
        """The request cannot go on (a malformed body, a failing handler): answer and close."""
        self.keep_alive = False
        self.body_complete = True  # nothing more will be read for it
        if self._state <= HELD:
            # Nothing was written: the error can still be the response.
            self._link.answer_error(status)
        else:
            # A head is already out: no second response fits on the wire, only closing tells.
            self._link.close()
        # The protocol ended the response: the app's later body calls are dropped (see _state),
        # and read_body reports the client gone.
        self._state = DONE
        self._client_gone()


def _trailer_block(trailers: Headers | None) -> bytes:
    """Trailer fields after the last chunk (RFC 9112 §7.1.2), checked as strictly as a head."""
    if not trailers:
        return b''
    lines = []
    for name, value in trailers:
        # A line break would end the trailer section early and let a value add fields; a colon
        # in a name would split it differently for the next reader.
        if b'\r' in name or b'\n' in name or b'\r' in value or b'\n' in value or b':' in name:
            raise ValueError(f'Invalid trailer {name!r}')
        lines.append(name.lower() + b': ' + value + b'\r\n')
    return b''.join(lines)
