"""The shortcuts of LeanH2Connection against h2 itself: the same client bytes and the same calls go
to both, and they must answer with the same bytes, the same events (ours are one event where h2
has two) and the same stream bookkeeping, on the fast paths and on every way out of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hpack import Encoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    HeadersFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from granian_http.h2 import PREFACE
from granian_http.h2._hpack import CachingDecoder, StatelessEncoder
from granian_http.h2._lean import BoundedFrameBuffer, LeanH2Connection, NewRequest

REQUEST = [(b':method', b'GET'), (b':scheme', b'http'), (b':authority', b'example.com'), (b':path', b'/')]
POST = [(b':method', b'POST'), (b':scheme', b'http'), (b':authority', b'example.com'), (b':path', b'/up')]
RESPONSE = [(b':status', b'200'), (b'content-type', b'text/plain'), (b'server', b'granian')]


def _config() -> h2.config.H2Configuration:
    return h2.config.H2Configuration(
        client_side=False,
        header_encoding=None,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
        validate_inbound_headers=False,
    )


def _reference() -> h2.connection.H2Connection:
    conn = h2.connection.H2Connection(_config())
    conn.incoming_buffer = BoundedFrameBuffer(65536)
    conn.encoder = StatelessEncoder()  # type: ignore[assignment]
    conn.decoder = CachingDecoder()
    conn.decoder.max_header_list_size = 65536
    return conn


def _lean() -> LeanH2Connection:
    settings = {SettingCodes.MAX_CONCURRENT_STREAMS: 100, SettingCodes.MAX_HEADER_LIST_SIZE: 65536}
    return LeanH2Connection(_config(), settings, 65536)


def _normalize(events: list[Any]) -> list[Any]:
    out: list[Any] = []
    for event in events:
        if isinstance(event, NewRequest):
            out.append(('request', event.stream_id, list(event.headers)))
            if event.stream_ended:
                out.append(('ended', event.stream_id))
        elif isinstance(event, h2.events.RequestReceived):
            out.append(('request', event.stream_id, list(event.headers)))
        elif isinstance(event, h2.events.StreamEnded):
            out.append(('ended', event.stream_id))
        else:
            out.append(repr(event))
    return out


class Twins:
    """h2 and LeanH2Connection side by side, fed and called alike."""

    def __init__(self, settings: dict[int, int] | None = None) -> None:
        self.ref = _reference()
        self.lean = _lean()
        self.encoder = Encoder()
        self.lean_events: list[Any] = []
        if settings:
            for conn in (self.ref, self.lean):
                conn.update_settings(settings)
        for conn in (self.ref, self.lean):
            conn.initiate_connection()
        self.check_output()
        self.receive(PREFACE + SettingsFrame(0).serialize() + SettingsFrame(0, flags=['ACK']).serialize())

    def receive(self, data: bytes) -> list[Any]:
        results = []
        for conn in (self.ref, self.lean):
            try:
                events = conn.receive_data(data)
                if conn is self.lean:
                    self.lean_events = events
                results.append(_normalize(events))
            except h2.exceptions.ProtocolError as exc:
                results.append(('error', type(exc), getattr(exc, 'error_code', None)))
        assert results[0] == results[1]
        self.check_output()
        return results[1]

    def call(self, action: Callable[[h2.connection.H2Connection], Any]) -> Any:
        results = []
        for conn in (self.ref, self.lean):
            try:
                results.append(('ok', action(conn)))
            except h2.exceptions.ProtocolError as exc:
                results.append(('error', type(exc), str(exc)))
        assert results[0] == results[1]
        self.check_output()
        return results[1]

    def check_output(self) -> None:
        assert self.ref.data_to_send() == self.lean.data_to_send()
        self.check_state()

    def check_state(self) -> None:
        ref, lean = self.ref, self.lean
        ref.open_inbound_streams  # noqa: B018 (h2 forgets closed streams only when it counts)
        lean.open_inbound_streams  # noqa: B018
        assert ref.streams.keys() == lean.streams.keys()
        for stream_id, stream in ref.streams.items():
            twin = lean.streams[stream_id]
            assert stream.state_machine.state == twin.state_machine.state
            assert stream.state_machine.headers_sent == twin.state_machine.headers_sent
            assert stream.state_machine.headers_received == twin.state_machine.headers_received
            assert stream.outbound_flow_control_window == twin.outbound_flow_control_window
            assert stream._expected_content_length == twin._expected_content_length
        assert dict(ref._closed_streams) == dict(lean._closed_streams)
        assert ref.highest_inbound_stream_id == lean.highest_inbound_stream_id
        assert ref.outbound_flow_control_window == lean.outbound_flow_control_window
        assert ref.state_machine.state == lean.state_machine.state

    def headers(self, stream_id: int, block: list[tuple[bytes, bytes]] = REQUEST, *, end: bool = True) -> bytes:
        flags = ['END_HEADERS', 'END_STREAM'] if end else ['END_HEADERS']
        return HeadersFrame(stream_id, self.encoder.encode(block), flags=flags).serialize()


def test_a_get_and_its_response(monkeypatch: pytest.MonkeyPatch) -> None:
    twins = Twins()
    slow: list[str] = []
    for name in ('send_headers', 'send_data', '_receive_headers_frame'):
        original = getattr(h2.connection.H2Connection, name)

        def spy(conn: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            if conn is twins.lean:
                slow.append(_name)
            return _original(conn, *args, **kwargs)

        monkeypatch.setattr(h2.connection.H2Connection, name, spy)
    for stream_id in (1, 3, 5):
        assert twins.receive(twins.headers(stream_id)) == [('request', stream_id, REQUEST), ('ended', stream_id)]
        twins.call(lambda conn, s=stream_id: conn.send_headers(s, RESPONSE))
        twins.call(lambda conn, s=stream_id: conn.send_data(s, b'hello', end_stream=True))
        assert not twins.lean.streams
    assert isinstance(twins.lean_events[0], NewRequest)
    # Only the first request took h2's path (the connection is not open before a request).
    assert slow == ['_receive_headers_frame']


def test_headers_only_response_and_end_stream() -> None:
    twins = Twins()
    for stream_id in (1, 3):
        twins.receive(twins.headers(stream_id))
    twins.call(lambda conn: conn.send_headers(3, [(b':status', b'204')], end_stream=True))
    twins.call(lambda conn: conn.send_headers(1, RESPONSE))
    twins.call(lambda conn: conn.end_stream(1))
    twins.call(lambda conn: conn.end_stream(1))  # again: closed


def test_a_request_body_still_coming_when_the_response_ends() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(twins.headers(3, [*POST, (b'content-length', b'10')], end=False))
    twins.call(lambda conn: conn.send_headers(3, RESPONSE))
    twins.call(lambda conn: conn.send_data(3, b'early', end_stream=True))  # half-closed (local)
    twins.receive(DataFrame(3, b'12345').serialize())
    twins.receive(DataFrame(3, b'67890', flags=['END_STREAM']).serialize())
    assert 3 not in twins.lean.streams


def test_content_length_is_checked_after_the_shortcut() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(twins.headers(3, [*POST, (b'content-length', b'10')], end=False))
    twins.receive(DataFrame(3, b'12345', flags=['END_STREAM']).serialize())


def test_invalid_content_length() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(twins.headers(3, [*POST, (b'content-length', b'ten')], end=False))


def test_trailers_and_informational_responses_go_through_h2() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(twins.headers(3))
    twins.call(lambda conn: conn.send_headers(3, [(b':status', b'103'), (b'link', b'</a>')]))
    twins.call(lambda conn: conn.send_headers(3, RESPONSE))
    twins.call(lambda conn: conn.send_data(3, b'body'))
    twins.call(lambda conn: conn.send_headers(3, [(b'x-trailer', b'1')], end_stream=True))


def test_a_header_block_larger_than_a_frame_goes_out_with_continuations() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(twins.headers(3))
    big = [*RESPONSE, *((b'x-big-%d' % index, b'v' * 1000) for index in range(40))]
    twins.call(lambda conn: conn.send_headers(3, big, end_stream=True))


def test_flow_control_and_frame_size_errors() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 100}).serialize())
    twins.receive(twins.headers(3))
    twins.call(lambda conn: conn.send_headers(3, RESPONSE))
    twins.call(lambda conn: conn.send_data(3, b'x' * 101))
    twins.call(lambda conn: conn.send_data(3, b'x' * 100))
    twins.call(lambda conn: conn.local_flow_control_window(3))
    twins.receive(WindowUpdateFrame(3, window_increment=100_000).serialize())
    twins.call(lambda conn: conn.send_data(3, b'x' * 16385))
    twins.call(lambda conn: conn.send_data(3, memoryview(b'y' * 16384), end_stream=True))
    twins.call(lambda conn: conn.send_data(3, b'late'))
    twins.call(lambda conn: conn.local_flow_control_window(3))


def test_late_frames_on_a_stream_we_closed() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(twins.headers(3))
    twins.call(lambda conn: conn.send_headers(3, RESPONSE, end_stream=True))
    twins.receive(WindowUpdateFrame(3, window_increment=10).serialize())
    twins.receive(RstStreamFrame(3, error_code=ErrorCodes.CANCEL).serialize())
    twins.receive(DataFrame(3, b'after the end').serialize())


def test_resets_both_ways() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(twins.headers(3, POST, end=False))
    twins.receive(RstStreamFrame(3, error_code=ErrorCodes.CANCEL).serialize())
    twins.call(lambda conn: conn.send_headers(3, RESPONSE))
    twins.receive(twins.headers(5, POST, end=False))
    twins.call(lambda conn: conn.reset_stream(5, ErrorCodes.NO_ERROR))
    twins.receive(DataFrame(5, b'in flight').serialize())


@pytest.mark.parametrize(
    'frame',
    [
        pytest.param(lambda t: t.headers(2), id='even-stream'),
        pytest.param(lambda t: t.headers(1), id='stream-id-reused'),
        pytest.param(
            lambda t: HeadersFrame(9, t.encoder.encode(REQUEST), flags=['END_HEADERS']).serialize()[:-1], id='partial'
        ),
        pytest.param(
            lambda t: HeadersFrame(
                9, t.encoder.encode(REQUEST), flags=['END_HEADERS', 'PADDED'], pad_length=3
            ).serialize(),
            id='padded',
        ),
        pytest.param(
            lambda t: HeadersFrame(
                9, t.encoder.encode(REQUEST), flags=['END_HEADERS', 'PRIORITY'], depends_on=0, stream_weight=10
            ).serialize(),
            id='priority',
        ),
        pytest.param(
            lambda t: (
                HeadersFrame(9, t.encoder.encode(REQUEST)[:4]).serialize()
                + ContinuationFrame(9, t.encoder.encode([])).serialize()
            ),
            id='continuation-pending',
        ),
        pytest.param(lambda t: HeadersFrame(9, b'\xff\x80\x01', flags=['END_HEADERS']).serialize(), id='bad-hpack'),
        pytest.param(lambda t: PriorityFrame(9, depends_on=0).serialize() + t.headers(9), id='after-priority'),
    ],
)
def test_ways_out_of_the_request_shortcut(frame: Callable[[Twins], bytes]) -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(twins.headers(3))
    twins.receive(frame(twins))


def test_headers_split_by_continuation() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    block = twins.encoder.encode([*REQUEST, (b'x-long', b'z' * 100)])
    twins.receive(
        HeadersFrame(3, block[:10], flags=['END_STREAM']).serialize()
        + ContinuationFrame(3, block[10:], flags=['END_HEADERS']).serialize()
    )


def test_too_many_streams() -> None:
    twins = Twins(settings={SettingsFrame.MAX_CONCURRENT_STREAMS: 3})
    for stream_id in (1, 3, 5, 7):
        twins.receive(twins.headers(stream_id, POST, end=False))
    twins = Twins(settings={SettingsFrame.MAX_CONCURRENT_STREAMS: 3})
    for stream_id in (1, 3, 5):
        twins.receive(twins.headers(stream_id, POST, end=False))
    twins.call(lambda conn: conn.reset_stream(3, ErrorCodes.CANCEL))
    twins.receive(twins.headers(7, POST, end=False))  # a closed stream frees its slot


def test_after_goaway() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.call(lambda conn: conn.close_connection())
    twins.receive(twins.headers(3))
    twins.call(lambda conn: conn.send_headers(1, RESPONSE))


def _whole(twins: Twins, stream_id: int, headers: list[tuple[bytes, bytes]], data: bytes) -> bool:
    """``send_response`` on ours, and what it stands for on h2: the head, then the data with
    END_STREAM (on the head when there is no data)."""
    from granian_http.h2._hpack import encode_block

    taken = twins.lean.send_response(stream_id, headers, encode_block(headers), data)
    if taken and data:
        twins.ref.send_headers(stream_id, headers)
        twins.ref.send_data(stream_id, data, end_stream=True)
    elif taken:
        twins.ref.send_headers(stream_id, headers, end_stream=True)
    twins.check_output()
    return taken


def test_a_whole_response_at_once() -> None:
    twins = Twins()
    for stream_id in (1, 3):
        twins.receive(twins.headers(stream_id))
    assert _whole(twins, 3, RESPONSE, b'hello')
    assert not _whole(twins, 3, RESPONSE, b'again')  # closed: nothing sent
    assert _whole(twins, 1, [(b':status', b'204')], b'')
    twins.receive(twins.headers(5, POST, end=False))
    assert _whole(twins, 5, RESPONSE, b'before the body')  # half-closed (local) until the client ends
    twins.receive(DataFrame(5, b'late body', flags=['END_STREAM']).serialize())


def test_a_whole_response_after_a_table_size_change() -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    twins.receive(SettingsFrame(0, settings={SettingsFrame.HEADER_TABLE_SIZE: 0}).serialize())
    twins.receive(twins.headers(3))
    assert _whole(twins, 3, RESPONSE, b'x')  # the block opens with the size update


@pytest.mark.parametrize(
    ('window', 'body', 'headers'),
    [
        pytest.param(None, b'x' * 16385, RESPONSE, id='larger-than-a-frame'),
        pytest.param(10, b'x' * 11, RESPONSE, id='larger-than-the-window'),
        pytest.param(None, b'x', [(b':status', b'103')], id='informational'),
        pytest.param(None, b'x', [*RESPONSE, (b'x-big', b'v' * 17000)], id='head-larger-than-a-frame'),
    ],
)
def test_a_whole_response_that_does_not_fit(
    window: int | None, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    twins = Twins()
    twins.receive(twins.headers(1))
    if window is not None:
        twins.receive(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: window}).serialize())
    twins.receive(twins.headers(3))
    assert not _whole(twins, 3, headers, body)
    # Nothing was sent or changed: the long way still works on both.
    twins.call(lambda conn: conn.send_headers(3, RESPONSE, end_stream=True))
