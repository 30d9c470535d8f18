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
        ('granian.http', ['HTTP1Settings', 'HTTP2Settings', 'HTTP3Settings']),
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


def _module_level_imports(package: str) -> set[str]:
    """Top-level names of what ``package``'s modules import at module level (not in functions,
    not under ``try`` or ``if``: those are optional imports of extras, checked elsewhere)."""
    import ast
    from pathlib import Path

    root = Path(importlib.import_module(package).__file__ or '').parent
    names: set[str] = set()
    for path in root.rglob('*.py'):
        for node in ast.parse(path.read_text(encoding='utf-8')).body:
            if isinstance(node, ast.Import):
                names.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split('.')[0])
    return names


@pytest.mark.parametrize(
    ('dist', 'package'),
    [
        ('granian-http', 'granian_http'),
        ('granian-server', 'granian_server'),
        ('granian-cli', 'granian_cli'),
        ('granian-proxies', 'granian_proxies'),
        ('granian-rsgi-spec', 'granian_rsgi_spec'),
        ('granian', 'granian'),
    ],
)
def test_every_imported_distribution_is_declared(dist: str, package: str) -> None:
    import sys
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    # An extra's requirement counts: modules that import an optional distribution are loaded only
    # when it is installed (granian-http's httptools parser; its h3 subpackage, on aioquic).
    declared = {Requirement(req).name.lower() for req in requires(dist) or []}
    for name in sorted(_module_level_imports(package)):
        if name in sys.stdlib_module_names or name == package or name == '__future__':
            continue
        # Our own packages are installed editable, which packages_distributions() does not map.
        distributions = {owner.lower() for owner in owners.get(name, [name.replace('_', '-')])}
        assert distributions & declared, f'{dist} imports {name} (from {distributions}) but does not declare it'
