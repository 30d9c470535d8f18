"""Protocol settings, as upstream Granian exposes them at ``granian.http``.

The HTTP classes are plain dataclasses so that users can build them the way they always did
(``HTTP1Settings(keep_alive=False)``); the server validates the values when it is constructed.
:class:`WebSocketSettings` is ours (upstream has no WebSocket options yet): the server builds it
from its ``ws_*`` keywords, after checking them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['HTTP3_LIMITS', 'HTTP1Settings', 'HTTP2Settings', 'HTTP3Settings', 'WebSocketSettings']


@dataclass
class HTTP1Settings:
    #: Milliseconds a client has to deliver a whole request head. The timer also runs while a
    #: keep-alive connection waits for its next request, so it doubles as the idle timeout.
    header_read_timeout: int = 30_000
    #: Serve several requests per connection.
    keep_alive: bool = True
    #: Largest request head we parse, and the amount of unread request body we buffer per
    #: connection before we stop reading from the socket.
    max_buffer_size: int = 8192 + 4096 * 100
    #: Send the responses to pipelined requests in one write once the pipeline drains, instead of
    #: one write per response (a response the app has not finished at once goes out as it comes).
    pipeline_flush: bool = False
    #: The request parser: ``'h11'`` (pure Python, the reference), ``'httptools'`` (llhttp, from
    #: ``granian[speedups]``), or ``'auto'``: httptools when installed, else h11. (Not upstream's:
    #: its parser is hyper's, in Rust.)
    parser: str = 'auto'


@dataclass
class HTTP2Settings:
    #: Start both receive windows at the RFC's 64 KiB and grow them to the measured
    #: bandwidth-delay product (one PING per round trip, up to 16 MiB); the two window sizes below
    #: are then not used.
    adaptive_window: bool = False
    #: Bytes of request body the client may send on the whole connection before we acknowledge;
    #: opened with a WINDOW_UPDATE right after our SETTINGS.
    initial_connection_window_size: int = 1024 * 1024
    #: The same per stream (SETTINGS_INITIAL_WINDOW_SIZE). Bytes are acknowledged as the app
    #: reads them, so this is also how much unread body one stream can buffer.
    initial_stream_window_size: int = 1024 * 1024
    #: Milliseconds between keep-alive PINGs, sent only when nothing was received in the interval;
    #: ``None`` disables them.
    keep_alive_interval: int | None = None
    #: Seconds to wait for a PING acknowledgement before closing the connection. Also how long a
    #: response may wait on a client that keeps its flow control window shut before that stream
    #: is reset (``CANCEL``).
    keep_alive_timeout: int = 20
    #: SETTINGS_MAX_CONCURRENT_STREAMS; a client opening more gets GOAWAY ``PROTOCOL_ERROR``.
    max_concurrent_streams: int = 200
    #: SETTINGS_MAX_FRAME_SIZE, the largest frame we accept; kept within RFC 9113's 16 KiB to
    #: 16 MiB - 1.
    max_frame_size: int = 16 * 1024
    #: SETTINGS_MAX_HEADER_LIST_SIZE: the decoded size of a request's header list (and the
    #: encoded size of an unfinished header block); larger gets GOAWAY ``ENHANCE_YOUR_CALM``.
    max_headers_size: int = 16 * 1024 * 1024
    #: Bytes a stream may queue for sending before its app's writes wait (``write_paused``).
    max_send_buffer_size: int = 1024 * 400


@dataclass
class HTTP3Settings:
    """HTTP/3 over QUIC (``--http3``); upstream Granian has no HTTP/3, so these are this server's own.

    The QUIC transport parameters we announce come from here; the ranges the CLI enforces (and the
    server checks for ``Granian(http3_settings=...)``) are in :data:`HTTP3_LIMITS`.
    """

    #: Seconds a connection may stay silent before it is dropped (QUIC ``max_idle_timeout``; the
    #: smaller of ours and the client's applies).
    idle_timeout: int = 30
    #: Bytes of request body the client may send on the whole connection beyond what the apps have
    #: read (QUIC ``initial_max_data``; the window moves only as apps read).
    initial_connection_window_size: int = 1024 * 1024
    #: The same per request stream (QUIC ``initial_max_stream_data_bidi_remote``): also how much
    #: unread body one stream can buffer.
    initial_stream_window_size: int = 1024 * 1024
    #: Request streams a client may have open at once (QUIC ``initial_max_streams_bidi``); one more
    #: is a QUIC ``STREAM_LIMIT_ERROR``.
    max_concurrent_streams: int = 100
    #: The largest UDP payload we send (QUIC's minimum is 1200; 1350 fits common paths).
    max_datagram_size: int = 1350
    #: Largest decoded request header section (names, values and 32 bytes per field, as RFC 9114
    #: §4.2.2 counts); larger is answered ``431``.
    max_headers_size: int = 64 * 1024
    #: Bytes a stream may queue for sending before its app's writes wait (``write_paused``).
    max_send_buffer_size: int = 1024 * 400


#: field -> (lowest, highest) accepted value, for the CLI's ranges and the server's checks.
HTTP3_LIMITS: dict[str, tuple[int, int]] = {
    'idle_timeout': (1, 600),
    'initial_connection_window_size': (1024, 2**31 - 1),
    'initial_stream_window_size': (1024, 2**31 - 1),
    'max_concurrent_streams': (1, 10_000),
    'max_datagram_size': (1200, 65527),
    'max_headers_size': (1024, 16 * 1024 * 1024),
    'max_send_buffer_size': (1024, 2**31 - 1),
}


@dataclass(frozen=True)
class WebSocketSettings:
    """What every WebSocket session of a worker is held to, over HTTP/1.1 and HTTP/2 alike.

    The names and units are Uvicorn's (``--ws-max-size``, ``--ws-ping-interval``,
    ``--ws-ping-timeout``), but pings are off unless asked for: before these options existed the
    server sent none, and an app that never pinged must not start losing clients on upgrade.
    """

    #: The largest message accepted, in bytes, after reassembly and after inflation
    #: (permessage-deflate); a larger one fails the connection with 1009.
    max_message_size: int = 16 * 1024 * 1024
    #: Seconds of silence from the client after which we ping it; ``None``: never.
    ping_interval: float | None = None
    #: Seconds the client has, after our ping, to send anything at all before the connection is
    #: failed with 1011; ``None``: pings only keep intermediaries awake, nobody is closed.
    ping_timeout: float | None = 20.0
