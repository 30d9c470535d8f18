"""Running the Autobahn WebSocket cases through kosoku (fuzzing-client mode) and judging them."""

from __future__ import annotations

import collections
import json
import shutil
import subprocess
import sys
from pathlib import Path

#: Cases 1.* to 10.* (Autobahn has no group 8); the compression cases run with scripts/autobahn.
CORE_CASES = [f'{group}.*' for group in (1, 2, 3, 4, 5, 6, 7, 9, 10)]
ACCEPTED = {'OK', 'NON-STRICT', 'INFORMATIONAL'}


def run_kosoku(address: str, cases: list[str], outdir: Path) -> dict[str, dict[str, str]]:
    """Run ``cases`` against the server at ``host:port``; return each case's report entry."""
    kosoku = shutil.which('kosoku') or str(Path(sys.executable).parent / 'kosoku')
    args = [kosoku, address, '-p', '4', '-o', str(outdir)]
    for case in cases:
        args += ['-i', case]
    subprocess.run(args, check=True, capture_output=True, timeout=600)
    report = json.loads((outdir / 'index.json').read_text())
    return {case: result for cases in report.values() for case, result in cases.items()}


def judge(results: dict[str, dict[str, str]]) -> dict[str, int]:
    """Fail on any case whose behaviour or close behaviour is not accepted; return the tally."""
    assert len(results) >= 300
    failed = {case: result for case, result in results.items() if result['behavior'] not in ACCEPTED}
    assert not failed
    closes = {case: result for case, result in results.items() if result['behaviorClose'] not in ACCEPTED}
    assert not closes
    return dict(collections.Counter(result['behavior'] for result in results.values()))
