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
    #: Upstream flushes pipelined responses in one write when set; we always coalesce writes
    #: that are ready in the same loop turn, so this only exists for compatibility.
    pipeline_flush: bool = False


@dataclass
class HTTP2Settings:
    adaptive_window: bool = False
    initial_connection_window_size: int = 1024 * 1024
    initial_stream_window_size: int = 1024 * 1024
    #: Milliseconds between keep-alive PINGs; ``None`` disables them.
    keep_alive_interval: int | None = None
    #: Seconds to wait for a PING acknowledgement before closing the connection.
    keep_alive_timeout: int = 20
    max_concurrent_streams: int = 200
    max_frame_size: int = 16 * 1024
    max_headers_size: int = 16 * 1024 * 1024
    max_send_buffer_size: int = 1024 * 400
