"""Checking what an HTTP/2 server wrote, frame by frame, whatever the client sent.

An h2 client state machine cannot judge the answers to fuzzed bytes: the streams were opened by
bytes it never sent, so it would refuse the very first response as being on an unknown stream.
This reads the server's bytes as a client's frame layer and HPACK decoder do, and holds each
frame to what a server may send (RFC 9113):

* every frame is complete and parses (hyperframe), the first one is SETTINGS (§3.4);
* header blocks are HEADERS then CONTINUATIONs of the same stream up to END_HEADERS, and decode
  with one HPACK decoder kept across the connection (RFC 7541);
* a response head carries exactly a valid ``:status`` and no other pseudo-field; names are
  lower-case (§8.3.2, §8.2.2);
* RST_STREAM and GOAWAY carry an error code RFC 9113 defines; no PUSH_PROMISE (we never push);
  connection-level frames (SETTINGS, PING, GOAWAY) are on stream 0, stream-level ones
  (DATA, HEADERS, CONTINUATION, RST_STREAM, PRIORITY) are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import hpack
import hpack.exceptions
import hyperframe.exceptions
from h2.errors import ErrorCodes
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
)

from .harness import PropertyFailure, expect

__all__ = ['ServerFrames', 'check_server_frames']

_KNOWN_CODES = frozenset(int(code) for code in ErrorCodes)
_CONNECTION_FRAMES = (SettingsFrame, PingFrame, GoAwayFrame)
_STREAM_FRAMES = (DataFrame, HeadersFrame, ContinuationFrame, RstStreamFrame, PriorityFrame)


@dataclass
class ServerFrames:
    """What the server's frames said, for the target's own checks."""

    #: Streams with a final response head (status >= 200), in order.
    responses: list[int] = field(default_factory=list)
    #: Streams the server ended (END_STREAM on HEADERS or DATA).
    ended: set[int] = field(default_factory=set)
    #: Streams the server reset, with the code.
    resets: dict[int, int] = field(default_factory=dict)
    #: The error code of the server's GOAWAY, if it sent one.
    goaway: int | None = None


def _check_head(fields: list[tuple[bytes, bytes]], stream_id: int, summary: ServerFrames) -> None:
    if stream_id in summary.responses:
        # A second final block on a stream is its trailers: no pseudo-fields at all (§8.1).
        expect(not any(name.startswith(b':') for name, _ in fields), f'pseudo-field in trailers on {stream_id}')
        return
    statuses = [value for name, value in fields if name == b':status']
    expect(len(statuses) == 1, f'stream {stream_id}: response head without exactly one :status: {fields!r}')
    status = statuses[0]
    expect(len(status) == 3 and status.isdigit() and b'100' <= status <= b'599', f'bad :status {status!r}')
    for name, _ in fields:
        expect(name == b':status' or not name.startswith(b':'), f'request pseudo-field in a response: {name!r}')
        expect(name == name.lower(), f'upper-case field name {name!r}')
    if int(status) >= 200:
        summary.responses.append(stream_id)


def check_server_frames(data: bytes) -> ServerFrames:
    """Check ``data``, everything a server wrote after the preface point, as HTTP/2 frames."""
    summary = ServerFrames()
    decoder = hpack.Decoder()
    # The client's SETTINGS (fuzzed bytes) may have allowed the server any table size.
    decoder.max_allowed_table_size = 2**32
    block = bytearray()
    block_stream: int | None = None
    block_ends = False
    pos = 0
    first = True
    view = memoryview(data)
    while pos < len(data):
        expect(len(data) - pos >= 9, f'truncated frame header at {pos}')
        try:
            frame, length = Frame.parse_frame_header(view[pos : pos + 9])
            expect(len(data) - pos - 9 >= length, f'truncated {type(frame).__name__} at {pos}')
            frame.parse_body(view[pos + 9 : pos + 9 + length])
        except (hyperframe.exceptions.HyperframeError, ValueError) as exc:
            raise PropertyFailure(f'unparsable frame at {pos}: {exc!r}') from exc
        pos += 9 + length
        if first:
            is_settings = isinstance(frame, SettingsFrame) and 'ACK' not in frame.flags
            expect(is_settings, 'the server did not start with SETTINGS')
            first = False
        if block_stream is not None:
            expect(
                isinstance(frame, ContinuationFrame) and frame.stream_id == block_stream,
                f'{type(frame).__name__} inside the header block of stream {block_stream}',
            )
        expect(not isinstance(frame, PushPromiseFrame), 'PUSH_PROMISE from a server that never pushes')
        if isinstance(frame, _CONNECTION_FRAMES):
            expect(frame.stream_id == 0, f'{type(frame).__name__} on stream {frame.stream_id}')
        elif isinstance(frame, _STREAM_FRAMES):
            expect(frame.stream_id != 0, f'{type(frame).__name__} on stream 0')
        if isinstance(frame, (HeadersFrame, ContinuationFrame)):
            if isinstance(frame, HeadersFrame):
                block_stream, block_ends = frame.stream_id, 'END_STREAM' in frame.flags
            block += frame.data
            if 'END_HEADERS' in frame.flags:
                try:
                    fields = decoder.decode(bytes(block), raw=True)
                except hpack.exceptions.HPACKError as exc:
                    raise PropertyFailure(f'header block of stream {block_stream} does not decode: {exc!r}') from exc
                assert block_stream is not None
                _check_head(fields, block_stream, summary)
                if block_ends:
                    summary.ended.add(block_stream)
                block.clear()
                block_stream = None
        elif isinstance(frame, DataFrame):
            if 'END_STREAM' in frame.flags:
                summary.ended.add(frame.stream_id)
        elif isinstance(frame, RstStreamFrame):
            expect(frame.error_code in _KNOWN_CODES, f'RST_STREAM with unknown code {frame.error_code}')
            summary.resets[frame.stream_id] = frame.error_code
        elif isinstance(frame, GoAwayFrame):
            expect(frame.error_code in _KNOWN_CODES, f'GOAWAY with unknown code {frame.error_code}')
            summary.goaway = frame.error_code
    expect(block_stream is None, f'header block of stream {block_stream} left open')
    return summary
