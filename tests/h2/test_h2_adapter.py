"""The h2 adapter (granian_http/h2/_lean.py) still matches the installed h2.

``test_h2_fastpath.py`` runs h2 and the adapter side by side on the same frames; this module checks
the version and pin, and that every internal the adapter reaches for is still where it was.
"""

from __future__ import annotations

import h2.config
import h2.connection
import h2.frame_buffer
import h2.settings
import h2.stream
import h2.utilities
from h2.connection import H2Connection

from granian_http.h2._lean import WRITTEN_FOR, LeanH2Connection
from testkit.adapters import check_attributes, check_installed, check_pin


def test_installed_h2_is_one_the_adapter_was_written_for() -> None:
    check_installed('h2', WRITTEN_FOR)


def test_granian_http_pins_h2_to_those_versions() -> None:
    check_pin('h2', WRITTEN_FOR)


def test_the_internals_the_adapter_uses_are_there() -> None:
    check_attributes(h2.connection, '_decode_headers')
    conn = H2Connection(h2.config.H2Configuration(client_side=False))
    check_attributes(
        conn,
        '_frame_dispatch_table',
        '_receive_frame',
        '_receive_headers_frame',
        '_data_to_send',
        '_closed_streams',
        '_prepare_for_sending',
        '_terminate_connection',
        '_stream_is_closed_by_reset',
        '_stream_is_closed_by_end',
        'state_machine',
        'highest_inbound_stream_id',
    )
    check_attributes(conn._closed_streams, '_size_limit', '_check_size_limit')
    check_attributes(conn.local_settings, '_settings')
    check_attributes(
        h2.frame_buffer.FrameBuffer(server=True),
        '_data',
        '_headers_buffer',
        '_update_header_buffer',
        '_validate_frame_length',
    )
    stream = h2.stream.H2Stream(1, conn.config, 65535, 65535)
    check_attributes(stream, '_initialize_content_length', '_expected_content_length', 'outbound_flow_control_window')
    check_attributes(stream.state_machine, 'state', 'client', 'headers_received', 'headers_sent', 'stream_closed_by')


def test_the_adapter_builds_on_them() -> None:
    settings = {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 10}
    conn = LeanH2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None), settings, 65536)
    conn.initiate_connection()
    assert conn.data_to_send()


def test_a_closed_connection_sends_no_window_probe() -> None:
    # A GOAWAY later in the same read closes h2's state before the DATA ahead of it is acted on:
    # the adapter's ping then does nothing (h2's own raises ProtocolError in CLOSED). A window
    # update is still allowed there, and harmless.
    client = H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    settings = {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 10}
    server = LeanH2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None), settings, 65536)
    server.initiate_connection()
    client.send_headers(1, [(':method', 'POST'), (':path', '/'), (':scheme', 'http'), (':authority', 'x')])
    for _ in range(3):
        client.send_data(1, b'x' * 16000)
    client.close_connection()
    server.receive_data(client.data_to_send())
    assert server.state_machine.state is h2.connection.ConnectionState.CLOSED
    server.data_to_send()
    server.ping_if_open(b'12345678')
    assert server.data_to_send() == b''
