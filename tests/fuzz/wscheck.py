"""What a WebSocket server may put in a close frame (RFC 6455 §7.4)."""

from __future__ import annotations

from .harness import expect

__all__ = ['check_close_code']

# 1004 is reserved, and 1005, 1006 and 1015 must never be sent on the wire (§7.4.1).
_NEVER_SENT = frozenset((1004, 1005, 1006, 1015))


def check_close_code(code: int) -> None:
    """``code`` as a client's parser reports it: 1005 stands for a close frame without a code."""
    if code == 1005:
        return  # an empty close payload (wsproto refuses a 1005 actually on the wire)
    expect(
        (1000 <= code <= 1014 and code not in _NEVER_SENT) or 3000 <= code <= 4999,
        f'close frame with code {code}',
    )
