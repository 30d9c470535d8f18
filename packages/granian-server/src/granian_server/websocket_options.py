"""The ``ws_*`` options, checked once in the main process into the settings every worker gets.

They are not upstream Granian's: its open issue #613 asks for keep-alive pings "as in uvicorn",
so the names, units and meanings are Uvicorn's (``--ws-max-size``, ``--ws-ping-interval``,
``--ws-ping-timeout``), for ASGI and RSGI, over HTTP/1.1 and HTTP/2. One default differs: pings
are off unless an interval is given, as they were before the options existed (Uvicorn pings
every 20 seconds by default).

* ``ws_max_size``: bytes, at least 1; a larger message (reassembled, inflated) fails with 1009.
* ``ws_ping_interval``: seconds; ``None`` or ``0`` (the issue's and Uvicorn's "off") sends none.
* ``ws_ping_timeout``: seconds above 0; ``None`` pings without ever closing anyone.
"""

from __future__ import annotations

import math
from typing import Any

from granian_http import WebSocketSettings

from .errors import ConfigurationError
from .log import logger

__all__ = ['DEFAULT_WS_MAX_SIZE', 'DEFAULT_WS_PING_TIMEOUT', 'websocket_settings']

_DEFAULTS = WebSocketSettings()
DEFAULT_WS_MAX_SIZE = _DEFAULTS.max_message_size
DEFAULT_WS_PING_TIMEOUT = _DEFAULTS.ping_timeout
#: The defaults of the options that only matter with websockets on.
_DEFAULT_VALUES = {'ws_max_size': DEFAULT_WS_MAX_SIZE, 'ws_ping_interval': None}


def _seconds(option: str, value: Any, fix: str) -> float:
    # bool is an int to Python, and NaN or infinity compare in ways that would make the timer
    # fire at once or never: all three are refused with the rest.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f'{option}: {value!r} is not a number of seconds above 0; {fix}')
    return float(value)


def websocket_settings(max_size: Any, ping_interval: Any, ping_timeout: Any, *, websockets: bool) -> WebSocketSettings:
    """The checked settings; :class:`ConfigurationError` names the first option that is wrong."""
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise ConfigurationError(
            f'ws_max_size: {max_size!r} is not a number of bytes of at least 1; '
            f'give the largest WebSocket message to accept (the default is {DEFAULT_WS_MAX_SIZE}, 16 MiB)'
        )
    interval = None
    if ping_interval is not None and ping_interval != 0:
        interval = _seconds('ws_ping_interval', ping_interval, 'give the seconds of silence before a ping, 0 for none')
    timeout = None
    if ping_timeout is not None:
        timeout = _seconds('ws_ping_timeout', ping_timeout, 'give the seconds a pinged client has to answer')
    # Said, not refused: a configuration shared by several apps may carry them for the others.
    values = {'ws_max_size': max_size, 'ws_ping_interval': interval}
    given = [name for name, value in values.items() if value != _DEFAULT_VALUES[name]]
    if not websockets and given:
        verb = 'has' if len(given) == 1 else 'have'
        logger.warning(f'{" and ".join(given)} {verb} no effect with websockets off')
    elif websockets and interval is None and timeout != DEFAULT_WS_PING_TIMEOUT:
        logger.warning('ws_ping_timeout has no effect without ws_ping_interval')
    return WebSocketSettings(max_message_size=max_size, ping_interval=interval, ping_timeout=timeout)
