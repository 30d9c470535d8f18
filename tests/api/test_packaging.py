"""One version for every distribution, siblings pinned exactly, every upstream import path."""

from __future__ import annotations

import importlib
from importlib.metadata import requires, version

import pytest
from packaging.requirements import Requirement

DISTS = ['granian', 'granian-rsgi-spec', 'granian-http', 'granian-server', 'granian-proxies', 'granian-cli']


def test_one_version() -> None:
    assert len({version(dist) for dist in DISTS}) == 1


def test_sibling_pins_are_exact() -> None:
    expected = f'=={version("granian")}'
    for dist in DISTS:
        for requirement in map(Requirement, requires(dist) or []):
            if requirement.name in DISTS:
                assert str(requirement.specifier) == expected, (dist, str(requirement))


def test_proxies_and_rsgi_spec_have_no_dependencies() -> None:
    assert not requires('granian-proxies')
    assert not requires('granian-rsgi-spec')


@pytest.mark.parametrize(
    ('module', 'names'),
    [
        ('granian', ['Granian', 'loops', '__version__']),
        ('granian.constants', ['Interfaces', 'HTTPModes', 'RuntimeModes', 'Loops', 'TaskImpl', 'SSLProtocols']),
        ('granian.errors', ['ConfigurationError', 'FatalError', 'PidFileError']),
        ('granian.http', ['HTTP1Settings', 'HTTP2Settings']),
        ('granian.log', ['LogLevels', 'LOGGING_CONFIG', 'DEFAULT_ACCESSLOG_FMT', 'configure_logging', 'logger']),
        ('granian.server', ['Server', 'MPServer', 'MTServer']),
        ('granian.server.embed', ['Server']),
        (
            'granian.utils.proxies',
            ['wrap_asgi_with_proxy_headers', 'wrap_wsgi_with_proxy_headers', 'wrap_rsgi_with_proxy_headers'],
        ),
        ('granian.cli', ['cli', 'entrypoint', 'Duration', 'EnumType', 'OctalIntType']),
        (
            'granian.rsgi',
            ['Headers', 'HTTPProtocol', 'ProtocolClosed', 'ProtocolError', 'Scope', 'WebsocketMessageType'],
        ),
    ],
)
def test_upstream_import_paths(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    for name in names:
        assert hasattr(imported, name), f'{module}.{name}'


def test_granian_is_the_server() -> None:
    import granian
    import granian_server

    assert granian.Granian is granian_server.Server
    assert granian.__version__ == version('granian')
    from granian.errors import ConfigurationError, FatalError

    assert issubclass(ConfigurationError, FatalError)
