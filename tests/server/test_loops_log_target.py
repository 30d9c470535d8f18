"""The loops registry, logging configuration and target-loading helpers."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest

from granian import loops
from granian.log import LOGGING_CONFIG, configure_logging
from granian_server.loops import BuilderRegistry, build_auto_loop, loop_for_tls
from granian_server.target import get_import_components, load_target, prepare_import


def test_loops_registry() -> None:
    assert 'asyncio' in loops and 'auto' in loops
    loop = loops.get('asyncio')
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert not loop.is_running()
    finally:
        loop.close()
    with pytest.raises(RuntimeError, match=r"^'nope' implementation not available\.$"):
        loops.get('nope')


def test_builders_with_missing_packages_are_not_registered() -> None:
    registry = BuilderRegistry()

    @registry.register('ghost', packages=['package_that_does_not_exist'])
    def build(package_that_does_not_exist: object) -> asyncio.AbstractEventLoop:
        raise AssertionError

    assert 'ghost' not in registry
    assert build is not None


class _ChosenLoop(asyncio.SelectorEventLoop):
    """A loop type nothing else builds, so a loop of it can only come from the user's builder."""


def test_auto_can_be_overridden() -> None:
    # Upstream's README example: a program re-registers 'auto' on granian.loops to pick its loop.
    builtin = loops.get('auto')
    builtin.close()
    assert not isinstance(builtin, _ChosenLoop)
    original = build_auto_loop
    try:

        @loops.register('auto')
        def build() -> asyncio.AbstractEventLoop:
            return _ChosenLoop()

        chosen = loops.get('auto')
        chosen.close()
        assert isinstance(chosen, _ChosenLoop)
        # A TLS server asks for the user's 'auto' too, instead of picking a TLS-capable loop itself.
        assert loop_for_tls('auto') == 'auto'
    finally:
        loops.register('auto')(original)
    restored = loops.get('auto')
    restored.close()
    assert not isinstance(restored, _ChosenLoop)


def test_configure_logging_levels_and_user_config() -> None:
    configure_logging('warning')
    assert logging.getLogger('_granian').level == logging.WARNING
    configure_logging('info', enabled=False)
    assert logging.getLogger('_granian').level == logging.CRITICAL + 1
    configure_logging('info', {'loggers': {'_granian': {'handlers': [], 'level': 'DEBUG'}}})
    # The level argument wins over the user's config, as upstream does.
    assert logging.getLogger('_granian').level == logging.INFO
    assert LOGGING_CONFIG['loggers']['_granian']['level'] == 'INFO'  # never mutated
    configure_logging('info')


def test_import_components() -> None:
    assert get_import_components('pkg.mod:app') == ['pkg.mod', 'app']
    assert get_import_components('pkg.mod') == ['pkg.mod', None]
    assert get_import_components('C:\\apps\\main.py:app') == ['C:\\apps\\main.py', 'app']
    assert get_import_components('C:/apps/main.py') == ['C:/apps/main.py', None]


def test_prepare_import_walks_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, 'path', list(sys.path))
    (tmp_path / 'outer' / 'inner').mkdir(parents=True)
    (tmp_path / 'outer' / '__init__.py').write_text('')
    (tmp_path / 'outer' / 'inner' / '__init__.py').write_text('')
    (tmp_path / 'outer' / 'inner' / 'app.py').write_text('value = 42\n')
    assert prepare_import(str(tmp_path / 'outer' / 'inner' / 'app.py')) == 'outer.inner.app'
    assert sys.path[0] == str(tmp_path)
    assert prepare_import(str(tmp_path / 'outer' / 'inner' / '__init__.py')) == 'outer.inner'
    monkeypatch.chdir(tmp_path)
    assert load_target('outer.inner.app:value') == 42


def test_load_target_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, 'path', list(sys.path))
    (tmp_path / 'target_mod_ok.py').write_text(
        'class A:\n    class B:\n        app = "nested"\n\ndef make():\n    return "made"\n'
    )
    (tmp_path / 'target_mod_bad.py').write_text('import missing_dependency_xyz\n')
    assert load_target('target_mod_ok:A.B.app', wd=str(tmp_path)) == 'nested'
    assert load_target('target_mod_ok:make', wd=str(tmp_path), factory=True) == 'made'
    with pytest.raises(RuntimeError, match=r"^Could not import 'target_mod_missing'\.$"):
        load_target('target_mod_missing:app', wd=str(tmp_path))
    with pytest.raises(RuntimeError, match=r"^While importing 'target_mod_bad', an ImportError was raised:"):
        load_target('target_mod_bad:app', wd=str(tmp_path))
    with pytest.raises(AttributeError):
        load_target('target_mod_ok:nothing', wd=str(tmp_path))
