from granian_cli import Duration as Duration
from granian_cli import EnumType as EnumType
from granian_cli import OctalIntType as OctalIntType
from granian_cli import cli as cli
from granian_cli import entrypoint as entrypoint

__all__ = ['Duration', 'EnumType', 'OctalIntType', 'cli', 'entrypoint']
