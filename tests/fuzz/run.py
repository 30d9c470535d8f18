"""Fuzz one target under atheris: ``python -m fuzz.run TARGET SECONDS CORPUS_DIR CRASHERS_DIR``.

Run by :mod:`fuzz.__main__` (``scripts/fuzz``), one process per target. The code under test is
instrumented for coverage as it is imported; the corpus directory is seeded with the target's
seeds (the fuzzer adds what it finds); a failing input is written to the crashers directory by
libFuzzer (``crash-<sha1>``), where the test suite replays it.

A :class:`~fuzz.harness.KnownBug` is passed over (announced once), so a run explores past what is
already reported instead of stopping at it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import atheris  # first: nothing under test may be imported before instrumentation starts

from fuzz import TARGETS, load


def main(argv: list[str]) -> int:
    name, seconds, corpus, crashers = argv[1], int(argv[2]), Path(argv[3]), Path(argv[4])
    with atheris.instrument_imports(include=list(TARGETS[name].instrument)):
        target = load(name)
    corpus.mkdir(parents=True, exist_ok=True)
    crashers.mkdir(parents=True, exist_ok=True)
    for seed in target.seeds():
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    announced: set[str] = set()

    def one_input(data: bytes) -> None:
        try:
            target.check(data)
        except Exception as exc:
            bug = target.known_bug(exc)
            if bug is None:
                raise
            if bug.reason not in announced:
                announced.add(bug.reason)
                print(f'known bug (passed over): {bug.reason}', flush=True)

    atheris.Setup(
        [
            argv[0],
            str(corpus),
            f'-max_total_time={seconds}',
            f'-artifact_prefix={crashers}/',
            '-timeout=10',  # one input running this long is a hang: report it as one
            '-rss_limit_mb=3072',
            '-max_len=8192',
            '-print_final_stats=1',
        ],
        one_input,
    )
    atheris.Fuzz()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
