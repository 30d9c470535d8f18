"""One WSGI response, carried from the app's thread to the event loop.

The app thread owns ``start_response``, the ``write`` callable and the iteration of the body; the
loop owns the exchange. They meet in two places:

* :class:`LoopOutbox` — the worker's one queue of callbacks for the loop. Threads append to it and
  only the first append after the loop emptied it pays for ``call_soon_threadsafe`` (a write to
  the loop's wake-up pipe), so under load many responses share one wake-up.
* :class:`WSGIResponse` — per request. A list body goes over whole, in one callback that does
  ``exchange.start`` + ``exchange.end`` (one hop each way for a simple request). Any other body
  is pushed chunk by chunk into a buffer the loop empties; the thread blocks once
  :data:`STREAM_BUFFER` bytes are in flight, and the loop gives the room back only after the
  transport took the bytes (waiting for ``drain`` while the transport is paused). So a slow
  client slows the app's iteration down instead of growing memory.

The head is decided on the thread (``committed`` turns true with the first non-empty chunk, which
is when PEP 3333 considers the headers sent) and applied on the loop with the first flush, so an
app that fails before its first chunk still gets a 500.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from granian_http import ClientDisconnected, Exchange, ResponseStateError

from .._tasks import TaskSet
from ..log import logger
from .common import RequestDone

__all__ = ['STREAM_BUFFER', 'LoopOutbox', 'WSGIResponse', 'as_bytes']

#: Bytes of a streamed body that may wait between the app thread and the transport.
STREAM_BUFFER = 256 * 1024
# Chunks flushed together are joined into one write up to this size, written one by one above.
_JOIN_LIMIT = 64 * 1024

# How a response ends, as the thread tells the loop.
_OPEN, _END, _ABORT, _FAIL = 0, 1, 2, 3

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r'[\r\n\x00]')
_DIGITS = re.compile(r'[0-9]{1,18}')

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class LoopOutbox:
    """Callbacks from any thread, run on the loop in order, with one wake-up per batch."""

    __slots__ = ('_lock', '_loop', '_pending', '_scheduled')

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._scheduled = False

    def post(self, callback: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            self._pending.append((callback, args))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._run)
        except RuntimeError:
            # The loop is closed: the worker is exiting and nobody is left to answer.
            pass

    def _run(self) -> None:
        with self._lock:
            self._scheduled = False
        pending = self._pending
        popleft = pending.popleft
        # Runs until empty, including what threads add meanwhile; any append after the last
        # ``popleft`` finds ``_scheduled`` false and schedules the next run.
        while pending:
            callback, args = popleft()
            try:
                callback(*args)
            except Exception:
                logger.error('WSGI response callback failed', exc_info=True)


def _encode_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    try:
        return [(name.encode('latin-1'), value.encode('latin-1')) for name, value in headers]
    except (AttributeError, UnicodeEncodeError, ValueError, TypeError):
        pass
    # Upstream drops the headers it cannot send; say which, so the app can be fixed.
    encoded = []
    for header in headers:
        try:
            name, value = header
            encoded.append((name.encode('latin-1'), value.encode('latin-1')))
        except (AttributeError, UnicodeEncodeError, ValueError, TypeError):
            logger.warning(f'WSGI response header dropped, it is not a pair of latin-1 strings: {header!r}')
    return encoded


def _valid_headers(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers that can go on the wire (upstream silently drops the others)."""
    valid = []
    for name, value in headers:
        text_name = name.decode('latin-1')
        text_value = value.decode('latin-1')
        if (
            _TOKEN.fullmatch(text_name) is None
            or _BAD_VALUE.search(text_value) is not None
            or (text_name.lower() == 'content-length' and _DIGITS.fullmatch(text_value) is None)
        ):
            logger.warning(f'WSGI response header dropped, it cannot be sent: {text_name!r}: {text_value!r}')
            continue
        valid.append((name, value))
    return valid


def as_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f'WSGI body chunks must be bytes, not {type(chunk).__name__}')


class WSGIResponse:
    """``start_response``, ``write`` and the body of one request, bridged to the loop."""

    __slots__ = (
        '_buffered',
        '_chunks',
        '_draining',
        '_end',
        '_finished',
        '_head_applied',
        '_lock',
        '_outbox',
        '_scheduled',
        '_settled',
        '_space',
        '_started',
        '_tasks',
        'committed',
        'exchange',
        'gone',
        'headers',
        'path',
        'status',
    )

    def __init__(
        self,
        exchange: Exchange,
        outbox: LoopOutbox,
        tasks: TaskSet,
        finished: RequestDone | None,
        started: float,
        path: str,
    ) -> None:
        self.exchange = exchange
        self._outbox = outbox
        self._tasks = tasks
        #: The access log and duration histogram's end of the request, and its start.
        self._finished = finished
        self._started = started
        #: The request path, for the access log.
        self.path = path
        #: The status code the app chose; 0 until it calls ``start_response``.
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        #: A body chunk went to the loop: the head can no longer change.
        self.committed = False
        #: The client is gone: the app should stop producing the body.
        self.gone = False
        # Shared by the thread and the loop, under ``_lock``.
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._end = _OPEN
        self._scheduled = False
        # Set while the app may push; made on first need, as most responses never fill the buffer.
        self._space: threading.Event | None = None
        # The loop's own.
        self._draining = False
        self._head_applied = False
        self._settled = False

    # -- the app's thread ----------------------------------------------------------------------

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.committed:
                    # PEP 3333: too late to change the head, so the error goes back to the app.
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status:
            raise AssertionError('start_response() was already called (pass exc_info to replace the headers)')
        # Upstream keeps only the code: the reason text never reaches the wire.
        code = int(status.split(' ', 1)[0])
        if not 100 <= code <= 999:
            raise ValueError(f'Invalid HTTP status {status!r}')
        self.headers = _encode_headers(headers)
        self.status = code
        return self.write

    def write(self, data: bytes) -> None:
        """The ``write`` callable ``start_response`` returns (PEP 3333's imperative API)."""
        if type(data) is not bytes:
            data = as_bytes(data)
        if not self.status:
            raise AssertionError('write() called before start_response()')
        if data and not self.push(data):
            raise ClientDisconnected('client disconnected')

    def push(self, data: bytes) -> bool:
        """Hand a body chunk to the loop; blocks while the buffer is full. False once the client is gone."""
        with self._lock:
            if self.gone:
                return False
            self._chunks.append(data)
            self._buffered += len(data)
            schedule = not self._scheduled
            self._scheduled = True
            space = None
            if self._buffered >= STREAM_BUFFER:
                space = self._space
                if space is None:
                    space = self._space = threading.Event()
                else:
                    space.clear()
        self.committed = True
        if schedule:
            self._outbox.post(self._flush)
        if space is not None:
            space.wait()
        return not self.gone

    def send_whole(self, body: bytes) -> None:
        """Send the complete response in one go (the app returned a list)."""
        self.committed = True
        self._outbox.post(self._send_whole, body)

    def finish(self) -> None:
        """The body is complete."""
        self._close_stream(_END)

    def fail(self) -> None:
        """The app failed: a 500 if nothing was sent yet, else cut the response short."""
        self._close_stream(_ABORT if self.committed else _FAIL)

    def _close_stream(self, end: int) -> None:
        with self._lock:
            self._end = end
            schedule = not self._scheduled
            self._scheduled = True
        if schedule:
            self._outbox.post(self._flush)

    # -- the loop ------------------------------------------------------------------------------

    def _send_whole(self, body: bytes) -> None:
        if self._settled:
            return
        try:
            self._with_head(self.exchange.end, body)
        except ResponseStateError:
            # The protocol already gave up on this exchange (a malformed request body).
            pass
        self._done()

    async def send_file(self, path: str, offset: int, count: int) -> bool:
        """Send a file as the body (runs on the loop); False if it cannot be opened."""
        exchange = self.exchange
        self._head_applied = True
        headers: Sequence[tuple[bytes, bytes]] = self.headers
        for attempt in (1, 2):
            try:
                exchange.start(self.status, headers)
                await exchange.send_file(path, offset, count)
            except ResponseStateError:
                # The protocol already gave up on this exchange.
                break
            except OSError:
                if exchange.response_started:
                    exchange.abort()
                    break
                self._head_applied = False
                return False
            except ValueError:
                if exchange.response_started:
                    raise
                if attempt == 2:
                    logger.error(f'WSGI response head cannot be sent: status {self.status}', exc_info=True)
                    self.status = 500
                    exchange.start(500, ())
                    exchange.end()
                    break
                headers = _valid_headers(headers)
                continue
            break
        self._done()
        return True

    def _with_head(self, operation: Callable[[bytes], None], data: bytes) -> None:
        """Apply the app's head, then ``operation(data)``; drop headers that cannot be sent."""
        exchange = self.exchange
        self._head_applied = True
        exchange.start(self.status, self.headers)
        try:
            operation(data)
        except ValueError:
            if exchange.response_started:
                raise
            headers = _valid_headers(self.headers)
            try:
                exchange.start(self.status, headers)
                operation(data)
            except ValueError:
                if exchange.response_started:
                    raise
                logger.error(f'WSGI response head cannot be sent: status {self.status}', exc_info=True)
                self.status = 500
                exchange.start(500, ())
                exchange.end()
                self._set_gone()

    def _flush(self) -> None:
        if self._draining:
            # The drain will flush when the transport takes writes again.
            return
        with self._lock:
            chunks = self._chunks
            self._chunks = []
            end = self._end
            self._scheduled = False
        if self._settled:
            # The response already ended on our side (a head that could not be sent).
            self._set_gone()
            return
        if not chunks and end == _OPEN:
            return
        exchange = self.exchange
        size = 0
        for chunk in chunks:
            size += len(chunk)
        try:
            if end == _FAIL:
                self.status = 500
                exchange.start(500, ())
                exchange.end()
                self._done()
                return
            if end == _END and size <= _JOIN_LIMIT:
                data = chunks[0] if len(chunks) == 1 else b''.join(chunks)
                if self._head_applied:
                    exchange.end(data)
                else:
                    self._with_head(exchange.end, data)
                self._done()
                return
            if chunks:
                if size <= _JOIN_LIMIT:
                    chunks = [chunks[0] if len(chunks) == 1 else b''.join(chunks)]
                if not self._head_applied:
                    self._with_head(exchange.write, chunks.pop(0))
                    if self.gone:
                        # The head could not be sent and became a 500.
                        self._done()
                        return
                for chunk in chunks:
                    exchange.write(chunk)
            if end == _END:
                exchange.end()
                self._done()
                return
            if end == _ABORT:
                exchange.abort()
                self._done()
                return
        except ResponseStateError:
            self._set_gone()
            self._done()
            return
        except Exception:
            logger.error('Unable to complete the response', exc_info=True)
            exchange.abort()
            self._set_gone()
            self._done()
            return
        if exchange.disconnected:
            self._set_gone()
        elif exchange.write_paused:
            self._draining = True
            self._tasks.spawn(self._drain(size))
        else:
            self._release(size)

    async def _drain(self, size: int) -> None:
        await self.exchange.drain()
        self._draining = False
        if self.exchange.disconnected:
            self._set_gone()
        else:
            self._release(size)
        self._flush()

    def _release(self, size: int) -> None:
        with self._lock:
            self._buffered -= size
            if self._buffered < STREAM_BUFFER and self._space is not None:
                self._space.set()

    def _set_gone(self) -> None:
        with self._lock:
            self.gone = True
            if self._space is not None:
                self._space.set()

    def _done(self) -> None:
        if self._settled:
            return
        self._settled = True
        if self._finished is not None:
            self._finished(self.exchange, self._started, self.status or 500, self.path, self.exchange.query_string)
