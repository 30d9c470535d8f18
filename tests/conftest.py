"""Fixtures the whole suite shares."""

from __future__ import annotations

import pytest

from testkit.certs import Certs, make_certs


@pytest.fixture(scope='session')
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A CA, a server certificate for 127.0.0.1, client certificates (good, revoked, untrusted)
    and a CRL, made once per test session."""
    return make_certs(tmp_path_factory.mktemp('certs'))
