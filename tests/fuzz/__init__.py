"""Coverage-guided fuzzing of every parser that reads bytes or strings from the network.

Each target is one module holding a property check and its seeds (see :mod:`.harness`);
:data:`TARGETS` is the registry that ``scripts/fuzz`` (:mod:`.__main__`) and the regression tests
walk. A new target is a module with a ``TARGET`` and one entry here. Importing this package
imports nothing under test, so the fuzzer can instrument the code before it loads.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .harness import Target

__all__ = ['TARGETS', 'Entry', 'load']

# The third-party parsers our protocol code drives: instrumented too, so that the fuzzer is
# rewarded for reaching their states, not only ours.
_PROTOCOL_LIBRARIES = ('h11', 'h2', 'hpack', 'hyperframe', 'wsproto')


@dataclass(frozen=True)
class Entry:
    #: The module defining the target.
    module: str
    #: Module name prefixes atheris instruments for coverage before importing the target.
    instrument: tuple[str, ...]
    #: The name of the target in that module.
    attribute: str = 'TARGET'


TARGETS = {
    'h1': Entry('fuzz.target_h1', ('granian_http', *_PROTOCOL_LIBRARIES)),
    'h2': Entry('fuzz.target_h2', ('granian_http', *_PROTOCOL_LIBRARIES)),
    'h2-frames': Entry('fuzz.target_h2', ('granian_http', *_PROTOCOL_LIBRARIES), 'FRAMES_TARGET'),
    'ws': Entry('fuzz.target_ws', ('granian_http', 'wsproto')),
    'static': Entry('fuzz.target_static', ('granian_server.static_resolve',)),
    'proxies': Entry('fuzz.target_proxies', ('granian_proxies',)),
    'asgi-messages': Entry('fuzz.target_asgi', ('granian_server.interfaces', 'granian_http')),
    'h3': Entry('fuzz.target_h3', ('granian_http', 'aioquic', 'pylsqpack')),
    'rsgi-messages': Entry('fuzz.target_rsgi', ('granian_server.interfaces', 'granian_http', 'h11')),
    'proxy-protocol': Entry('fuzz.target_proxy_protocol', ('granian_http.proxy_header',)),
}


def load(name: str) -> Target:
    entry = TARGETS[name]
    target: Target = getattr(importlib.import_module(entry.module), entry.attribute)
    return target
