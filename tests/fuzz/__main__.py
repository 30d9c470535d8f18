"""``scripts/fuzz [TARGET] [SECONDS]``: fuzz one target, or every target, and report.

Every target runs in a process of its own (:mod:`fuzz.run`, under atheris), ``--jobs`` at a time
(default 2, the cores CI has), each for SECONDS (default 60), logging to
``.fuzz/logs/<target>.log``; the working corpus stays in ``.fuzz/corpus/<target>`` between runs.
A new failing input lands in ``tests/fuzz/crashers/<target>/``, where the test suite replays it.
The summary gives each target's executions and rate; the exit status is 1 when any target found
something new (or failed to run). With ``--report-finds`` (what CI uses) a new find is printed,
input included, but only a target that failed to run fails the command: a fuzzer's find is luck of
the draw, and CI must not turn red at random. Those finds go to ``.fuzz/finds/<target>/``, not to
the crashers the suite replays (CI runs the suite after fuzzing, in the same checkout); the find is
replayed by the suite once saved under ``tests/fuzz/crashers/``.
"""

from __future__ import annotations

import argparse
import base64
import re
import subprocess
import sys
import time
from pathlib import Path

from fuzz import TARGETS

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / '.fuzz'
CRASHERS = Path(__file__).resolve().parent / 'crashers'
_DONE = re.compile(r'Done (\d+) runs in (\d+) second')
_STATUS = re.compile(r'^#(\d+)\s.*exec/s: (\d+)', re.MULTILINE)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='scripts/fuzz', description=__doc__.splitlines()[0])
    parser.add_argument('target', nargs='?', default='all', help=f'all, or one of: {", ".join(TARGETS)}')
    parser.add_argument('seconds', nargs='?', type=int, default=60, help='how long each target runs (default 60)')
    parser.add_argument('--jobs', type=int, default=2, help='targets fuzzed at once (default 2)')
    parser.add_argument(
        '--report-finds', action='store_true', help='print new finds but exit 0 for them (only a failed run fails)'
    )
    # `scripts/fuzz 30` means every target for 30 seconds.
    if argv and argv[0].isdigit():
        argv = ['all', *argv]
    args = parser.parse_args(argv)
    if args.target != 'all' and args.target not in TARGETS:
        parser.error(f'unknown target {args.target!r}: use one of {", ".join(TARGETS)} (or none for all)')
    if args.seconds < 1 or args.jobs < 1:
        parser.error('SECONDS and --jobs must be at least 1')
    return args


def _start(name: str, seconds: int, crashers: Path) -> subprocess.Popen[bytes]:
    log = WORK / 'logs' / f'{name}.log'
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, '-m', 'fuzz.run', name, str(seconds), str(WORK / 'corpus' / name), str(crashers / name)]
    with log.open('wb') as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def _summary(name: str, code: int, before: set[Path], crashers: Path) -> tuple[str, bool]:
    text = (WORK / 'logs' / f'{name}.log').read_text(errors='replace')
    done = _DONE.search(text)
    statuses = _STATUS.findall(text)
    runs = done.group(1) if done else (statuses[-1][0] if statuses else '?')
    rate = statuses[-1][1] if statuses else '?'
    new = sorted(set((crashers / name).glob('*')) - before)
    known = sorted(set(re.findall(r'^known bug \(passed over\): (.*)$', text, re.MULTILINE)))
    if new:
        # The input in the log too: on CI the checkout (and the file) is thrown away.
        result = 'NEW: ' + ', '.join(
            f'{path.relative_to(ROOT)} (base64 {base64.b64encode(path.read_bytes()).decode()})' for path in new
        )
    elif code != 0:
        result = f'FAILED (exit {code}): see .fuzz/logs/{name}.log'
    else:
        result = 'ok' + (f' (known bugs hit: {len(known)})' if known else '')
    return f'{name:<16} {runs:>10} runs {rate:>7} exec/s   {result}', not result.startswith('FAILED')


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    names = list(TARGETS) if args.target == 'all' else [args.target]
    crashers = WORK / 'finds' if args.report_finds else CRASHERS
    before = {name: set((crashers / name).glob('*')) for name in names}
    print(f'fuzzing {", ".join(names)} for {args.seconds} s each, {args.jobs} at a time', flush=True)
    waiting = list(names)
    running: dict[str, subprocess.Popen[bytes]] = {}
    # name -> (summary line, ran to the end)
    lines: dict[str, tuple[str, bool]] = {}
    while waiting or running:
        while waiting and len(running) < args.jobs:
            name = waiting.pop(0)
            running[name] = _start(name, args.seconds, crashers)
        for name, process in list(running.items()):
            code = process.poll()
            if code is not None:
                del running[name]
                lines[name] = _summary(name, code, before[name], crashers)
                print(lines[name][0], flush=True)
        time.sleep(0.5)
    ran = all(ok for _, ok in lines.values())
    found = any(' NEW: ' in line for line, _ in lines.values())
    if found:
        print('!! new failing inputs found: save them under tests/fuzz/crashers/ (see above)', flush=True)
    return 0 if ran and (args.report_finds or not found) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
