"""The aioquic adapter (granian_http/h3/_aioquic.py) still matches the installed aioquic: the version
and granian-http's pin, and every internal the adapter reaches for."""

from __future__ import annotations

import os

import aioquic.quic.connection
from aioquic.h3.connection import H3Connection
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection

from granian_http.h3._aioquic import CID_LENGTH, PREFIX_LENGTH, WRITTEN_FOR, ServerH3, ServerQuic
from testkit.adapters import check_attributes, check_installed, check_pin
from testkit.certs import Certs


def test_installed_aioquic_is_one_the_adapter_was_written_for() -> None:
    check_installed('aioquic', WRITTEN_FOR)


def test_granian_http_pins_aioquic_to_those_versions() -> None:
    check_pin('aioquic', WRITTEN_FOR)


def _server(certs: Certs) -> ServerQuic:
    configuration = QuicConfiguration(is_client=False, connection_id_length=CID_LENGTH)
    configuration.load_cert_chain(certs.cert, certs.key)
    return ServerQuic(
        configuration=configuration, original_destination_connection_id=os.urandom(8), cid_prefix=b'PRFX', max_streams=7
    )


def test_the_internals_the_adapter_uses_are_there(certs: Certs) -> None:
    check_attributes(aioquic.quic.connection, 'MAX_STREAM_DATA_FRAME_CAPACITY', 'QuicConnectionId')
    quic = _server(certs)
    check_attributes(
        quic,
        '_host_cids',
        '_host_cid_seq',
        '_local_initial_source_connection_id',
        '_local_max_streams_bidi',
        '_local_max_streams_uni',
        '_local_max_data',
        '_remote_active_connection_id_limit',
        '_streams',
        '_configuration',
        '_on_max_stream_data_delivery',
    )
    for name in ('_replenish_connection_ids', '_write_stream_limits', '_write_connection_limits'):
        assert callable(getattr(QuicConnection, name)), name
    check_attributes(quic._local_max_data, 'value', 'used', 'sent')
    h3 = ServerH3(quic, websockets=False)
    check_attributes(h3, '_stream', '_local_control_stream_id', '_quic', '_decoder')
    assert callable(H3Connection._get_local_settings)


def test_the_adapter_builds_on_them(certs: Certs) -> None:
    quic = _server(certs)
    # Our connection IDs, everywhere aioquic keeps the first one.
    assert quic.host_cid[:PREFIX_LENGTH] == b'PRFX' and len(quic.host_cid) == CID_LENGTH
    assert quic._local_initial_source_connection_id == quic.host_cid
    quic._remote_active_connection_id_limit = 4
    quic._replenish_connection_ids()
    assert len(quic._host_cids) == 4 and all(cid.cid.startswith(b'PRFX') for cid in quic._host_cids)
    assert quic._local_max_streams_bidi.value == quic._local_max_streams_bidi.sent == 7
    # No QPACK dynamic table, and the extended CONNECT setting only with websockets.
    h3 = ServerH3(quic, websockets=False)
    assert h3.sent_settings is not None
    assert h3.sent_settings[0x1] == 0 and h3.sent_settings[0x7] == 0
    assert 0x8 not in h3.sent_settings
    assert ServerH3(_server(certs), websockets=True).sent_settings[0x8] == 1  # type: ignore[index]
    assert quic.all_acknowledged() is False  # our SETTINGS are queued, not acknowledged
