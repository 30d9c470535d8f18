"""``wsgi.input``: a PEP 3333 input stream over a request body that is still arriving.

The stream pulls the body from the connection a chunk at a time, only when the app asks for more
than it holds, so a large upload is never held whole by the server: what is buffered here is at
most the last chunk received plus whatever the app asked for in one call. ``fetch`` blocks the
calling (app) thread until the next chunk is in and returns ``b''`` at the end of the body.

Unlike upstream's reader, ``readline`` keeps the line's ``\\n`` and honours ``size`` (PEP 3333,
and :class:`io.BufferedReader`), and the stream ends at the end of the body whatever
``CONTENT_LENGTH`` says (so ``wsgi.input_terminated`` is true).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

__all__ = ['WSGIInput']


class WSGIInput:
    """A read-only binary stream over a request body."""

    __slots__ = ('_buf', '_eof', '_fetch', '_pos')

    def __init__(self, fetch: Callable[[], bytes] | None, initial: bytes = b'') -> None:
        #: Pulls the next body chunk; ``None`` once the whole body is in ``initial``.
        self._fetch = fetch
        self._eof = fetch is None
        # What was received and not yet read is ``_buf[_pos:]``; slicing a bytes object with an
        # offset costs less than deleting from the front of a bytearray on every read.
        self._buf = initial
        self._pos = 0

    def _next_chunk(self) -> bytes:
        """Pull the next body chunk; ``b''`` at the end of the body."""
        if self._eof:
            return b''
        chunk = self._fetch()  # type: ignore[misc]
        if not chunk:
            self._eof = True
            self._fetch = None
        return chunk

    def _more(self) -> bool:
        """Append the next chunk to the buffer; False at the end of the body."""
        chunk = self._next_chunk()
        if not chunk:
            return False
        rest = self._buf[self._pos :] if self._pos else self._buf
        self._buf = rest + chunk if rest else chunk
        self._pos = 0
        return True

    def _take(self, end: int) -> bytes:
        """Return the buffer up to offset ``end`` (relative to the read position)."""
        pos = self._pos
        buf = self._buf
        if pos == 0 and end >= len(buf):
            self._buf = b''
            return buf
        data = buf[pos : pos + end]
        self._pos = pos + len(data)
        if self._pos >= len(buf):
            self._buf = b''
            self._pos = 0
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Read ``size`` bytes (fewer only at the end of the body), or all that is left."""
        available = len(self._buf) - self._pos
        if size is not None and 0 <= size <= available:
            return self._take(size)
        parts = [self._take(available)] if available else []
        need = -1 if size is None or size < 0 else size - available
        while need:
            chunk = self._next_chunk()
            if not chunk:
                break
            if 0 < need < len(chunk):
                # Keep what the app did not ask for.
                self._buf = chunk
                self._pos = need
                chunk = chunk[:need]
            parts.append(chunk)
            if need > 0:
                need -= len(chunk)
        return parts[0] if len(parts) == 1 else b''.join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line, keeping its ``\\n``; at most ``size`` bytes when ``size`` >= 0."""
        limit = -1 if size is None or size < 0 else size
        start = 0
        while True:
            buf = self._buf
            pos = self._pos
            end = buf.find(b'\n', pos + start)
            if end >= 0:
                length = end - pos + 1
                return self._take(length if limit < 0 else min(length, limit))
            available = len(buf) - pos
            if 0 <= limit <= available:
                return self._take(limit)
            # Only the bytes that arrive next need searching.
            start = available
            if not self._more():
                return self._take(available)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        """Read lines until the body ends or, with ``hint`` > 0, until they total ``hint`` bytes."""
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    # The parts of the io.RawIOBase surface that libraries probe for.

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """PEP 3333 forbids apps to close the input; closing is allowed and does nothing."""
