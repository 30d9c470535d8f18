"""Checks shared by the tests that guard our adapters of third-party internals.

granian-http touches h11's, h2's and wsproto's private attributes in exactly one module each
(``h1/_h11.py``, ``h2/_lean.py``, ``ws/_wsproto.py``). Each names the minor versions it was written
against in ``WRITTEN_FOR``; these helpers make a test fail, loudly and with the reason, when the
installed library is another version, when granian-http's dependency pin admits a version the
adapter was not written for, or when an internal the adapter uses is gone.
"""

from __future__ import annotations

from importlib.metadata import requires, version

from packaging.requirements import Requirement
from packaging.version import Version


def minor(text: str) -> str:
    release = Version(text).release
    return f'{release[0]}.{release[1]}'


def check_installed(distribution: str, written_for: tuple[str, ...]) -> None:
    installed = version(distribution)
    assert minor(installed) in written_for, (
        f"{distribution} {installed} is installed, but granian-http's adapter of its internals was written "
        f'for {", ".join(written_for)}: review the adapter against this version, then update WRITTEN_FOR and the pin'
    )


def check_pin(distribution: str, written_for: tuple[str, ...]) -> None:
    """granian-http's requirement admits exactly the written-for minor versions."""
    (pin,) = [req for req in map(Requirement, requires('granian-http') or []) if req.name == distribution]
    for written in written_for:
        major, minor_ = (int(part) for part in written.split('.'))
        assert pin.specifier.contains(f'{major}.{minor_}.0'), (str(pin), written)
        assert pin.specifier.contains(f'{major}.{minor_}.99'), (str(pin), written)
    lowest = min(written_for, key=Version)
    highest = max(written_for, key=Version)
    major, low = (int(part) for part in lowest.split('.'))
    assert not pin.specifier.contains(f'{major}.{low - 1}.99') if low else True, f'{pin} admits below {lowest}'
    major, high = (int(part) for part in highest.split('.'))
    assert not pin.specifier.contains(f'{major}.{high + 1}.0'), f'{pin} admits above {highest}'


def check_attributes(owner: object, *names: str) -> None:
    missing = [name for name in names if not hasattr(owner, name)]
    assert not missing, f'{owner!r} no longer has {", ".join(missing)}: the adapter must be revised'
