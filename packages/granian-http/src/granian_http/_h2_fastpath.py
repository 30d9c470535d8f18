"""A leaner h2 on the paths every request takes; everything else is still h2's own code.

Profiles of small requests show h2's per-frame machinery costing more than the rest of the server:
each HEADERS frame becomes a hyperframe object (and is ``repr``'d for a trace log that is off),
walks the connection and stream state machines input by input, builds events, and each response
goes the same way out. :class:`LeanH2Connection` is an ``H2Connection`` that takes three shortcuts
and leaves h2's state exactly as h2 would have left it, so every other frame, and every unusual
case of these three, still goes through h2:

* **A request's HEADERS.** :class:`LeanFrameBuffer` hands a complete, unpadded, unprioritised
  HEADERS frame over as a :class:`RequestFrame` (no hyperframe object). If it opens a new stream
  on an open connection below the concurrency limit, the stream is created directly in the state
  h2's state machine would reach (open, or half-closed when it carries END_STREAM), and one
  :class:`NewRequest` event replaces h2's ``RequestReceived`` and ``StreamEnded``. Anything else
  (trailers, a stream ID that is too low or even, a full connection) is turned back into a
  ``HeadersFrame`` for h2, which raises the errors it always raised.
* **A response's HEADERS** on a stream whose request is in and whose response has not started
  (not a 1xx, no priority): encoded and framed here, with CONTINUATION frames when the block is
  larger than a frame.
* **DATA** (and END_STREAM alone) on an open or half-closed (remote) stream, with h2's flow
  control and frame size checks and errors.

A stream our side closes is removed from ``streams`` and remembered in ``_closed_streams`` at
once, which is what h2 does lazily the next time it counts open streams; so the concurrency check
above can count with ``len(streams)``. Other frame types and the connection state machine are
untouched: every shortcut requires the connection to be in h2's ``SERVER_OPEN`` state.

This relies on h2's internals (``_frame_dispatch_table``, ``_receive_frame``, ``_data_to_send``,
``_closed_streams``, the stream state machine's fields), which h2 has kept through its 4.x
releases; the HTTP/2 test suite exercises every shortcut and its fallbacks.
"""

from __future__ import annotations

import struct
from typing import Any

import h2.config
from h2.connection import ConnectionState, H2Connection, _decode_headers
from h2.errors import ErrorCodes
from h2.events import Event
from h2.exceptions import FlowControlError, FrameTooLargeError, StreamClosedError, StreamIDTooLowError
from h2.frame_buffer import FrameBuffer
from h2.stream import H2Stream, StreamClosedBy, StreamState
from hyperframe.frame import Frame, HeadersFrame, RstStreamFrame

from ._h2_limits import BoundedFrameBuffer

__all__ = ['LeanFrameBuffer', 'LeanH2Connection', 'NewRequest', 'RequestFrame']

_SERVER_OPEN = ConnectionState.SERVER_OPEN
_OPEN = StreamState.OPEN
_HALF_CLOSED_REMOTE = StreamState.HALF_CLOSED_REMOTE
_HALF_CLOSED_LOCAL = StreamState.HALF_CLOSED_LOCAL
_CLOSED = StreamState.CLOSED
_SENT_END = StreamClosedBy.SEND_END_STREAM

# Frame header: 24-bit length (as 16 + 8 bits), type, flags, stream ID.
_FRAME_HEADER = struct.Struct('>HBBBL')
_DATA, _HEADERS, _CONTINUATION = 0x0, 0x1, 0x9
_END_STREAM, _END_HEADERS, _PADDED, _PRIORITY = 0x1, 0x4, 0x8, 0x20


class RequestFrame:
    """A complete HEADERS frame without padding or priority, as :class:`LeanFrameBuffer` yields it."""

    __slots__ = ('data', 'end_stream', 'stream_id')

    def __init__(self, stream_id: int, data: bytes, end_stream: bool) -> None:
        self.stream_id = stream_id
        self.data = data
        self.end_stream = end_stream

    def as_frame(self) -> HeadersFrame:
        flags = ['END_HEADERS', 'END_STREAM'] if self.end_stream else ['END_HEADERS']
        return HeadersFrame(self.stream_id, self.data, flags=flags)


class NewRequest(Event):
    """A new request (h2's ``RequestReceived``, plus its ``StreamEnded`` when ``stream_ended``)."""

    __slots__ = ('headers', 'stream_ended', 'stream_id')

    def __init__(self, stream_id: int, headers: Any, stream_ended: bool) -> None:
        self.stream_id = stream_id
        self.headers = headers
        self.stream_ended = stream_ended

    def __repr__(self) -> str:
        return f'<NewRequest stream_id:{self.stream_id}, stream_ended:{self.stream_ended}>'


class LeanFrameBuffer(BoundedFrameBuffer):
    """h2's frame buffer, yielding a request's HEADERS frame as a :class:`RequestFrame`."""

    def __next__(self) -> Any:
        data = self._data
        if len(data) >= 9 and data[3] == _HEADERS and data[4] & 0x2C == _END_HEADERS and not self._headers_buffer:
            length = (data[0] << 16) | (data[1] << 8) | data[2]
            if len(data) < length + 9:
                raise StopIteration
            self._validate_frame_length(length)
            stream_id = int.from_bytes(data[5:9], 'big') & 0x7FFFFFFF
            if stream_id:
                frame = RequestFrame(stream_id, bytes(data[9 : 9 + length]), bool(data[4] & _END_STREAM))
                del data[: 9 + length]
                return frame
        return FrameBuffer.__next__(self)


class LeanH2Connection(H2Connection):
    """``H2Connection`` with the shortcuts described in the module docstring (server side only)."""

    def __init__(self, config: h2.config.H2Configuration, max_header_block: int) -> None:
        super().__init__(config)
        self.incoming_buffer = LeanFrameBuffer(max_header_block)
        self._frame_dispatch_table[RequestFrame] = self._receive_request_frame  # type: ignore[index]

    # -- receiving -----------------------------------------------------------------------------

    def _receive_frame(self, frame: Frame) -> list[Event]:
        # h2's, without formatting every frame for a trace log nobody reads.
        events: list[Event]
        try:
            frames, events = self._frame_dispatch_table[frame.__class__](frame)
        except StreamClosedError as e:
            if self._stream_is_closed_by_reset(e.stream_id):
                f = RstStreamFrame(e.stream_id)
                f.error_code = e.error_code
                self._prepare_for_sending([f])
                events = e._events
            else:
                raise
        except StreamIDTooLowError as e:
            if self._stream_is_closed_by_reset(e.stream_id):
                f = RstStreamFrame(e.stream_id)
                f.error_code = ErrorCodes.STREAM_CLOSED
                self._prepare_for_sending([f])
                events = []
            elif self._stream_is_closed_by_end(e.stream_id):
                raise StreamClosedError(e.stream_id) from e
            else:
                raise
        else:
            if frames:
                self._prepare_for_sending(frames)
        return events

    def _receive_request_frame(self, frame: RequestFrame) -> tuple[list[Frame], list[Event]]:
        stream_id = frame.stream_id
        streams = self.streams
        if not (
            stream_id & 1
            and stream_id > self.highest_inbound_stream_id
            and self.state_machine.state is _SERVER_OPEN
            and len(streams) < self.local_settings.max_concurrent_streams
        ):
            return self._receive_headers_frame(frame.as_frame())
        headers = _decode_headers(self.decoder, frame.data)
        local, remote = self.local_settings, self.remote_settings
        stream = H2Stream(stream_id, self.config, local.initial_window_size, remote.initial_window_size)
        stream.max_outbound_frame_size = self.max_outbound_frame_size
        machine = stream.state_machine
        machine.client = False
        machine.headers_received = True
        machine.state = _HALF_CLOSED_REMOTE if frame.end_stream else _OPEN
        streams[stream_id] = stream
        self.highest_inbound_stream_id = stream_id
        stream._initialize_content_length(headers)
        return [], [NewRequest(stream_id, headers, frame.end_stream)]

    # -- sending -------------------------------------------------------------------------------

    def _sendable(self, stream_id: int) -> H2Stream | None:
        """The stream, when it is open or half-closed (remote) on an open connection."""
        stream = self.streams.get(stream_id)
        if stream is None or self.state_machine.state is not _SERVER_OPEN:
            return None
        state = stream.state_machine.state
        return stream if state is _HALF_CLOSED_REMOTE or state is _OPEN else None

    def _ended(self, stream: H2Stream) -> None:
        """We sent END_STREAM: half-close, or close and forget as h2's stream counting would."""
        machine = stream.state_machine
        if machine.state is _OPEN:
            machine.state = _HALF_CLOSED_LOCAL
            return
        machine.state = _CLOSED
        machine.stream_closed_by = _SENT_END
        stream_id = stream.stream_id
        del self.streams[stream_id]
        self._closed_streams[stream_id] = _SENT_END

    def send_headers(
        self,
        stream_id: int,
        headers: Any,
        end_stream: bool = False,
        priority_weight: int | None = None,
        priority_depends_on: int | None = None,
        priority_exclusive: bool | None = None,
    ) -> None:
        stream = self._sendable(stream_id)
        if (
            stream is None
            or stream.state_machine.headers_sent
            or priority_weight is not None
            or priority_depends_on is not None
            or priority_exclusive is not None
            or headers[0][0] != b':status'
            or headers[0][1][:1] == b'1'
        ):
            super().send_headers(
                stream_id, headers, end_stream, priority_weight, priority_depends_on, priority_exclusive
            )
            return
        stream.state_machine.headers_sent = True
        block = self.encoder.encode(headers)
        flags = _END_STREAM if end_stream else 0
        out = self._data_to_send
        size = len(block)
        limit = self.max_outbound_frame_size
        if size <= limit:
            out += _FRAME_HEADER.pack(size >> 8, size & 0xFF, _HEADERS, flags | _END_HEADERS, stream_id)
            out += block
        else:
            out += _FRAME_HEADER.pack(limit >> 8, limit & 0xFF, _HEADERS, flags, stream_id)
            out += block[:limit]
            for start in range(limit, size, limit):
                part = block[start : start + limit]
                last = _END_HEADERS if start + limit >= size else 0
                out += _FRAME_HEADER.pack(len(part) >> 8, len(part) & 0xFF, _CONTINUATION, last, stream_id)
                out += part
        if end_stream:
            self._ended(stream)

    def send_data(
        self, stream_id: int, data: bytes | memoryview, end_stream: bool = False, pad_length: Any = None
    ) -> None:
        stream = self._sendable(stream_id) if pad_length is None else None
        if stream is None:
            super().send_data(stream_id, data, end_stream, pad_length)
            return
        size = len(data)
        if size:
            window = min(self.outbound_flow_control_window, stream.outbound_flow_control_window)
            if size > window:
                raise FlowControlError(f'Cannot send {size} bytes, flow control window is {window}')
            if size > self.max_outbound_frame_size:
                raise FrameTooLargeError(
                    f'Cannot send frame size {size}, max frame size is {self.max_outbound_frame_size}'
                )
        out = self._data_to_send
        out += _FRAME_HEADER.pack(size >> 8, size & 0xFF, _DATA, _END_STREAM if end_stream else 0, stream_id)
        out += data
        self.outbound_flow_control_window -= size
        stream.outbound_flow_control_window -= size
        if end_stream:
            self._ended(stream)

    def end_stream(self, stream_id: int) -> None:
        if self._sendable(stream_id) is None:
            super().end_stream(stream_id)
        else:
            self.send_data(stream_id, b'', end_stream=True)

    def local_flow_control_window(self, stream_id: int) -> int:
        stream = self.streams.get(stream_id)
        if stream is None:
            return super().local_flow_control_window(stream_id)
        window = stream.outbound_flow_control_window
        return window if window < self.outbound_flow_control_window else self.outbound_flow_control_window
