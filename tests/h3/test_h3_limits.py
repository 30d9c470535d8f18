"""HTTP/3 limits and bad input: each gets the HTTP/3 or QUIC error code RFC 9000/9114 name, memory
stays bounded, and the worker keeps serving (every test ends with a fresh connection's request).

One server with small limits: 4 concurrent streams, 4 KiB of headers, 64 KiB stream windows (256
KiB for the connection), a 2 s idle timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aioquic.buffer import encode_uint_var
from aioquic.h3.connection import FrameType, encode_frame

from testkit.certs import Certs
from testkit.h3 import H3Client, h3_session
from testkit.process import ServerProcess, api_server

H2_APPS = Path(__file__).parents[1] / 'h2' / 'apps'
WINDOW = 64 * 1024

# Error codes (RFC 9000 §20.1, RFC 9114 §8.1, RFC 9204 §6).
FLOW_CONTROL_ERROR = 0x03
STREAM_LIMIT_ERROR = 0x04
H3_CLOSED_CRITICAL_STREAM = 0x104
H3_FRAME_UNEXPECTED = 0x105
H3_EXCESSIVE_LOAD = 0x107
H3_MESSAGE_ERROR = 0x10E
QPACK_DECOMPRESSION_FAILED = 0x200
QPACK_ENCODER_STREAM_ERROR = 0x201


@pytest.fixture(scope='module')
def server(certs: Certs) -> Iterator[ServerProcess]:
    settings = (
        'HTTP3Settings(max_concurrent_streams=4, max_headers_size=4096, initial_stream_window_size=65536, '
        'initial_connection_window_size=262144, idle_timeout=2)'
    )
    proc = api_server(
        'h2_asgi:app',
        interface='asgi',
        working_dir=str(H2_APPS),
        http3=True,
        ssl_cert=certs.cert,
        ssl_key=certs.key,
        http3_settings=_Literal(settings),
    ).ready()
    yield proc
    assert proc.stop() == 0


class _Literal(str):
    """A keyword value written into the server's command line as code, not as a string."""

    def __repr__(self) -> str:
        return str(self)


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def _head(path: bytes = b'/scope', method: bytes = b'GET') -> list[tuple[bytes, bytes]]:
    return [(b':method', method), (b':scheme', b'https'), (b':authority', b'localhost'), (b':path', path)]


async def _still_serving(server: ServerProcess) -> None:
    async with h3_session(server.port) as client:
        assert (await client.request('/scope')).status == 200


def test_more_streams_than_allowed_is_a_stream_limit_error(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            assert (await client.request('/scope')).status == 200
            # The client ignores the limit the server announced (aioquic would wait for it).
            client._quic._remote_max_streams_bidi = 100
            for _ in range(6):
                client.open(_head(b'/slow?ms=2000'), True)
            terminated = await client.wait_terminated()
            assert terminated.error_code == STREAM_LIMIT_ERROR
        await _still_serving(server)

    run(go())


def test_a_header_section_above_the_limit_is_answered_431(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            # ~7 KiB as RFC 9114 counts it (32 bytes per field), a small HEADERS frame.
            fields = [(b'x-h%d' % index, b'v' * 30) for index in range(100)]
            response = await client.request('/scope', headers=fields)
            assert response.status == 431
            assert (await client.request('/scope')).status == 200  # the connection carries on

    run(go())


def test_a_headers_frame_growing_past_the_limit_resets_the_stream(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            response = await client.request('/scope', headers=[(b'x-big', b'v' * 60_000)])
            assert response.reset == H3_EXCESSIVE_LOAD
            assert (await client.request('/scope')).status == 200

    run(go())


def test_a_body_the_app_does_not_read_is_held_back_by_the_window(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            stream_id = client.open(_head(b'/slow?ms=1500', b'POST'))
            client.send_data(stream_id, b'x' * (8 * 1024 * 1024), end_stream=True)
            stream = client._quic._streams[stream_id]
            for _ in range(500):  # until the client has sent all the window allows, and stalls
                if stream.sender.highest_offset >= stream.max_stream_data_remote:
                    break
                await asyncio.sleep(0.01)
            granted = stream.max_stream_data_remote
            assert granted <= WINDOW + 1024, granted  # the app read nothing: the window never moved
            response = await client.response(stream_id)
            assert response.status == 200 and response.body == b'slow done'
            # The response is complete: the server tells the client to stop sending the body.
            assert response.stop_sending == 0x100
        await _still_serving(server)

    run(go())


def test_a_body_beyond_the_window_is_a_flow_control_error(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            stream_id = client.open(_head(b'/slow?ms=3000', b'POST'))
            # The client ignores the windows the server granted (aioquic's would wait for them):
            # three stream windows, while the app reads nothing, all below the connection window.
            client._quic._remote_max_data = 1 << 30
            client._quic._streams[stream_id].max_stream_data_remote = 1 << 30
            client.send_data(stream_id, b'x' * (3 * WINDOW), end_stream=True)
            assert (await client.wait_terminated()).error_code == FLOW_CONTROL_ERROR
        await _still_serving(server)

    run(go())


def test_an_idle_connection_is_closed(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port, idle_timeout=60) as client:
            assert (await client.request('/scope')).status == 200
            started = asyncio.get_running_loop().time()
            await client.wait_terminated(timeout=10)
            assert asyncio.get_running_loop().time() - started < 6
        await _still_serving(server)

    run(go())


def test_data_before_headers_is_frame_unexpected(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            stream_id = client._quic.get_next_available_stream_id()
            client._quic.send_stream_data(stream_id, encode_frame(FrameType.DATA, b'early'), False)
            client.transmit()
            assert (await client.wait_terminated()).error_code == H3_FRAME_UNEXPECTED
        await _still_serving(server)

    run(go())


def test_a_webtransport_stream_frame_resets_the_request_stream(server: ServerProcess) -> None:
    # Found by the h3 fuzz target: aioquic takes WEBTRANSPORT_STREAM (0x41) as the start of a
    # WebTransport stream though we never offer WebTransport, and swallows the rest of the stream,
    # FIN included: the request never ended and its app waited for a body that never came.
    async def go() -> None:
        async with h3_session(server.port) as client:
            stream_id = client.open(_head(b'/echo', b'POST'))  # an app that reads the whole body
            client._quic.send_stream_data(stream_id, encode_uint_var(0x41) + encode_uint_var(0) + b'data', True)
            client.transmit()
            response = await client.response(stream_id, timeout=5)
            assert response.reset == H3_FRAME_UNEXPECTED and response.status == 0
            assert (await client.request('/scope')).status == 200  # a stream error only

    run(go())


def test_a_request_without_scheme_resets_its_stream(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            head = [(b':method', b'GET'), (b':authority', b'x'), (b':path', b'/')]
            response = await client.response(client.open(head, True))
            assert response.reset == H3_MESSAGE_ERROR and response.status == 0
            assert (await client.request('/scope')).status == 200  # a stream error only

    run(go())


def _settings_on_a_request_stream(client: H3Client) -> None:
    stream_id = client._quic.get_next_available_stream_id()
    client._quic.send_stream_data(stream_id, encode_frame(FrameType.SETTINGS, b''), False)


def _undecodable_field_section(client: H3Client) -> None:
    # A field section that needs a dynamic table entry (Required Insert Count 1): the server's
    # QPACK has no dynamic table, so it cannot be decoded (RFC 9204 §4.5.1.1).
    stream_id = client._quic.get_next_available_stream_id()
    client._quic.send_stream_data(stream_id, encode_frame(FrameType.HEADERS, b'\x02\x00\x80'), True)


def _dynamic_table_asked_for(client: H3Client) -> None:
    # Set Dynamic Table Capacity 4096 on the client's encoder stream, above the server's 0
    # (RFC 9204 §4.3.1): what a QPACK bomb would start with.
    encoder = client.h3._local_encoder_stream_id
    assert encoder is not None
    client._quic.send_stream_data(encoder, b'\x3f\xe1\x1f', False)


def _control_stream_closed(client: H3Client) -> None:
    control = client.h3._local_control_stream_id
    assert control is not None
    client._quic.send_stream_data(control, b'', True)


@pytest.mark.parametrize(
    ('misbehave', 'code'),
    [
        pytest.param(_settings_on_a_request_stream, H3_FRAME_UNEXPECTED, id='settings-on-request-stream'),
        pytest.param(_undecodable_field_section, QPACK_DECOMPRESSION_FAILED, id='qpack-undecodable'),
        pytest.param(_dynamic_table_asked_for, QPACK_ENCODER_STREAM_ERROR, id='qpack-dynamic-table'),
        pytest.param(_control_stream_closed, H3_CLOSED_CRITICAL_STREAM, id='control-stream-closed'),
    ],
)
def test_malformed_frames_and_streams_are_connection_errors(
    server: ServerProcess, misbehave: Callable[[H3Client], None], code: int
) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            assert (await client.request('/scope')).status == 200
            misbehave(client)
            client.transmit()
            assert (await client.wait_terminated()).error_code == code
        await _still_serving(server)

    run(go())


@pytest.mark.parametrize(
    'head',
    [
        # aioquic's checks find these, and make each a connection error (RFC 9114 §8 allows it).
        pytest.param([(b':method', b'GET'), (b':scheme', b'https'), (b':authority', b'x')], id='no-path'),
        pytest.param([(b':scheme', b'https'), (b':authority', b'x'), (b':path', b'/')], id='no-method'),
        pytest.param([*_head(), (b':foo', b'bar')], id='unknown-pseudo-header'),
        pytest.param([(b':method', b'GET'), (b'x-a', b'1'), (b':path', b'/'), (b':authority', b'x')], id='late-pseudo'),
        pytest.param([*_head(), (b'X-Upper', b'1')], id='upper-case-name'),
        pytest.param([*_head(), (b'connection', b'keep-alive')], id='connection-specific'),
    ],
)
def test_invalid_fields_are_a_message_error(server: ServerProcess, head: list[tuple[bytes, bytes]]) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            client.open(head, True)
            assert (await client.wait_terminated()).error_code == H3_MESSAGE_ERROR
        await _still_serving(server)

    run(go())


def test_the_client_resetting_many_streams_leaves_nothing_behind(server: ServerProcess) -> None:
    async def go() -> None:
        async with h3_session(server.port) as client:
            for _ in range(12):
                # As many as the limit allows, each reset at once; then a request, which fits only
                # if the resets gave their places back.
                pending = [client.open(_head(b'/slow?ms=5000'), True) for _ in range(4)]
                for _ in range(1000):
                    # A stream the client holds back (over the limit it knows) is reset once it is
                    # out: aioquic's client would otherwise send STOP_SENDING for a stream the
                    # server has not allowed yet.
                    ready = [stream_id for stream_id in pending if not client._quic._streams[stream_id].is_blocked]
                    for stream_id in ready:
                        client.reset(stream_id)
                    pending = [stream_id for stream_id in pending if stream_id not in ready]
                    if not pending:
                        break
                    await asyncio.sleep(0.01)
                assert (await client.request('/scope')).status == 200

    run(go())
