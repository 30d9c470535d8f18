"""The deployment guide shows what the tests run, and names tests that exist.

A recipe shown in ``docs/deployment.md`` is preceded by ``File: [...](deployment/PATH)`` and must
be that file, byte for byte; a snippet preceded by ``From: [...](../PATH)`` must be found in that
file; every file under ``docs/deployment/`` is shown; every ``<!-- command: NAME -->`` command is
run by a test here; every ``tests/...py::name`` the guide cites is a test of that file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from deploy.recipes import GUIDE, RECIPES, guide_commands
from testkit.process import ROOT

_SHOWN = re.compile(r'^(File|From): \[`[^`]+`\]\(([^)]+)\)\n```[\w-]*\n(.*?)^```$', re.DOTALL | re.MULTILINE)
_CITED = re.compile(r'`(tests/[\w/]+\.py)(?:::(\w+))?`')
_LINK = re.compile(r'\]\(([^)#]+)(?:#[^)]*)?\)')


def _shown() -> list[tuple[str, Path, str]]:
    return [(kind, (GUIDE.parent / link).resolve(), body) for kind, link, body in _SHOWN.findall(GUIDE.read_text())]


def test_every_recipe_file_is_shown_as_it_is() -> None:
    shown = {path: body for kind, path, body in _shown() if kind == 'File'}
    files = {path for path in RECIPES.rglob('*') if path.is_file()}
    assert set(shown) == files
    for path, body in shown.items():
        assert body == path.read_text(), f'the guide shows {path.relative_to(ROOT)} otherwise than it is'


def test_every_snippet_is_in_the_file_it_comes_from() -> None:
    snippets = [(path, body) for kind, path, body in _shown() if kind == 'From']
    assert snippets
    for path, body in snippets:
        assert body in path.read_text(), f'{path.relative_to(ROOT)} no longer has:\n{body}'


def test_every_command_is_run_by_a_test() -> None:
    sources = '\n'.join(path.read_text() for path in Path(__file__).parent.glob('test_*.py'))
    commands = guide_commands()
    assert commands
    for name in commands:
        assert re.search(rf"serve\('{name}'|guide_command\('{name}'", sources), f'no test runs the command {name}'


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    functions = (node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return {function.name for function in functions if function.name.startswith('test_')}


@pytest.mark.parametrize('cited', sorted(set(_CITED.findall(GUIDE.read_text()))), ids=lambda cited: '::'.join(cited))
def test_every_cited_test_exists(cited: tuple[str, str]) -> None:
    file, name = cited
    assert (ROOT / file).is_file(), file
    if name:
        assert name in _test_names(ROOT / file), f'{file} has no test {name}'


def test_every_test_named_without_its_file_exists() -> None:
    """A test named alone (in a sentence after its file was named) is in tests/deploy/."""
    names = set(re.findall(r'`(test_\w+)`', GUIDE.read_text()))
    known = set().union(*(_test_names(path) for path in Path(__file__).parent.glob('test_*.py')))
    assert names <= known, names - known


def test_every_link_leads_somewhere() -> None:
    for target in _LINK.findall(GUIDE.read_text()):
        assert (GUIDE.parent / target).exists(), target


def test_the_readme_links_the_guide() -> None:
    assert '](docs/deployment.md)' in (ROOT / 'README.md').read_text()
