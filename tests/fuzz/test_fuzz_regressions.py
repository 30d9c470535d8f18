"""Every saved crasher and every seed of every fuzz target, replayed through its property check.

Runs in the ordinary suite, without atheris: a crasher found by ``scripts/fuzz`` stays a
regression test from the moment it is saved under ``tests/fuzz/crashers/<target>/``. A crasher of
a bug reported but not fixed yet is listed in its target's ``known`` bugs and expected to fail
(strictly: once the bug is fixed, the test says so and the entry goes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz import TARGETS, load

CRASHERS = Path(__file__).parent / 'crashers'


def _crashers() -> list[object]:
    cases = []
    for name in TARGETS:
        target = load(name)
        folder = CRASHERS / name
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            marks = [
                pytest.mark.xfail(strict=True, reason=bug.reason) for bug in target.known if path.name in bug.crashers
            ]
            cases.append(pytest.param(name, path, marks=marks, id=f'{name}/{path.name}'))
    return cases


@pytest.mark.parametrize(('name', 'path'), _crashers())
def test_saved_crasher(name: str, path: Path) -> None:
    load(name).check(path.read_bytes())


def test_every_known_crasher_is_saved() -> None:
    # Targets over the same code share known bugs (h2 and h2-frames): a listed crasher lives in
    # the folder of the target that found it.
    saved = {path.name for path in CRASHERS.glob('*/*')}
    for name in TARGETS:
        for bug in load(name).known:
            missing = set(bug.crashers) - saved
            assert not missing, f'{name}: {sorted(missing)} listed but not saved'


@pytest.mark.parametrize('name', list(TARGETS))
def test_seeds_hold_the_property(name: str) -> None:
    """The seeds are the test suite's own inputs: each must pass (or fail only as a known bug)."""
    target = load(name)
    seeds = list(target.seeds())
    assert seeds, f'{name} has no seeds'
    for seed in seeds:
        try:
            target.check(seed)
        except Exception as exc:
            if target.known_bug(exc) is None:
                raise AssertionError(f'{name}: seed {seed[:80]!r} fails') from exc
