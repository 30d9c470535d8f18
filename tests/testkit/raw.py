"""HTTP/1.1 on a bare socket, for what stock clients will not do: leave in the middle of a
response, drop a WebSocket without a close frame, send a frame no client library would."""

from __future__ import annotations

import socket

__all__ = ['leave_mid_stream', 'open_websocket', 'read_head']

_WS_REQUEST = (
    'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
)


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read a response head; returns it and the bytes that came after it."""
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f'the server closed the connection before the end of the head: {data!r}')
        data += chunk
    head, _, rest = data.partition(b'\r\n\r\n')
    return head, rest


def open_websocket(port: int, path: str) -> tuple[socket.socket, bytes]:
    """A WebSocket opened over HTTP/1.1; returns the socket and what followed the 101."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=10)
    try:
        sock.sendall(_WS_REQUEST.format(path=path).encode())
        head, rest = read_head(sock)
        if not head.startswith(b'HTTP/1.1 101 '):
            raise ConnectionError(f'the handshake was refused: {head!r}')
    except BaseException:
        sock.close()
        raise
    return sock, rest


def leave_mid_stream(port: int, path: str, after: int = 16384) -> None:
    """GET ``path``, read the head and ``after`` bytes of the body, then drop the connection."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        sock.sendall(f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.encode())
        head, body = read_head(sock)
        if not head.startswith(b'HTTP/1.1 200 '):
            raise AssertionError(f'not a 200: {head!r}')
        while len(body) < after:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError('the server ended the body first')
            body += chunk
