"""The event-loop registry behind ``granian.loops``.

Each worker asks the registry for a fresh loop by name. Builders whose packages cannot be imported
are not registered, so ``'auto'`` simply picks the first implementation that is installed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, TypeVar

from .errors import ConfigurationError

__all__ = ['BuilderRegistry', 'Registry', 'loop_for_tls', 'loops']

_F = TypeVar('_F', bound=Callable[..., Any])


class Registry:
    """A key to callable map."""

    __slots__ = ('_data',)

    def __init__(self) -> None:
        self._data: dict[str, Callable[..., Any]] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def keys(self) -> Iterator[str]:
        return iter(self._data.keys())

    def register(self, key: str) -> Callable[[_F], _F]:
        def wrap(builder: _F) -> _F:
            self._data[key] = builder
            return builder

        return wrap

    def get(self, key: str) -> Callable[..., Any]:
        try:
            return self._data[key]
        except KeyError:
            raise RuntimeError(f"'{key}' implementation not available.") from None


class BuilderRegistry(Registry):
    """A registry of loop builders; ``get`` builds and returns a new event loop."""

    __slots__ = ('_packages',)

    def __init__(self) -> None:
        super().__init__()
        self._packages: dict[str, dict[str, ModuleType]] = {}

    def register(self, key: str, packages: list[str] | None = None) -> Callable[[_F], _F]:
        def wrap(builder: _F) -> _F:
            loaded: dict[str, ModuleType] = {}
            for name in packages or []:
                try:
                    loaded[name] = __import__(name)
                except ImportError:
                    return builder
            self._data[key] = builder
            self._packages[key] = loaded
            return builder

        return wrap

    def get(self, key: str) -> asyncio.AbstractEventLoop:  # type: ignore[override]
        try:
            builder = self._data[key]
        except KeyError:
            raise RuntimeError(f"'{key}' implementation not available.") from None
        loop: asyncio.AbstractEventLoop = builder(**self._packages[key])
        return loop


loops = BuilderRegistry()


@loops.register('asyncio')
def build_asyncio_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.ProactorEventLoop() if sys.platform == 'win32' else asyncio.new_event_loop()  # type: ignore[attr-defined,unused-ignore]
    asyncio.set_event_loop(loop)
    return loop


@loops.register('uvloop', packages=['uvloop'])
def build_uv_loop(uvloop: ModuleType) -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


@loops.register('winloop', packages=['winloop'])
def build_win_loop(winloop: ModuleType) -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop = winloop.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


@loops.register('rloop', packages=['rloop'])
def build_rloop(rloop: ModuleType) -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop = rloop.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


# Upstream tries rloop first. Not here: rloop 0.5 never closes the sockets its servers accept
# (closed by the client, by the server, or reset: the fd stays, in CLOSE_WAIT or CLOSE), so every
# connection would leak a file descriptor until accept() fails with EMFILE. Upstream is not hit:
# its connections never go through the Python loop's transports, ours all do. rloop can still be
# chosen by name (tests/e2e/test_loops.py keeps an expected failure that says when it is fixed).
_AUTO_ORDER = ('uvloop', 'winloop', 'asyncio')
# Loops whose servers cannot speak TLS (rloop 0.5 raises NotImplementedError for ssl=...).
_NO_TLS = frozenset({'rloop'})


@loops.register('auto')
def build_auto_loop() -> asyncio.AbstractEventLoop:
    for key in _AUTO_ORDER:
        if key in loops:
            return loops.get(key)
    raise RuntimeError('No event loop implementation available.')


def loop_for_tls(name: str) -> str:
    """The loop a TLS server should ask the registry for, given the configured ``name``.

    ``'auto'`` (when it is still ours, not a user's replacement) picks the best loop that can
    serve TLS; naming one that cannot is a configuration error.
    """
    if name in _NO_TLS:
        raise ConfigurationError(f'loop: {name} cannot serve TLS; use loop "uvloop", "asyncio" or "auto"')
    if name == 'auto' and loops._data.get('auto') is build_auto_loop:
        return next(key for key in _AUTO_ORDER if key in loops and key not in _NO_TLS)
    return name
