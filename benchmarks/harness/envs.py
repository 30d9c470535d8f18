"""The benchmark's own virtual environments, and the tools it needs (uv, wrk, h2load, node, openssl, taskset).

Each server runs from one environment of the ``ENVS`` table, created with uv under
``benchmarks/.venvs/<name>``. An environment is reused while its stamp (Python version,
requirements, and the pyproject.toml of every editable path) is unchanged; editable installs pick
up source edits without a reinstall.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ['ENVS', 'TOOLS', 'Env', 'ensure_env', 'ensure_tools', 'env_python', 'find_uv', 'installed_versions']

_OUR_PACKAGES = (
    'packages/granian-rsgi-spec',
    'packages/granian-http',
    'packages/granian-server',
    'packages/granian-proxies',
    'packages/granian-cli',
    'packages/granian',
)


@dataclass(frozen=True)
class Env:
    """One virtual environment: the ``uv pip install`` arguments (paths relative to the repo root)."""

    name: str
    requirements: tuple[str, ...]
    # Distributions whose versions the report prints.
    report: tuple[str, ...] = ()


def _editable(paths: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(arg for path in paths for arg in ('-e', path))


ENVS: dict[str, Env] = {
    env.name: env
    for env in (
        # Our packages and the Python peers; uvicorn[standard] brings uvloop, httptools and
        # websockets (wsproto comes with our granian-http).
        Env(
            'ours',
            # aioquic: our HTTP/3, hypercorn's (--quic-bind) and the HTTP/3 load client (h3load).
            (
                *_editable(_OUR_PACKAGES),
                'uvicorn[standard]>=0.30',
                'hypercorn>=0.17',
                'gunicorn>=23',
                'aioquic>=1.7,<1.8',
                # The third loop our server runs on, measured beside uvloop and asyncio
                # (ours-rloop), though --loop auto leaves it out (granian_server/loops.py says why).
                'rloop>=0.5',
            ),
            report=(
                'uvicorn',
                'httptools',
                'uvloop',
                'rloop',
                'websockets',
                'hypercorn',
                'gunicorn',
                'h11',
                'wsproto',
                'aioquic',
            ),
        ),
        # Upstream's Rust Granian: its distribution name is ours too, so it lives alone.
        Env('granian-rust', ('granian[uvloop]>=2,<3',), report=('granian', 'uvloop')),
    )
}

_CI_UV = Path('/tmp/granian-ci-tools/bin/uv')


def find_uv(venvs_dir: Path) -> Path:
    """uv from PATH or the CI tools, else installed with pip into a bootstrap venv."""
    found = shutil.which('uv')
    if found:
        return Path(found)
    if _CI_UV.exists():
        return _CI_UV
    bootstrap = venvs_dir / '_bootstrap'
    uv = bootstrap / 'bin' / 'uv'
    if not uv.exists():
        print(f'uv not found: installing it into {bootstrap}', file=sys.stderr)
        subprocess.run([sys.executable, '-m', 'venv', str(bootstrap)], check=True)
        subprocess.run([str(bootstrap / 'bin' / 'python'), '-m', 'pip', 'install', '-q', 'uv'], check=True)
    return uv


def env_python(venvs_dir: Path, env: Env) -> Path:
    return venvs_dir / env.name / 'bin' / 'python'


def _stamp(env: Env, repo_root: Path) -> str:
    parts: list[str] = [sys.version, *env.requirements]
    for arg in env.requirements:
        pyproject = repo_root / arg / 'pyproject.toml'
        if pyproject.is_file():
            parts.append(pyproject.read_text())
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def ensure_env(env: Env, venvs_dir: Path, repo_root: Path, uv: Path, *, reinstall: bool = False) -> Path:
    """Create or refresh the environment when its stamp changed; return its python."""
    venv = venvs_dir / env.name
    python = env_python(venvs_dir, env)
    stamp_file = venv / '.bench-stamp'
    stamp = _stamp(env, repo_root)
    if not reinstall and python.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return python
    print(f'preparing venv {venv} ...', file=sys.stderr)
    if not python.exists():
        subprocess.run([str(uv), 'venv', '-q', '--python', sys.executable, str(venv)], check=True)
    subprocess.run(
        [str(uv), 'pip', 'install', '-q', '--python', str(python), *env.requirements], cwd=repo_root, check=True
    )
    stamp_file.write_text(stamp)
    return python


def installed_versions(python: Path, dists: tuple[str, ...]) -> dict[str, str]:
    code = (
        'import importlib.metadata as m, json, sys\n'
        'def v(d):\n'
        '    try: return m.version(d)\n'
        "    except m.PackageNotFoundError: return 'absent'\n"
        'print(json.dumps({d: v(d) for d in sys.argv[1:]}))'
    )
    out = subprocess.run([str(python), '-c', code, *dists], check=True, capture_output=True, text=True).stdout
    versions: dict[str, str] = json.loads(out)
    return versions


# Command-line tools the harness runs, and the Debian package of each.
TOOLS: dict[str, str] = {
    'wrk': 'wrk',
    'h2load': 'nghttp2-client',
    'node': 'nodejs',
    'npm': 'npm',
    'openssl': 'openssl',
    'taskset': 'util-linux',
}


def ensure_tools(tools: Iterable[str]) -> None:
    """Install the missing ``tools`` from Debian's packages (as root), or say which to install."""
    missing = sorted({TOOLS[tool] for tool in tools if shutil.which(tool) is None})
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which('apt-get') is None:
        raise SystemExit(f'missing tools: install the packages {" ".join(missing)} (Debian/Ubuntu names)')
    print(f'installing {" ".join(missing)} with apt-get', file=sys.stderr)
    subprocess.run(['apt-get', 'update', '-q'], check=True)
    subprocess.run(['apt-get', 'install', '-y', '-q', *missing], check=True)
