"""The wsproto adapter (granian_http/ws/_wsproto.py) still matches the installed wsproto."""

from __future__ import annotations

from wsproto.connection import Connection, ConnectionType
from wsproto.extensions import PerMessageDeflate

from granian_http.ws._wsproto import WRITTEN_FOR, BoundedDeflate, Codec
from testkit.adapters import check_attributes, check_installed, check_pin


def test_installed_wsproto_is_one_the_adapter_was_written_for() -> None:
    check_installed('wsproto', WRITTEN_FOR)


def test_granian_http_pins_wsproto_to_those_versions() -> None:
    check_pin('wsproto', WRITTEN_FOR)


def test_the_internals_the_adapter_uses_are_there() -> None:
    connection = Connection(ConnectionType.SERVER)
    check_attributes(connection, '_proto', '_state')
    check_attributes(connection._proto, '_frame_decoder')
    check_attributes(connection._proto._frame_decoder, 'header', 'buffer', 'payload_consumed')
    check_attributes(connection._proto._frame_decoder.buffer, 'buffer')
    check_attributes(PerMessageDeflate(), '_inbound_compressed', '_inbound_is_compressible', '_decompressor')


def test_the_codec_reads_a_frame_header_through_them() -> None:
    codec = Codec()
    assert codec.between_frames and codec.announced == 0
    # A masked binary frame announcing 1000 bytes, with 10 of them sent.
    codec.receive_data(bytes((0x82, 0x80 | 126)) + (1000).to_bytes(2, 'big') + b'\x00' * 4 + b'x' * 10)
    list(codec.events())
    assert not codec.between_frames
    assert codec.announced == 990
    assert isinstance(BoundedDeflate(10), PerMessageDeflate)
