"""The progress of one response, as a state machine every protocol shares.

An exchange's response is in exactly one of five states, and only the response calls of the
exchange contract move it (:mod:`.exchange` defines the calls; :mod:`._core` makes them). The
interface drives it; the protocol never moves it backwards and moves it forward on its own only to
``DONE`` (a request it answered itself, a reset, a lost client)::

            start                 write / flush_head               end / abort
    IDLE ──────────▶ HELD ───────────────────────────▶ STREAMING ─────────────▶ DONE
     │               │  ▲                                   │ ▲
     │               │  └── start (a new head replaces      └─┘ write, flush_head
     │               │      the held one)
     │               ├── end, send_file, abort ─────────────────────────────────▶ DONE
     │               └── accept_websocket ───▶ UPGRADED
     ├── accept_websocket ──────────────────▶ UPGRADED
     └── abort ─────────────────────────────────────────────────────────────────▶ DONE

What each state means, and why the rules are what they are:

* ``IDLE``: the app has said nothing. Only a head (``start``), a WebSocket accept, or giving up
  make sense; a body without a head is the interface's bug and raises.
* ``HELD``: the app gave a status and headers, and nothing is written yet. The head is *held*
  until the first body bytes so that a small response leaves in one write (one syscall, one TCP
  segment), and so that an error before then can still become a clean 500: ``start`` may be
  called again and replaces the head. ``send_file`` is legal only here, because it chooses the
  framing (an exact ``content-length``) itself.
* ``STREAMING``: the head is on the wire. It can no longer change, so ``start`` raises; the body
  goes out chunk by chunk until ``end``. ``flush_head`` is a no-op here (the head is out).
* ``DONE``: the response is complete from the app's side (the protocol may still be moving queued
  bytes onto the wire: HTTP/2 flow control). Every response call raises, with two exceptions: a
  second ``abort`` is a no-op (error paths call it without knowing what happened before), and
  once the client is gone the body calls (``write``, ``end``, ``flush_head``) are silently dropped,
  because the protocol may have ended the response itself (a malformed body answered 400, a
  stream reset) while the app was still producing it; the app learns of the disconnect through
  ``disconnected`` and ``read_body``, and the interface decides what it sees.
* ``UPGRADED``: the WebSocket handshake was accepted; the exchange carries no response any more
  (the session does). ``abort`` drops the session's carrier; everything else raises.

:data:`TRANSITIONS` is the exact table; :data:`LEGAL` is derived from it and is what the exchange
core checks on each call (one frozenset membership test, no dict walk on the hot path). The tests
in ``tests/http/test_response_state.py`` try every call in every state against both protocols.
"""

from __future__ import annotations

from .exchange import ResponseStateError

__all__ = [
    'ABORT',
    'ACCEPT_WEBSOCKET',
    'CALLS',
    'DONE',
    'END',
    'FLUSH_HEAD',
    'HELD',
    'IDLE',
    'LEGAL',
    'SEND_FILE',
    'START',
    'STATES',
    'STREAMING',
    'TRANSITIONS',
    'UPGRADED',
    'WRITE',
    'refusal',
]

# The states. Plain ints, compared with ``is``: the exchange reads its state on every response
# call, and an enum member's attribute access costs more than a module constant for no gain.
IDLE = 0
HELD = 1
STREAMING = 2
DONE = 3
UPGRADED = 4
STATES = {IDLE: 'IDLE', HELD: 'HELD', STREAMING: 'STREAMING', DONE: 'DONE', UPGRADED: 'UPGRADED'}

# The response calls of the exchange contract.
START = 'start'
FLUSH_HEAD = 'flush_head'
WRITE = 'write'
END = 'end'
SEND_FILE = 'send_file'
ACCEPT_WEBSOCKET = 'accept_websocket'
ABORT = 'abort'
CALLS = (START, FLUSH_HEAD, WRITE, END, SEND_FILE, ACCEPT_WEBSOCKET, ABORT)

#: state -> {call: the state it leads to}. A call missing from a state's row raises
#: :class:`~.exchange.ResponseStateError` there (see :func:`refusal` for the two silent cases).
TRANSITIONS: dict[int, dict[str, int]] = {
    IDLE: {START: HELD, ACCEPT_WEBSOCKET: UPGRADED, ABORT: DONE},
    HELD: {
        START: HELD,
        FLUSH_HEAD: STREAMING,
        WRITE: STREAMING,
        END: DONE,
        # A small file is sent as one end(); a large one streams through STREAMING to DONE.
        SEND_FILE: DONE,
        ACCEPT_WEBSOCKET: UPGRADED,
        ABORT: DONE,
    },
    STREAMING: {FLUSH_HEAD: STREAMING, WRITE: STREAMING, END: DONE, ABORT: DONE},
    DONE: {ABORT: DONE},
    UPGRADED: {ABORT: UPGRADED},
}

#: call -> the states in which it is legal.
LEGAL: dict[str, frozenset[int]] = {
    call: frozenset(state for state, row in TRANSITIONS.items() if call in row) for call in CALLS
}

# Dropped instead of refused once the client is gone (see DONE above).
_BODY_CALLS = frozenset((WRITE, END, FLUSH_HEAD))


def refusal(state: int, call: str, disconnected: bool) -> ResponseStateError | None:
    """The error for ``call`` where it is not legal, or ``None`` where it is silently dropped."""
    if state is DONE and disconnected and call in _BODY_CALLS:
        # The protocol may have ended the response under the app; the app is not at fault.
        return None
    # The messages are upstream's texts for the same mistakes (interfaces pass them on, e.g.
    # as "ASGI flow error: Response not started"), chosen by what the app got wrong: a body
    # before any head, a body after the end, or a second head after the first was written.
    if state is IDLE:
        return ResponseStateError('Response not started')
    if call in _BODY_CALLS and (state is DONE or state is UPGRADED):
        return ResponseStateError('Response already finished')
    return ResponseStateError('Response already started')
