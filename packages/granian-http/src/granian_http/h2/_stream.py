"""One HTTP/2 stream as an :class:`~.exchange.Exchange`.

The request side buffers DATA until the app reads it, and only then hands the flow control window
back, so each stream has its own backpressure. The response side queues body bytes per stream and
moves them into h2 as far as the windows and the transport allow (:meth:`H2Exchange._pump`).

A stream is over for us once the response is complete (END_STREAM sent, or a reset either way);
then the connection forgets it. If the request body was still coming, the client is told to stop
with ``RST_STREAM(NO_ERROR)`` (RFC 9113 §8.1).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from typing import TYPE_CHECKING

import h2.exceptions
from h2.errors import ErrorCodes

from ._h2_headers import informational_headers, response_head, trailer_headers
from .exchange import ClientDisconnected, Exchange, Headers, ResponseStateError

if TYPE_CHECKING:
    from .http2 import HTTP2Connection
    from .websocket import WebSocket

__all__ = ['H2Exchange']

# Small files are read whole and sent with the head.
_SMALL_FILE = 64 * 1024
_FILE_CHUNK = 128 * 1024
_NO_BODY_STATUS = frozenset((204, 304))


class H2Exchange(Exchange):
    __slots__ = (
        '_body',
        '_body_done',
        '_body_waiter',
        '_complete_waiter',
        '_conn',
        '_disconnect_waiter',
        '_disconnected',
        '_drain_waiter',
        '_end_queued',
        '_end_sent',
        '_finished',
        '_head_request',
        '_head_sent',
        '_no_body',
        '_pending',
        '_pending_size',
        '_remaining',
        '_request_over',
        '_resp_headers',
        '_response_over',
        '_started',
        '_status',
        '_stream_id',
        '_te_trailers',
        '_trailers',
        '_unacked',
    )

    def __init__(
        self,
        conn: HTTP2Connection,
        stream_id: int,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: list[tuple[bytes, bytes]],
        authority: str | None,
        *,
        te_trailers: bool,
    ) -> None:
        self._conn = conn
        self._stream_id = stream_id
        self.method = method
        self.raw_path = raw_path
        self.query_string = query_string
        self.headers = headers
        self.http_version = '2'
        self.scheme = conn._ctx.scheme
        self.client = conn._client
        self.server = conn._server
        self.authority = authority
        self.tls = conn._tls
        self.websocket = None
        self._te_trailers = te_trailers
        self._head_request = method == 'HEAD'
        # request side
        self._body: list[bytes] = []
        self._unacked = 0
        self._body_done = False
        self._body_waiter: asyncio.Future[None] | None = None
        #: No more request DATA will be read (complete, reset, or we told the client to stop).
        self._request_over = False
        # lifecycle
        self._disconnected = False
        self._disconnect_waiter: asyncio.Future[None] | None = None
        self._complete_waiter: asyncio.Future[None] | None = None
        # response side
        self._started = False
        self._head_sent = False
        self._finished = False  # the app has ended the response
        self._response_over = False  # END_STREAM or RST_STREAM is out: the stream is over for us
        self._status = 200
        self._resp_headers: Headers = ()
        self._no_body = False
        self._remaining = -1  # bytes the app's content-length still allows; -1 when unknown
        self._pending: deque[bytes | memoryview] = deque()
        self._pending_size = 0
        self._end_queued = False
        self._end_sent = False
        self._trailers: list[tuple[bytes, bytes]] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    # -- fed by the connection -----------------------------------------------------------------

    def _feed(self, data: bytes, flow_size: int) -> None:
        if data:
            self._body.append(data)
        self._unacked += flow_size
        if not data and flow_size:
            # Padding only: nothing for the app to consume, so nothing to wait for.
            self._ack()
        self._wake_body()

    def _feed_eof(self) -> None:
        self._body_done = True
        self._request_over = True
        self._wake_body()

    def _wake_body(self) -> None:
        waiter = self._body_waiter
        if waiter is not None:
            self._body_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _ack(self) -> None:
        size, self._unacked = self._unacked, 0
        if size:
            self._conn._h2.acknowledge_received_data(size, self._stream_id)
            self._conn._want_flush()

    def _gone(self) -> None:
        """The stream was reset, or the connection is lost: the client will not hear from us."""
        self._disconnected = True
        self._request_over = True
        self._response_over = True
        self._pending.clear()
        self._pending_size = 0
        for waiter in (self._body_waiter, self._disconnect_waiter, self._complete_waiter, self._drain_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _reset(self, code: int) -> None:
        """Reset the stream from our side."""
        conn = self._conn
        if not self._response_over and not conn._closed:
            try:
                conn._h2.reset_stream(self._stream_id, code)
            except h2.exceptions.ProtocolError:
                pass
            conn._want_flush()
        if self._unacked and not conn._closed:
            # Free the connection window that unread body bytes held.
            conn._h2.acknowledge_received_data(self._unacked, self._stream_id)
            self._unacked = 0
        self._gone()
        conn._stream_done(self)

    def _fail(self) -> None:
        """The handler failed before answering: a 500 if the head is not out, else a reset."""
        if self._head_sent or self._response_over:
            self._reset(ErrorCodes.INTERNAL_ERROR)
            return
        self._finished = False
        self._started = True
        self._status = 500
        self._resp_headers = ()
        self.end()

    # -- request body --------------------------------------------------------------------------

    @property
    def body_complete(self) -> bool:
        return self._body_done

    async def read_body(self) -> bytes:
        while True:
            body = self._body
            if body:
                data = body[0] if len(body) == 1 else b''.join(body)
                body.clear()
                self._ack()
                return data
            if self._body_done:
                return b''
            if self._disconnected:
                raise ClientDisconnected('client reset the stream before the request body was complete')
            waiter = self._body_waiter = self._conn._loop.create_future()
            await waiter

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def disconnected(self) -> bool:
        return self._disconnected

    async def wait_disconnect(self) -> None:
        # A stream that is over for both sides can hear nothing more either: that counts too.
        if not self._disconnected and not (self._response_over and self._request_over):
            if self._disconnect_waiter is None:
                self._disconnect_waiter = self._conn._loop.create_future()
            await self._disconnect_waiter

    async def wait_complete(self) -> None:
        if not self._response_over:
            if self._complete_waiter is None:
                self._complete_waiter = self._conn._loop.create_future()
            await self._complete_waiter

    # -- response ------------------------------------------------------------------------------

    @property
    def response_started(self) -> bool:
        return self._head_sent

    def start(self, status: int, headers: Headers) -> None:
        if self._head_sent or self._finished:
            raise ResponseStateError('Response already started')
        self._status = status
        self._resp_headers = headers
        self._started = True

    def _send_head(self, body_length: int | None, end_stream: bool) -> None:
        conn = self._conn
        status = self._status
        self._no_body = self._head_request or status in _NO_BODY_STATUS
        if self._no_body:
            end_stream = True
        header_list, block, declared = response_head(
            status, self._resp_headers, conn._date(), None if self._no_body else body_length
        )
        if declared is not None:
            self._remaining = declared
        self._head_sent = True
        if self._response_over:
            return
        try:
            conn._h2.send_response_head(self._stream_id, header_list, block, end_stream)
        except h2.exceptions.ProtocolError:
            self._reset(ErrorCodes.STREAM_CLOSED)  # closed under us: the app sees a disconnect
            return
        conn._want_flush()
        if end_stream:
            self._end_sent = True
            self._stream_over()

    def flush_head(self) -> None:
        if not self._started:
            raise ResponseStateError('Response not started')
        if not self._head_sent:
            self._send_head(None, False)

    def _queue(self, data: bytes | memoryview) -> None:
        remaining = self._remaining
        if remaining >= 0:
            if len(data) > remaining:
                # More than the app announced: the rest would make the response malformed.
                data = data[:remaining]
            self._remaining = remaining - len(data)
        if data:
            self._pending.append(data)
            self._pending_size += len(data)

    def write(self, data: bytes) -> None:
        if self._finished:
            if self._disconnected:
                return
            raise ResponseStateError('Response already finished')
        if not self._head_sent:
            if not self._started:
                raise ResponseStateError('Response not started')
            self._send_head(None, False)
        if not data or self._response_over:
            return
        self._queue(data)
        self._pump()

    def end(self, data: bytes = b'', trailers: Headers | None = None) -> None:
        if self._finished:
            if self._disconnected:
                return
            raise ResponseStateError('Response already finished')
        if not self._started:
            raise ResponseStateError('Response not started')
        self._finished = True
        if self._te_trailers and trailers:
            self._trailers = trailer_headers(trailers)
        if not self._head_sent:
            if self._trailers is None and not self._response_over and self._send_whole(data):
                return
            only_head = not data and not self._trailers
            self._send_head(len(data), only_head)
            if only_head:
                return
        if self._response_over:
            return
        conn = self._conn
        if (
            not self._pending
            and self._trailers is None
            and (self._remaining < 0 or self._remaining == len(data))
            and not conn._write_paused
            and len(data) <= conn._h2.max_outbound_frame_size
            and len(data) <= conn._h2.local_flow_control_window(self._stream_id)
        ):
            # The common small response: one DATA frame ends the stream, nothing to queue.
            try:
                conn._h2.send_data(self._stream_id, data, end_stream=True)
            except h2.exceptions.ProtocolError:
                self._reset(ErrorCodes.STREAM_CLOSED)
                return
            self._end_sent = True
            self._stream_over()
            return
        self._queue(data)
        self._end_queued = True
        self._pump()

    def _send_whole(self, data: bytes) -> bool:
        """The common small response: head and body leave together, when the shortcut takes them
        (see :meth:`~._h2_fastpath.LeanH2Connection.send_response`)."""
        conn = self._conn
        status = self._status
        if self._head_request or status in _NO_BODY_STATUS or conn._write_paused:
            return False
        size = len(data)
        header_list, block, declared = response_head(status, self._resp_headers, conn._date(), size)
        if declared is not None and declared != size:
            return False  # the long way cuts or resets a body that breaks the app's content-length
        if not conn._h2.send_response(self._stream_id, header_list, block, data):
            return False
        self._head_sent = self._end_sent = True
        self._stream_over()
        return True

    def _pump(self) -> None:
        """Move queued body bytes into h2 as far as flow control and the transport allow."""
        conn = self._conn
        h2conn = conn._h2
        stream_id = self._stream_id
        pending = self._pending
        try:
            while pending and not conn._write_paused:
                window = h2conn.local_flow_control_window(stream_id)
                if window <= 0:
                    conn._stall_begins(stream_id)
                    break
                chunk = pending[0]
                size = min(len(chunk), window, h2conn.max_outbound_frame_size)
                if size == len(chunk):
                    pending.popleft()
                else:
                    pending[0] = memoryview(chunk)[size:]
                    chunk = memoryview(chunk)[:size]
                self._pending_size -= size
                last = not pending and self._end_queued and self._trailers is None and self._remaining <= 0
                h2conn.send_data(stream_id, chunk, end_stream=last)
                if last:
                    self._end_sent = True
                conn._queued(size)
        except h2.exceptions.ProtocolError:
            # The stream closed under us (a reset the connection has not reported yet).
            self._reset(ErrorCodes.STREAM_CLOSED)
            return
        if pending:
            conn._waiting[stream_id] = self
        else:
            conn._waiting.pop(stream_id, None)
            conn._stalled.pop(stream_id, None)
            if self._end_queued and not self._response_over:
                self._close_response()
        if self._pending_size < conn._send_limit:
            waiter = self._drain_waiter
            if waiter is not None:
                self._drain_waiter = None
                if not waiter.done():
                    waiter.set_result(None)
        conn._want_flush()

    def _close_response(self) -> None:
        """Everything queued is in h2: end the stream (with trailers), or reset a short body."""
        h2conn = self._conn._h2
        if self._remaining > 0:
            # Shorter than the content-length the app announced: only a reset tells the client.
            self._reset(ErrorCodes.INTERNAL_ERROR)
            return
        if self._trailers is not None:
            h2conn.send_headers(self._stream_id, self._trailers, end_stream=True)
        elif not self._end_sent:
            h2conn.end_stream(self._stream_id)
        self._end_sent = True
        self._stream_over()

    def _stream_over(self) -> None:
        """END_STREAM is out: the response is complete."""
        conn = self._conn
        self._response_over = True
        if self._pending:
            self._pending.clear()
            self._pending_size = 0
        if not self._request_over:
            self._request_over = True
            self._stop_request()
        if self._unacked:
            conn._h2.acknowledge_received_data(self._unacked, self._stream_id)
            self._unacked = 0
        waiter = self._complete_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        waiter = self._disconnect_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        conn._want_flush()
        conn._stream_done(self)

    def _stop_request(self) -> None:
        """RFC 9113 §8.1: the response is complete, the client can stop sending the body."""
        try:
            self._conn._h2.reset_stream(self._stream_id, ErrorCodes.NO_ERROR)
        except h2.exceptions.ProtocolError:
            pass

    def _shutdown(self) -> None:
        """The server is stopping: a stream that could run on forever ends now (websockets)."""

    async def send_file(self, path: str | os.PathLike[str], offset: int = 0, count: int | None = None) -> None:
        if not self._started:
            raise ResponseStateError('Response not started')
        if self._head_sent or self._finished:
            raise ResponseStateError('Response already started')
        loop = self._conn._loop
        executor = self._conn._ctx.executor
        file = await loop.run_in_executor(executor, open, path, 'rb')
        try:
            size = (await loop.run_in_executor(executor, os.fstat, file.fileno())).st_size
            available = max(0, size - offset)
            count = available if count is None else min(count, available)
            if offset:
                await loop.run_in_executor(executor, file.seek, offset)
            if count <= _SMALL_FILE:
                self.end(await loop.run_in_executor(executor, file.read, count))
                return
            self._send_head(count, False)
            if self._remaining < 0:
                self._remaining = count  # the content-length we sent: a shorter file resets the stream
            left = count
            while left > 0 and not self._response_over:
                chunk = await loop.run_in_executor(executor, file.read, min(_FILE_CHUNK, left))
                if not chunk:
                    break  # the file shrank: end() resets the stream as the length is short
                left -= len(chunk)
                self._queue(chunk)
                self._pump()
                if self.write_paused:
                    await self.drain()
            if not self._finished:
                self.end()
        finally:
            file.close()

    @property
    def write_paused(self) -> bool:
        return self._pending_size >= self._conn._send_limit and not self._response_over

    async def drain(self) -> None:
        if self.write_paused:
            if self._drain_waiter is None:
                self._drain_waiter = self._conn._loop.create_future()
            await self._drain_waiter

    def abort(self) -> None:
        if not self._response_over:
            self._finished = True
            self._reset(ErrorCodes.INTERNAL_ERROR)

    # -- optional response features ------------------------------------------------------------

    @property
    def trailers_allowed(self) -> bool:
        return self._te_trailers

    @property
    def early_hints_allowed(self) -> bool:
        return not self._head_sent and not self._response_over

    def early_hints(self, headers: Headers) -> None:
        if self._head_sent or self._response_over:
            return
        self._conn._h2.send_headers(self._stream_id, informational_headers(103, headers))
        self._conn._want_flush()

    # -- websockets ----------------------------------------------------------------------------

    def accept_websocket(self, subprotocol: str | None = None, headers: Headers = ()) -> WebSocket:
        # RFC 8441 (extended CONNECT) is not served yet, so no HTTP/2 exchange is a handshake.
        raise ResponseStateError('Not a WebSocket handshake')

    def __repr__(self) -> str:
        return f'<H2Exchange stream={self._stream_id} {self.method} {self.raw_path!r}>'
