"""The one place that touches h2's internals: a leaner h2 on the paths every request takes.

Profiles of small requests show h2's per-frame machinery costing more than the rest of the server:
each HEADERS frame becomes a hyperframe object (and is ``repr``'d for a trace log that is off),
walks the connection and stream state machines input by input, builds events, and each response
goes the same way out. :class:`LeanH2Connection` is an ``H2Connection`` that takes these shortcuts
and leaves h2's state exactly as h2 would have left it, so every other frame, and every unusual
case of these, still goes through h2:

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
* **A whole small response** (:meth:`LeanH2Connection.send_response`): the two above in one call,
  or nothing at all when it needs more than one frame of each kind.

A stream our side closes is removed from ``streams`` and remembered in ``_closed_streams`` at
once, which is what h2 does lazily the next time it counts open streams; so the concurrency check
above can count with ``len(streams)``. Other frame types and the connection state machine are
untouched: every shortcut requires the connection to be in h2's ``SERVER_OPEN`` state.

Two more places where h2's behaviour is not what RFC 9113 asks, corrected here so the connection
never touches h2's state itself: after the client's GOAWAY, h2 refuses to send anything, though
§6.8 lets the streams already open finish (:meth:`LeanH2Connection.keep_streams_after_goaway`);
and h2 sends PROTOCOL_ERROR where §4.3 and §6.5 name a more precise code
(:meth:`LeanH2Connection.goaway_bytes`). :class:`LeanFrameBuffer` also bounds an unfinished
header block (see :mod:`._limits`, CONTINUATION floods).

This relies on h2's internals (``_frame_dispatch_table``, ``_receive_frame``, ``_data_to_send``,
``_closed_streams``, the settings' value deques, the stream state machine's fields, the frame
buffer's ``_data`` and ``_headers_buffer``), as the h2 minor versions in :data:`WRITTEN_FOR` have
them; granian-http's pin admits only those. ``tests/h2/test_h2_fastpath.py`` runs h2 and this
class side by side on the same frames and calls, and checks the installed h2 still has every
internal used here, so an h2 that differs fails there, loudly.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from typing import Any

import h2.config
from h2.connection import ConnectionState, H2Connection, _decode_headers
from h2.errors import ErrorCodes
from h2.events import Event
from h2.exceptions import (
    DenialOfServiceError,
    FlowControlError,
    FrameTooLargeError,
    ProtocolError,
    StreamClosedError,
    StreamIDTooLowError,
)
from h2.frame_buffer import FrameBuffer
from h2.settings import SettingCodes, Settings
from h2.stream import H2Stream, StreamClosedBy, StreamState
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hyperframe.exceptions import InvalidDataError, InvalidPaddingError
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame, RstStreamFrame

from ._hpack import CachingDecoder, StatelessEncoder

__all__ = ['WRITTEN_FOR', 'BoundedFrameBuffer', 'LeanFrameBuffer', 'LeanH2Connection', 'NewRequest', 'RequestFrame']

#: The h2 minor versions this adapter was written and tested against.
WRITTEN_FOR = ('4.4',)

_SERVER_OPEN = ConnectionState.SERVER_OPEN
_OPEN = StreamState.OPEN
_HALF_CLOSED_REMOTE = StreamState.HALF_CLOSED_REMOTE
_HALF_CLOSED_LOCAL = StreamState.HALF_CLOSED_LOCAL
_CLOSED = StreamState.CLOSED
_SENT_END = StreamClosedBy.SEND_END_STREAM

# Frame header: 24-bit length (as 16 + 8 bits), type, flags, stream ID.
_FRAME_HEADER = struct.Struct('>HBBBL')
_unpack_header = _FRAME_HEADER.unpack_from
_ordered_set = OrderedDict.__setitem__
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


class BoundedFrameBuffer(FrameBuffer):
    """h2's frame buffer, refusing a header block that grows beyond ``max_block`` bytes before it
    is complete (h2 only counts the CONTINUATION frames of a block, not their size)."""

    def __init__(self, max_block: int) -> None:
        super().__init__(server=True)
        self._max_block = max_block

    def _update_header_buffer(self, f: Any) -> Any:
        frame = super()._update_header_buffer(f)
        pending = self._headers_buffer
        if pending and sum(len(part.data) for part in pending) > self._max_block:
            raise DenialOfServiceError('Header block larger than the header list limit')
        return frame


class LeanFrameBuffer(BoundedFrameBuffer):
    """The bounded frame buffer, yielding a request's HEADERS frame as a :class:`RequestFrame`."""

    def __next__(self) -> Any:
        data = self._data
        if len(data) >= 9:
            high, low, kind, flags, stream_id = _unpack_header(data)
            # The reserved bit is not part of the stream ID (RFC 9113 §4.1): a frame for stream 0
            # with that bit set is h2's to refuse, not a request (found by fuzzing).
            stream_id &= 0x7FFFFFFF
            if kind == _HEADERS and flags & 0x2C == _END_HEADERS and stream_id and not self._headers_buffer:
                end = ((high << 8) | low) + 9
                if len(data) < end:
                    raise StopIteration
                self._validate_frame_length(end - 9)
                frame = RequestFrame(stream_id, bytes(data[9:end]), flags & _END_STREAM == _END_STREAM)
                del data[:end]
                return frame
        return FrameBuffer.__next__(self)


class LeanH2Connection(H2Connection):
    """``H2Connection`` with the shortcuts described in the module docstring (server side only).

    ``local_settings`` are our initial SETTINGS; ``max_header_block`` bounds a header list, decoded
    or not (see :class:`LeanFrameBuffer`).
    """

    def __init__(
        self, config: h2.config.H2Configuration, local_settings: dict[SettingCodes, int], max_header_block: int
    ) -> None:
        super().__init__(config)
        self.local_settings = Settings(client=False, initial_values=local_settings)
        self.encoder: StatelessEncoder = StatelessEncoder()  # type: ignore[assignment]
        self.decoder = CachingDecoder()
        self.decoder.max_header_list_size = max_header_block
        self.incoming_buffer = LeanFrameBuffer(max_header_block)
        #: The last header list decoded from the cache, and its content-length (see below).
        self._last_headers: Any = None
        self._last_length: int | None = None
        self._frame_dispatch_table[RequestFrame] = self._receive_request_frame  # type: ignore[index]
        # The current values of three settings, read without h2's per-read enum hashing: h2 keeps
        # each value in a deque that it updates in place (value first, unacknowledged ones after).
        self._max_streams = self.local_settings._settings[SettingCodes.MAX_CONCURRENT_STREAMS]
        self._window_in = self.local_settings._settings[SettingCodes.INITIAL_WINDOW_SIZE]
        self._window_out = self.remote_settings._settings[SettingCodes.INITIAL_WINDOW_SIZE]

    def receive_data(self, data: Any) -> list[Event]:
        # h2's, with a request's HEADERS taken without the per-frame dispatch.
        buffer = self.incoming_buffer
        buffer.add_data(data)
        buffer.max_frame_size = self.max_inbound_frame_size
        events: list[Event] = []
        frame: Any
        try:
            for frame in buffer:
                event = self._new_request(frame) if frame.__class__ is RequestFrame else None
                if event is not None:
                    events.append(event)
                else:
                    events.extend(self._receive_frame(frame))
        except InvalidPaddingError as e:
            self._terminate_connection(ErrorCodes.PROTOCOL_ERROR)
            raise ProtocolError('Received frame with invalid padding.') from e
        except ProtocolError as e:
            self._terminate_connection(e.error_code)
            raise
        return events

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
        """The dispatch table's entry: what :meth:`_new_request` does not take is h2's."""
        event = self._new_request(frame)
        if event is None:
            return self._receive_headers_frame(frame.as_frame())
        return [], [event]

    def _new_request(self, frame: RequestFrame) -> NewRequest | None:
        """Open the stream of a new request, or ``None`` when h2 must handle the frame."""
        stream_id = frame.stream_id
        streams = self.streams
        if not (
            stream_id & 1
            and stream_id > self.highest_inbound_stream_id
            and self.state_machine.state is _SERVER_OPEN
            and len(streams) < self._max_streams[0]
        ):
            return None
        headers = _decode_headers(self.decoder, frame.data)
        stream = H2Stream(stream_id, self.config, self._window_in[0], self._window_out[0])
        stream.max_outbound_frame_size = self.max_outbound_frame_size
        machine = stream.state_machine
        machine.client = False
        machine.headers_received = True
        machine.state = _HALF_CLOSED_REMOTE if frame.end_stream else _OPEN
        streams[stream_id] = stream
        self.highest_inbound_stream_id = stream_id
        if headers is self._last_headers:
            # The decoder answered a repeated block from its cache with the very same list.
            stream._expected_content_length = self._last_length
        else:
            stream._initialize_content_length(headers)
            self._last_headers = headers
            self._last_length = stream._expected_content_length
        return NewRequest(stream_id, headers, frame.end_stream)

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
        closed: Any = self._closed_streams
        # SizeLimitDict's own __setitem__, minus a Python call per stream.
        _ordered_set(closed, stream_id, _SENT_END)
        if len(closed) > closed._size_limit:
            closed._check_size_limit()

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
        self._send_block(stream, self.encoder.encode(headers), end_stream)

    def send_response_head(
        self, stream_id: int, headers: list[tuple[bytes, bytes]], block: bytes, end_stream: bool
    ) -> None:
        """A final response head already encoded by :func:`~._h2_hpack.encode_block` (``block``)."""
        stream = self._sendable(stream_id)
        if stream is None or stream.state_machine.headers_sent or headers[0][1][:1] == b'1':
            self.send_headers(stream_id, headers, end_stream)
            return
        stream.state_machine.headers_sent = True
        self._send_block(stream, self.encoder.block_start() + block, end_stream)

    def send_response(self, stream_id: int, headers: list[tuple[bytes, bytes]], block: bytes, data: bytes) -> bool:
        """A whole response at once: its head (encoded as for :meth:`send_response_head`), then
        ``data`` with END_STREAM. Returns ``False``, having sent nothing, when it does not fit in
        one frame of each kind and the flow control windows; the caller then goes the long way."""
        stream = self.streams.get(stream_id)
        if stream is None or self.state_machine.state is not _SERVER_OPEN:
            return False
        machine = stream.state_machine
        state = machine.state
        size = len(data)
        limit = self.max_outbound_frame_size
        if (
            (state is not _HALF_CLOSED_REMOTE and state is not _OPEN)
            or machine.headers_sent
            or headers[0][1][:1] == b'1'
            or len(block) >= limit
            or size > limit
            or size > stream.outbound_flow_control_window
            or size > self.outbound_flow_control_window
        ):
            return False
        machine.headers_sent = True
        encoder = self.encoder
        if encoder._size_update:
            block = encoder.block_start() + block
        out = self._data_to_send
        hsize = len(block)
        if size:
            out += _FRAME_HEADER.pack(hsize >> 8, hsize & 0xFF, _HEADERS, _END_HEADERS, stream_id)
            out += block
            out += _FRAME_HEADER.pack(size >> 8, size & 0xFF, _DATA, _END_STREAM, stream_id)
            out += data
            self.outbound_flow_control_window -= size
            stream.outbound_flow_control_window -= size
        else:
            out += _FRAME_HEADER.pack(hsize >> 8, hsize & 0xFF, _HEADERS, _END_HEADERS | _END_STREAM, stream_id)
            out += block
        self._ended(stream)
        return True

    def _send_block(self, stream: H2Stream, block: bytes, end_stream: bool) -> None:
        stream_id = stream.stream_id
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

    # -- where h2 and RFC 9113 part ways -------------------------------------------------------

    def keep_streams_after_goaway(self) -> None:
        """The client sent GOAWAY: let the streams it opened before finish.

        h2 stops all sending once the client's GOAWAY is in, but RFC 9113 §6.8 lets the streams
        below its last-stream-id complete; reopening h2's connection state is what allows it.
        """
        self.state_machine.state = _SERVER_OPEN

    def ping_if_open(self, opaque_data: bytes) -> None:
        """Send a PING unless h2 has closed the connection.

        h2 processes a whole read before we see its events: a GOAWAY behind a DATA frame in the
        same read has closed h2's state by the time we act on the DATA, and h2 raises on any PING
        then. A window probe is pointless on a connection that is ending anyway.
        """
        if self.state_machine.state is not ConnectionState.CLOSED:
            self.ping(opaque_data)

    def goaway_bytes(self, error: ProtocolError) -> bytes:
        """What to send after h2 raised ``error`` from :meth:`receive_data` (it queued a GOAWAY).

        h2 reports some errors as PROTOCOL_ERROR where RFC 9113 names a more precise code: an
        undecodable field block is COMPRESSION_ERROR (§4.3), a SETTINGS ack with a payload is
        FRAME_SIZE_ERROR (§6.5). Then the queued GOAWAY is replaced by one with that code.
        """
        data = self.data_to_send()
        cause = error.__cause__
        if isinstance(cause, HPACKError) and not isinstance(cause, OversizedHeaderListError):
            code = ErrorCodes.COMPRESSION_ERROR
        elif isinstance(cause, InvalidDataError) and 'ack frame must not have payload' in str(cause):
            code = ErrorCodes.FRAME_SIZE_ERROR
        else:
            return data
        # h2 queues the GOAWAY last: 9 bytes of frame header, then 8 of payload.
        if len(data) >= 17 and data[-14] == GoAwayFrame.type:
            data = data[:-17]
        frame = GoAwayFrame(0, last_stream_id=self.highest_inbound_stream_id, error_code=code)
        return data + frame.serialize()
