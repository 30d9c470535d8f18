"""Fixtures of the deployment recipes' tests: the container image's files, built once."""

from __future__ import annotations

import fcntl
import os
import shutil

import pytest

from deploy.image import Image


@pytest.fixture(scope='session')
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The image's /opt/granian and /srv/app, made by its build step once per test run.

    The build takes seconds (uv installs six packages and their dependencies), and the container
    and Kubernetes tests may run in different xdist workers: the first worker builds into the
    run's shared temporary directory under a lock, the others wait for it and reuse the result.
    """
    assert shutil.which('uv'), 'uv is needed to run the image build step (scripts/bootstrap installs it in .tools/)'
    # Under xdist each worker has a directory of its own inside the run's; alone, the run's own.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        shared = shared.parent
    root = shared / 'container-image'
    with open(shared / 'container-image.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = Image.read(root)
        done = root / 'built'
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            built.build()
            done.touch()
    return built
