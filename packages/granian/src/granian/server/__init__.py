from granian_server import MPServer as MPServer
from granian_server import Server as Server

# Upstream picks a thread-based server on free-threaded builds; here every build runs processes.
MTServer = Server

__all__ = ['MPServer', 'MTServer', 'Server']
