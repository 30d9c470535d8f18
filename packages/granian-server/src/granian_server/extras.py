"""Optional dependencies behind upstream's extras: a missing one is a configuration mistake that
names the option and the command that fixes it."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigurationError

__all__ = ['has_module', 'require_module']

#: import name -> (distribution, extra of the ``granian`` package that installs it)
_EXTRAS = {
    'dotenv': ('python-dotenv', 'dotenv'),
    'setproctitle': ('setproctitle', 'pname'),
    'watchfiles': ('watchfiles', 'reload'),
    'aioquic': ('aioquic', 'http3'),
}


def has_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def require_module(name: str, option: str) -> ModuleType:
    """Import an optional dependency or raise :class:`ConfigurationError` naming ``option``."""
    try:
        return importlib.import_module(name)
    except ImportError:
        package, extra = _EXTRAS[name]
        raise ConfigurationError(
            f'{option}: needs the {package} package, which is not installed; '
            f'install it with `pip install granian[{extra}]`'
        ) from None
