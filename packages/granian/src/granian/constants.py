from granian_server.constants import HTTPModes as HTTPModes
from granian_server.constants import Interfaces as Interfaces
from granian_server.constants import Loops as Loops
from granian_server.constants import ProxyProtocolModes as ProxyProtocolModes
from granian_server.constants import RuntimeModes as RuntimeModes
from granian_server.constants import SSLProtocols as SSLProtocols
from granian_server.constants import StrEnum as StrEnum
from granian_server.constants import TaskImpl as TaskImpl

__all__ = [
    'HTTPModes',
    'Interfaces',
    'Loops',
    'ProxyProtocolModes',
    'RuntimeModes',
    'SSLProtocols',
    'StrEnum',
    'TaskImpl',
]
