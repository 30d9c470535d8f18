"""WebSocket conformance: the Autobahn test cases, run by kosoku in fuzzing-client mode against an
echo app. Cases 1.* to 10.* run here; the compression cases 12.* and 13.* take minutes and run
with `scripts/autobahn --compression` (see the README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.autobahn import CORE_CASES, judge, run_kosoku
from testkit.process import api_server

APPS = Path(__file__).parent / 'apps'


@pytest.mark.parametrize(('interface', 'app'), [('asginl', 'asgi_ws:app'), ('rsgi', 'rsgi_ws:app')])
def test_autobahn_cases_1_to_10(interface: str, app: str, tmp_path: Path) -> None:
    server = api_server(app, interface=interface, working_dir=str(APPS))
    try:
        server.ready()
        address = server.url.removeprefix('http://')
        results = run_kosoku(address, CORE_CASES, tmp_path)
    finally:
        server.stop()
    print(f'autobahn 1-10 ({interface}): {judge(results)}')
