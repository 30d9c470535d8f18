"""Loading the app from a target string (``module:attr``, ``package.module``, ``path/app.py``).

The messages are upstream's, because users grep for them: ``Could not import 'x'.`` when the
module itself is missing, ``While importing 'x', an ImportError was raised: ...`` when the module
exists but fails to import something, and a plain ``AttributeError`` for a missing attribute.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ['get_import_components', 'load_env', 'load_module', 'load_target', 'patch_pypath', 'prepare_import']


def patch_pypath(working_dir: str | os.PathLike[str] | None = None) -> None:
    """Put the working directory (or the current one) first on ``sys.path``."""
    entry = str(Path(working_dir).resolve()) if working_dir else ''
    if not sys.path or sys.path[0] != entry:
        sys.path.insert(0, entry)


def get_import_components(path: str) -> list[str | None]:
    """Split ``module:attr`` at the first colon not followed by a path separator.

    The exception keeps Windows drive letters (``C:\\app.py``) in the module part.
    """
    for idx, char in enumerate(path):
        if char == ':' and path[idx + 1 : idx + 2] not in ('\\', '/'):
            return [path[:idx], path[idx + 1 :] or None]
    return [path, None]


def prepare_import(path: str) -> str:
    """Turn a file path or a dotted name into an importable module name, fixing ``sys.path``.

    A dotted name survives this unchanged: as a path it is a single component whose parent (the
    working directory) goes first on ``sys.path``.
    """
    path = os.path.realpath(path)
    fname, ext = os.path.splitext(path)
    if ext == '.py':
        path = fname
    if os.path.basename(path) == '__init__':
        path = os.path.dirname(path)
    module_name: list[str] = []
    # Walk up while the directory is a package, so 'pkg/sub/app.py' imports as 'pkg.sub.app'.
    while True:
        path, name = os.path.split(path)
        module_name.append(name)
        if not os.path.exists(os.path.join(path, '__init__.py')):
            break
    if sys.path[0] != path:
        sys.path.insert(0, path)
    return '.'.join(reversed(module_name))


def load_module(module_name: str, raise_on_failure: bool = True) -> ModuleType | None:
    try:
        __import__(module_name)
    except ImportError:
        if sys.exc_info()[-1].tb_next:  # type: ignore[union-attr]
            raise RuntimeError(
                f"While importing '{module_name}', an ImportError was raised:\n\n{traceback.format_exc()}"
            ) from None
        if raise_on_failure:
            raise RuntimeError(f"Could not import '{module_name}'.") from None
        return None
    return sys.modules[module_name]


def load_target(target: str, wd: str | None = None, factory: bool = False) -> Any:
    """Import the target and return the app (calling it first when ``factory`` is set)."""
    patch_pypath(wd)
    module_path, attr = get_import_components(target)
    module_name = prepare_import(module_path or '')
    module = load_module(module_name)
    obj: Any = module
    for part in (attr or 'app').split('.'):
        obj = getattr(obj, part)
    if factory:
        obj = obj()
    return obj


def load_env(files: Sequence[str | os.PathLike[str]] | None) -> None:
    """Load dotenv files without overriding variables that are already set."""
    if not files:
        return
    import dotenv

    for path in files:
        dotenv.load_dotenv(path, override=False)


def env_loader(files: Sequence[str | os.PathLike[str]] | None) -> Callable[[], None]:
    """A loader that (re)applies env files, never touching variables set before it was built."""
    original = set(os.environ)

    def load() -> None:
        if not files:
            return
        import dotenv

        for path in files:
            for key, value in dotenv.dotenv_values(path).items():
                if key not in original and value is not None:
                    os.environ[key] = value

    return load
