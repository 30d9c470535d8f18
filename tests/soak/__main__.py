"""``python -m soak`` (with ``tests/`` on the path; ``scripts/soak`` does that): run a soak, print
its summary table, exit 0 only if every criterion holds (see :mod:`soak.report`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from soak.report import judge, render
from soak.runner import TARGETS, Options, run


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f'{value} is not a positive number')
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='scripts/soak',
        description='Mixed load on a 2-worker granian with a SIGHUP every minute; prints a summary table.',
    )
    parser.add_argument('--minutes', type=_positive, default=10.0, help='how long the load runs (default 10)')
    parser.add_argument(
        '--sighup-every', type=_positive, help='seconds between SIGHUPs (default 60, less for runs under 3 min)'
    )
    parser.add_argument(
        '--sample-every', type=_positive, help='seconds between RSS/fd samples (default 5, less for short runs)'
    )
    parser.add_argument('--interface', choices=sorted(TARGETS), default='asgi', help='the app interface (default asgi)')
    parser.add_argument('--loop', default='auto', help="the server's --loop (default auto)")
    parser.add_argument('--seed', type=int, default=1, help='seed of the random sizes (default 1)')
    parser.add_argument('--output', type=Path, help='also write the summary to this file')
    args = parser.parse_args(argv)

    overrides: dict[str, object] = {'interface': args.interface, 'loop': args.loop, 'seed': args.seed}
    if args.sighup_every is not None:
        overrides['sighup_every'] = args.sighup_every
    if args.sample_every is not None:
        overrides['sample_every'] = args.sample_every
    options = Options.for_minutes(args.minutes, **overrides)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    outcome = run(options, progress)
    verdicts = judge(outcome)
    table = render(outcome, verdicts)
    print(table)
    if args.output is not None:
        args.output.write_text(table + '\n')
    return 0 if all(v.passed for v in verdicts) else 1


if __name__ == '__main__':
    sys.exit(main())
