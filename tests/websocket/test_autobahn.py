"""WebSocket conformance: the Autobahn test cases, run by kosoku in fuzzing-client mode against an
echo app. Cases 1.* to 10.* run here; the compression cases 12.* and 13.* take minutes and run
with `scripts/autobahn --compression` (see the README)."""

from __future__ import annotations

import collections
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.process import api_server

APPS = Path(__file__).parent / 'apps'
ACCEPTED = {'OK', 'NON-STRICT', 'INFORMATIONAL'}


def run_kosoku(address: str, cases: list[str], outdir: Path) -> dict[str, dict[str, str]]:
    kosoku = shutil.which('kosoku') or str(Path(sys.executable).parent / 'kosoku')
    args = [kosoku, address, '-p', '4', '-o', str(outdir)]
    for case in cases:
        args += ['-i', case]
    subprocess.run(args, check=True, capture_output=True, timeout=600)
    report = json.loads((outdir / 'index.json').read_text())
    return {case: result for cases in report.values() for case, result in cases.items()}


@pytest.mark.parametrize(('interface', 'app'), [('asginl', 'asgi_ws:app'), ('rsgi', 'rsgi_ws:app')])
def test_autobahn_cases_1_to_10(interface: str, app: str, tmp_path: Path) -> None:
    server = api_server(app, interface=interface, working_dir=str(APPS))
    try:
        server.ready()
        address = server.url.removeprefix('http://')
        # Autobahn has no group 8.
        results = run_kosoku(address, [f'{group}.*' for group in (1, 2, 3, 4, 5, 6, 7, 9, 10)], tmp_path)
    finally:
        server.stop()
    assert len(results) >= 300
    failed = {case: result for case, result in results.items() if result['behavior'] not in ACCEPTED}
    assert not failed
    closes = {case: result for case, result in results.items() if result['behaviorClose'] not in ACCEPTED}
    assert not closes
    summary = collections.Counter(result['behavior'] for result in results.values())
    print(f'autobahn 1-10 ({interface}): {dict(summary)}')
