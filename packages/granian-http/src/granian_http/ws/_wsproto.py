"""The one place that touches wsproto's internals.

The session needs three things wsproto does not expose:

* whether its frame decoder holds part of a frame (so the fast frame reader of :mod:`._frames`
  only ever starts at a frame boundary; read with the connection's ``_state``, not the ``state``
  property, as this is asked once per received message), and how many payload bytes the frame being read still
  announces (so a header announcing more than the message limit is refused at once, not after
  the peer has taken its time sending it): both read from ``Connection._proto._frame_decoder``;
* a permessage-deflate whose inflation is bounded: wsproto inflates without a limit, so a small
  frame of zeros could expand ~1000x. :class:`BoundedDeflate` overrides the inbound payload hook
  and reads ``PerMessageDeflate``'s private decompression state to do it.

These were written against wsproto 1.3 (:data:`WRITTEN_FOR`), the only minor version
granian-http's dependency pin admits. ``tests/websocket/test_wsproto_adapter.py`` checks that the
installed wsproto still has every attribute used here, so an upgrade that moves them fails there,
loudly, rather than at run time.
"""

from __future__ import annotations

import zlib
from typing import Any

import wsproto
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol

__all__ = ['WRITTEN_FOR', 'BoundedDeflate', 'Codec', 'installed_version']

_OPEN = ConnectionState.OPEN

#: The wsproto minor versions this adapter was written and tested against.
WRITTEN_FOR = ('1.3',)


def installed_version() -> str:
    return str(wsproto.__version__)


class Codec(Connection):
    """wsproto's server-side ``Connection``, plus what the session reads of its frame decoder."""

    def __init__(self, extensions: list[Extension] | None = None) -> None:
        super().__init__(ConnectionType.SERVER, extensions)
        self._decoder: FrameDecoder = self._proto._frame_decoder

    @property
    def between_frames(self) -> bool:
        """True while the connection is open and the decoder holds no part of a frame: the next
        byte starts a new one, so the fast frame reader may take it."""
        decoder = self._decoder
        return decoder.header is None and not decoder.buffer.buffer and self._state is _OPEN

    @property
    def announced(self) -> int:
        """Payload bytes the frame being read announces and has not delivered yet (0 if none)."""
        header = self._decoder.header
        if header is None:
            return 0
        return int(header.payload_len - self._decoder.payload_consumed)


class BoundedDeflate(PerMessageDeflate):
    """permessage-deflate whose inflation stops once a message passes ``limit`` bytes.

    A message may inflate to ``limit`` bytes; one byte more fails the connection with 1009
    (``MESSAGE_TOO_BIG``), which the session turns into its close.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit
        self._inflated = 0

    def frame_inbound_payload_data(self, proto: FrameDecoder | FrameProtocol, data: bytes) -> bytes | CloseReason:
        if not self._inbound_compressed or not self._inbound_is_compressible:
            return data
        decompressor: Any = self._decompressor
        assert decompressor is not None
        try:
            # Ask for one byte past the limit: getting it proves the message too big without
            # inflating the rest.
            out: bytes = decompressor.decompress(bytes(data), self._limit - self._inflated + 1)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        self._inflated += len(out)
        if self._inflated > self._limit or decompressor.unconsumed_tail:
            return CloseReason.MESSAGE_TOO_BIG
        return out

    def frame_inbound_complete(self, proto: FrameDecoder | FrameProtocol, fin: bool) -> bytes | CloseReason | None:
        if fin:
            self._inflated = 0
        return super().frame_inbound_complete(proto, fin)
