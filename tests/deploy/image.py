"""The guide's container image, without a container engine: its Dockerfile read, its build step
run into a directory, and its entrypoint started as the image would start it.

What a container adds around the image's files is left out: the filesystem is the host's with the
image's directories mapped into a temporary one (:data:`IMAGE_PATHS`), and the network is the
host's, so ``GRANIAN_HOST`` becomes 127.0.0.1 and ports free ones. The PID namespace, which is
what makes the entrypoint PID 1, is added with ``unshare`` where the tests can make one.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy.recipes import APP_DIR, RECIPES, replace
from testkit.process import ROOT, ServerProcess

DOCKERFILE = RECIPES / 'container' / 'Dockerfile'


def instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions in order, as (INSTRUCTION, arguments), continuations joined."""
    joined = text.replace('\\\n', ' ')
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            keyword, _, arguments = line.partition(' ')
            found.append((keyword.upper(), ' '.join(arguments.split())))
    return found


@dataclass(frozen=True)
class Image:
    """What the Dockerfile says, and where its directories are on this machine."""

    #: The image's directories (/opt/granian, /srv/app) mapped to directories of the test.
    paths: dict[str, Path]
    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]
    workdir: Path

    @classmethod
    def read(cls, root: Path) -> Image:
        steps = instructions(DOCKERFILE.read_text())
        paths = {'/opt/granian': root / 'opt' / 'granian', '/srv/app': root / 'srv' / 'app'}
        env: dict[str, str] = {}
        for keyword, arguments in steps:
            if keyword == 'ENV':
                for pair in shlex.split(arguments):
                    name, _, value = pair.partition('=')
                    env[name] = value
        entrypoint = json.loads(next(args for keyword, args in steps if keyword == 'ENTRYPOINT'))
        # The scripts are copied into /usr/local/bin/, the entrypoint's directory.
        copied = 'docs/deployment/container/install.sh docs/deployment/container/entrypoint.sh /usr/local/bin/'
        assert ('COPY', copied) in steps, steps
        assert entrypoint[0] == '/usr/local/bin/entrypoint.sh', entrypoint
        cmd = json.loads(next(args for keyword, args in steps if keyword == 'CMD'))
        workdir = next(args for keyword, args in steps if keyword == 'WORKDIR')
        return cls(paths, env, entrypoint, cmd, paths[workdir])

    def build(self) -> None:
        """The Dockerfile's COPY of the app and its RUN step, into this image's directories."""
        steps = instructions(DOCKERFILE.read_text())
        app_default = next(args for keyword, args in steps if keyword == 'ARG' and args.startswith('APP='))
        assert app_default == f'APP={APP_DIR.relative_to(ROOT)}', app_default
        shutil.copytree(APP_DIR, self.paths['/srv/app'])
        (run,) = (args for keyword, args in steps if keyword == 'RUN')
        words = shlex.split(run)
        env = dict(os.environ)
        while words[0].startswith('--'):
            words.pop(0)  # BuildKit's options: the cache mount, the engine's business
        while '=' in words[0]:
            name, _, value = words.pop(0).partition('=')
            env[name] = value
        split = words.index('&&')
        install, cleanup = words[:split], words[split + 1 :]
        assert cleanup == ['rm', '-rf', '/tmp/granian-packages'], cleanup
        assert install[0] == 'install.sh', install
        argv = [str(RECIPES / 'container' / 'install.sh'), *self.mapped(install[1:], ROOT / 'packages')]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr

    def mapped(self, words: Sequence[str], packages: Path) -> list[str]:
        """Image paths in ``words`` made this machine's (the COPY of packages/ is the repository's)."""
        mapping = {**{key: str(value) for key, value in self.paths.items()}, '/tmp/granian-packages': str(packages)}
        return [mapping.get(word, word) for word in words]

    def run(
        self,
        args: Sequence[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        workdir: Path | None = None,
        wrapper: Sequence[str] = (),
    ) -> ServerProcess:
        """Start the entrypoint with ``args`` (the image's CMD by default) as a container would.

        ``env`` overrides the image's variables (as ``docker run -e`` or a pod's ``env``), after
        the image's own were made to fit this machine; ``wrapper`` goes before the entrypoint
        (``unshare`` to make it PID 1).
        """
        merged = {**self.env, **(env or {})}
        merged['PATH'] = replace(merged['PATH'], {'/opt/granian/bin:$PATH': f'{self.paths["/opt/granian"]}/bin:'})
        merged['PATH'] += os.environ['PATH']
        entrypoint = [str(RECIPES / 'container' / 'entrypoint.sh'), *self.entrypoint[1:]]
        command = [*wrapper, *entrypoint, *(self.cmd if args is None else args)]
        return ServerProcess(command, cwd=workdir or self.workdir, env=merged)
