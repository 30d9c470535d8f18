from granian_server.log import DEFAULT_ACCESSLOG_FMT as DEFAULT_ACCESSLOG_FMT
from granian_server.log import LOGGING_CONFIG as LOGGING_CONFIG
from granian_server.log import LogLevels as LogLevels
from granian_server.log import access_logger as access_logger
from granian_server.log import configure_logging as configure_logging
from granian_server.log import log_levels_map as log_levels_map
from granian_server.log import logger as logger

__all__ = [
    'DEFAULT_ACCESSLOG_FMT',
    'LOGGING_CONFIG',
    'LogLevels',
    'access_logger',
    'configure_logging',
    'log_levels_map',
    'logger',
]
