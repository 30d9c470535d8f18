from granian_server.errors import ConfigurationError as ConfigurationError
from granian_server.errors import FatalError as FatalError
from granian_server.errors import PidFileError as PidFileError

__all__ = ['ConfigurationError', 'FatalError', 'PidFileError']
