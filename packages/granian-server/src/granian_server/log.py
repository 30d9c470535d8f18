"""Logging as upstream configures it: the ``_granian`` and ``granian.access`` loggers, the default
``dictConfig``, and the access-log formatter with its atoms.
"""

from __future__ import annotations

import copy
import logging
import logging.config
import re
import time
from collections.abc import Iterable
from enum import Enum
from typing import Any

__all__ = [
    'DEFAULT_ACCESSLOG_FMT',
    'LOGGING_CONFIG',
    'AccessLogFormatter',
    'LogLevels',
    'access_logger',
    'configure_logging',
    'log_levels_map',
    'logger',
]


class LogLevels(str, Enum):
    critical = 'critical'
    error = 'error'
    warning = 'warning'
    warn = 'warn'
    info = 'info'
    debug = 'debug'
    notset = 'notset'

    def __str__(self) -> str:
        return str(self.value)


log_levels_map = {
    LogLevels.critical: logging.CRITICAL,
    LogLevels.error: logging.ERROR,
    LogLevels.warning: logging.WARNING,
    LogLevels.warn: logging.WARN,
    LogLevels.info: logging.INFO,
    LogLevels.debug: logging.DEBUG,
    LogLevels.notset: logging.NOTSET,
}

LOGGING_CONFIG: dict[str, Any] = {
    'version': 1,
    'disable_existing_loggers': False,
    'formatters': {
        'generic': {
            '()': 'logging.Formatter',
            'fmt': '[%(levelname)s] %(message)s',
            'datefmt': '[%Y-%m-%d %H:%M:%S %z]',
        },
        'access': {
            '()': 'logging.Formatter',
            'fmt': '%(message)s',
            'datefmt': '[%Y-%m-%d %H:%M:%S %z]',
        },
    },
    'handlers': {
        'console': {'formatter': 'generic', 'class': 'logging.StreamHandler', 'stream': 'ext://sys.stdout'},
        'access': {'formatter': 'access', 'class': 'logging.StreamHandler', 'stream': 'ext://sys.stdout'},
    },
    'loggers': {
        '_granian': {'handlers': ['console'], 'level': 'INFO', 'propagate': False},
        'granian.access': {'handlers': ['access'], 'level': 'INFO', 'propagate': False},
    },
}

DEFAULT_ACCESSLOG_FMT = '[%(time)s] %(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3f'

# The logger name matches upstream's, whose Rust side logs through it as well.
logger = logging.getLogger('_granian')
access_logger = logging.getLogger('granian.access')


def configure_logging(
    level: LogLevels | str = LogLevels.info, config: dict[str, Any] | None = None, enabled: bool = True
) -> None:
    """Apply upstream's logging setup: the default config, shallowly updated by ``config``."""
    log_config = copy.deepcopy(LOGGING_CONFIG)
    if config:
        # A shallow merge, as upstream: a user ``loggers`` key replaces all default loggers.
        log_config.update(config)
    log_config.setdefault('loggers', {}).setdefault('_granian', {})['level'] = log_levels_map[LogLevels(level)]
    logging.config.dictConfig(log_config)
    if not enabled:
        logger.setLevel(logging.CRITICAL + 1)


_HEADER_ATOM = re.compile(r'%\(header\{([^}]+)\}\)')


class AccessLogFormatter:
    """Turns one finished request into an access-log record.

    ``%(header{Name})s`` atoms are rewritten to private keys once, here, so that a request only
    pays for the headers the format actually names.
    """

    __slots__ = ('_fmt', '_header_keys', '_header_names')

    def __init__(self, fmt: str) -> None:
        names: list[bytes] = []

        def _rewrite(match: re.Match[str]) -> str:
            names.append(match.group(1).strip().lower().encode('latin-1'))
            return f'%(_h{len(names) - 1})'

        self._fmt = _HEADER_ATOM.sub(_rewrite, fmt)
        self._header_names = names
        self._header_keys = [f'_h{idx}' for idx in range(len(names))]

    def __call__(
        self,
        *,
        addr: str,
        started_at: float,
        dt_ms: float,
        status: int,
        method: str,
        path: str,
        query_string: str | bytes,
        scheme: str,
        protocol: str,
        headers: Iterable[tuple[bytes, bytes]],
    ) -> None:
        atoms: dict[str, Any] = {
            'addr': addr,
            'time': time.strftime('%Y-%m-%d %H:%M:%S %z', time.localtime(started_at)),
            'dt_ms': dt_ms,
            'status': status,
            'path': path,
            'query_string': query_string,
            'method': method,
            'scheme': scheme,
            'protocol': protocol,
        }
        if self._header_names:
            found: dict[bytes, str] = {}
            wanted = self._header_names
            for name, value in headers:
                if name in wanted and name not in found:
                    found[name] = value.decode('latin-1')
            for key, name in zip(self._header_keys, wanted, strict=True):
                atoms[key] = found.get(name, '-')
        access_logger.info(self._fmt, atoms)
