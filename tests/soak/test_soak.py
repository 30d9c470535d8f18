"""The soak, one minute long: what CI runs of ``scripts/soak`` (select it with ``-m soak``).

Two SIGHUPs (every 20 s), slow requests of 5 s, a sample every 1.7 s; the criteria are the long
run's (:mod:`soak.report`). On failure the whole summary table is the message.
"""

from __future__ import annotations

import pytest

from soak.report import judge, render
from soak.runner import Options, run


@pytest.mark.soak
@pytest.mark.timeout(180)
def test_one_minute_of_mixed_load_with_rolling_restarts() -> None:
    outcome = run(Options.for_minutes(1))
    verdicts = judge(outcome)
    assert all(v.passed for v in verdicts), '\n' + render(outcome, verdicts)
