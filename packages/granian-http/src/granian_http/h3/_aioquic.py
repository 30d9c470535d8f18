"""The one place that touches aioquic's internals: what a server needs of QUIC and HTTP/3 that
aioquic's public API does not offer.

aioquic is a client-first library. Its sans-IO :class:`QuicConnection` and :class:`H3Connection`
are what we build on (the connection in :mod:`._connection` feeds them datagrams and timers and
sends what they produce), but four things a multi-process server needs are not public:

* **Connection IDs we choose.** Every connection ID we issue starts with the owning worker's
  4-byte prefix (:class:`ServerQuic`, ``cid_prefix``), so a datagram that the kernel hands to the
  wrong worker can be forwarded to its owner (see :mod:`._endpoint`). aioquic draws them from
  ``os.urandom`` in ``__init__`` and ``_replenish_connection_ids``; both are redone here.
* **Inbound flow control that follows the app.** aioquic doubles a window whenever half of it is
  used, i.e. as bytes *arrive*, so a client can make us buffer a body without bound while the app
  reads slowly. Here the stream and connection windows move only as bytes are *released*
  (:meth:`ServerQuic.release`): frame overhead at once, body bytes when the app reads them. That
  is ``_write_stream_limits`` (rewritten) and ``_write_connection_limits`` (its doubling
  suppressed).
* **Stream limits and send buffers:** the concurrent stream limit we announce
  (``_local_max_streams_bidi``), and how many bytes of a stream wait unacknowledged in its send
  buffer (:meth:`ServerQuic.unsent`), which is what our ``write_paused`` measures.
* **HTTP/3 details** (:class:`ServerH3`): no QPACK dynamic table for requests (a table makes a
  small HEADERS frame decode to a huge header list, the QPACK bomb), ``SETTINGS_ENABLE_CONNECT_PROTOCOL``
  only with WebSockets on (aioquic always sends it), the GOAWAY frame aioquic has no method for,
  and the size of a HEADERS frame still being received (bounded by ``max_headers_size``).

This relies on aioquic's internals as the minor versions in :data:`WRITTEN_FOR` have them;
granian-http's pin admits only those, and ``tests/h3/test_h3_adapter.py`` checks the installed
aioquic still has every one, so an aioquic that differs fails there, loudly.
"""

from __future__ import annotations

import os
from typing import Any

from aioquic._buffer import Buffer
from aioquic.buffer import encode_uint_var
from aioquic.h3.connection import FrameType, H3Connection, Setting, encode_frame
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import MAX_STREAM_DATA_FRAME_CAPACITY, QuicConnection, QuicConnectionId
from aioquic.quic.packet import QuicFrameType, QuicHeader, pull_quic_header

__all__ = ['CID_LENGTH', 'PREFIX_LENGTH', 'WRITTEN_FOR', 'ServerH3', 'ServerQuic', 'read_header']

#: The aioquic minor versions this module was written against.
WRITTEN_FOR = ('1.7',)

#: The length of the connection IDs we issue, and of the owner prefix they start with.
CID_LENGTH = 8
PREFIX_LENGTH = 4


def read_header(data: bytes) -> QuicHeader:
    """The header of a datagram's first packet (``ValueError`` when it is not QUIC), with our
    connection ID length for short headers. (aioquic's ``Buffer`` lives in a private module.)"""
    return pull_quic_header(Buffer(data=data), host_cid_length=CID_LENGTH)


class ServerQuic(QuicConnection):
    """A server-side QUIC connection whose connection IDs and receive windows are ours."""

    def __init__(
        self,
        *,
        configuration: QuicConfiguration,
        original_destination_connection_id: bytes,
        cid_prefix: bytes,
        max_streams: int,
    ) -> None:
        super().__init__(
            configuration=configuration, original_destination_connection_id=original_destination_connection_id
        )
        self._cid_prefix = cid_prefix
        # The first connection ID was drawn at random by aioquic and not sent yet: replace it
        # everywhere aioquic keeps it (it is our source CID in the handshake).
        first = self._host_cids[0]
        first.cid = self.new_cid()
        self.host_cid = first.cid
        self._local_initial_source_connection_id = first.cid
        # Announced in the transport parameters (initial_max_streams_bidi); aioquic raises the
        # limit by one as each stream ends, so this is the number open at once.
        bidi = self._local_max_streams_bidi
        bidi.value = bidi.sent = max_streams
        # The client needs three (control, QPACK encoder and decoder); a few spare for grease.
        uni = self._local_max_streams_uni
        uni.value = uni.sent = 16
        #: stream ID -> bytes released (read by the app, or not body at all); the stream window
        #: is kept at released + the configured window.
        self._released: dict[int, int] = {}
        self._released_total = 0
        self._stream_window = configuration.max_stream_data

    def new_cid(self) -> bytes:
        return self._cid_prefix + os.urandom(CID_LENGTH - PREFIX_LENGTH)

    def _replenish_connection_ids(self) -> None:
        # aioquic's own rule (as many as the peer accepts, at most 8), with our IDs.
        while len(self._host_cids) < min(8, self._remote_active_connection_id_limit):
            self._host_cids.append(
                QuicConnectionId(
                    cid=self.new_cid(), sequence_number=self._host_cid_seq, stateless_reset_token=os.urandom(16)
                )
            )
            self._host_cid_seq += 1

    # -- receive windows -----------------------------------------------------------------------

    def release(self, stream_id: int, size: int) -> None:
        """``size`` received bytes of the stream no longer hold its window (nor the connection's)."""
        self._released[stream_id] = self._released.get(stream_id, 0) + size
        self._released_total += size

    def forget(self, stream_id: int) -> None:
        self._released.pop(stream_id, None)

    def _write_stream_limits(self, builder: Any, space: Any, stream: Any) -> None:
        # Replaces aioquic's doubling: MAX_STREAM_DATA = released + window. Locally opened
        # unidirectional streams have no receive side (max_stream_data_local 0): skipped, as there.
        # aioquic calls this for every stream on every packet it builds: kept short.
        local = stream.max_stream_data_local
        if not local:
            return
        stream_id = stream.stream_id
        if stream_id & 3 == 2:
            # The client's unidirectional streams (control, QPACK): HTTP/3 consumes them as they
            # arrive, so they release everything received.
            target = stream.receiver.highest_offset + self._stream_window
        else:
            target = self._released.get(stream_id, 0) + self._stream_window
        if target > local:
            stream.max_stream_data_local = local = target
        if stream.max_stream_data_local_sent != local:
            buf = builder.start_frame(
                QuicFrameType.MAX_STREAM_DATA,
                capacity=MAX_STREAM_DATA_FRAME_CAPACITY,
                handler=self._on_max_stream_data_delivery,
                handler_args=(stream,),
            )
            buf.push_uint_var(stream_id)
            buf.push_uint_var(stream.max_stream_data_local)
            stream.max_stream_data_local_sent = stream.max_stream_data_local

    def _write_connection_limits(self, builder: Any, space: Any) -> None:
        # MAX_DATA = released + window, and aioquic's "double when half used" is kept from
        # running by hiding the usage for the duration of the call (MAX_STREAMS is left to it).
        limit = self._local_max_data
        target = self._released_total + self._configuration.max_data
        if target > limit.value:
            limit.value = target
        used, limit.used = limit.used, 0
        try:
            super()._write_connection_limits(builder, space)
        finally:
            limit.used = used

    # -- send buffers --------------------------------------------------------------------------

    def unsent(self, stream_id: int) -> int:
        """Bytes of the stream waiting in aioquic's send buffer (not yet acknowledged)."""
        stream = self._streams.get(stream_id)
        return len(stream.sender._buffer) if stream is not None else 0

    def all_acknowledged(self) -> bool:
        """Everything we sent on every stream (responses, FINs, GOAWAY) reached the client: what
        closing now would cost nothing (aioquic sends only CONNECTION_CLOSE once closing)."""
        for stream in self._streams.values():
            sender = stream.sender
            if sender._buffer or (sender._buffer_fin is not None and not sender._acked_fin):
                return False
        return True

    def cipher_suite(self) -> int | None:
        """The IANA number of the negotiated cipher suite, once the handshake has chosen it."""
        schedule = self.tls.key_schedule
        return int(schedule.cipher_suite) if schedule is not None else None


class ServerH3(H3Connection):
    """aioquic's HTTP/3 connection, with the server-side choices described in the module docstring."""

    # H3Connection.__init__ assigns these before it builds the QPACK decoder and our SETTINGS:
    # properties that ignore the assignment make both use 0 (no dynamic table, nothing blocked).
    @property
    def _max_table_capacity(self) -> int:
        return 0

    @_max_table_capacity.setter
    def _max_table_capacity(self, value: int) -> None:
        pass

    @property
    def _blocked_streams(self) -> int:
        return 0

    @_blocked_streams.setter
    def _blocked_streams(self, value: int) -> None:
        pass

    def __init__(self, quic: QuicConnection, websockets: bool) -> None:
        self._websockets = websockets  # read by _get_local_settings, which __init__ calls
        super().__init__(quic)

    def _get_local_settings(self) -> dict[int, int]:
        settings = super()._get_local_settings()
        if not self._websockets:
            # RFC 9220 §3: without the setting, a client must not send an extended CONNECT.
            settings.pop(Setting.ENABLE_CONNECT_PROTOCOL, None)
        return settings

    def send_goaway(self, stream_id: int) -> None:
        """GOAWAY (RFC 9114 §5.2): requests on streams from ``stream_id`` up will not be processed."""
        control = self._local_control_stream_id
        assert control is not None  # opened by __init__
        self._quic.send_stream_data(control, encode_frame(FrameType.GOAWAY, encode_uint_var(stream_id)))

    def receiving(self, stream_id: int) -> int:
        """Bytes of an unfinished frame buffered for the stream (a HEADERS frame in progress)."""
        stream = self._stream.get(stream_id)
        return len(stream.buffer) if stream is not None else 0
