"""Protocol settings, as upstream Granian exposes them at ``granian.http``.

Both classes are plain dataclasses so that users can build them the way they always did
(``HTTP1Settings(keep_alive=False)``); the server validates the values when it is constructed.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['HTTP1Settings', 'HTTP2Settings']


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
