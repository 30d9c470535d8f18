"""Judging a soak and printing its summary: what every criterion means is defined here.

- **Failed requests**: none, in any load. Provoked resets are counted apart and do not count;
  retries the protocols allow (see :mod:`soak.record`) are shown with their reasons.
- **RSS flat**: of every worker generation over the last half of its life, and of the main
  process over the soak's; :mod:`soak.memory` says how, so that respawns neither hide nor fake
  growth.
- **No leaked fd**: once the load has stopped and every client has gone, the main process has
  exactly the fds it had at the start, and every live worker holds no client connection and
  exactly as many other fds as the fewest it had while serving. (Its count differs from the
  first workers' by the pipes it inherited at fork: two per worker process the supervisor had
  then, which is how ``multiprocessing`` forks; that number does not grow, so it is no leak.)
- **Rolling restarts**: every SIGHUP replaced both workers (2 x (SIGHUPs + 1) generations seen)
  and the server exited with 0 on SIGTERM.
- **Server log**: no line at ERROR or above and no traceback. Other lines that are not INFO are
  listed under the table.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from soak.memory import GROWTH_LIMIT, SINGLE_LIMIT, Growth, generation_growth, last_half, slot_growth
from soak.monitor import Generation
from soak.runner import CLIENT, Outcome

__all__ = ['Verdict', 'judge', 'render']

_MIB = 1024.0
_ERRORS = ('[ERROR]', '[CRITICAL]')
_LIMIT = f'limit {GROWTH_LIMIT:.0%}'


@dataclass(frozen=True)
class Verdict:
    passed: bool
    text: str


def _generation_growths(outcome: Outcome) -> dict[int, Growth | None]:
    until = outcome.options.duration
    return {pid: generation_growth(g, until) for pid, g in outcome.monitor.generations.items()}


def judge(outcome: Outcome) -> list[Verdict]:
    record = outcome.record
    failed = sum(stats.failed for stats in record.kinds.values())
    provoked = sum(stats.provoked for stats in record.kinds.values())
    retried = sum(stats.retried for stats in record.kinds.values())
    not_counted = f'{provoked} provoked resets and {retried} retries not counted'
    verdicts = [
        Verdict(failed == 0, f'{failed} failed requests ({not_counted})'),
        *_rss_verdicts(outcome),
        _fd_verdict(outcome),
    ]
    expected = 2 * (outcome.sighups + 1)
    verdicts.append(
        Verdict(
            outcome.rolled and outcome.exit_code == 0,
            f'{outcome.sighups} SIGHUPs, {len(outcome.monitor.generations)} worker generations (expected {expected}); '
            f'exit code {outcome.exit_code} after SIGTERM',
        )
    )
    errors = [line for line in outcome.log_problems if line.startswith(_ERRORS) or 'Traceback' in line]
    verdicts.append(Verdict(not errors, f'server log: {len(errors)} errors or tracebacks'))
    return verdicts


def _rss_verdicts(outcome: Outcome) -> list[Verdict]:
    options = outcome.options
    growths = {pid: growth for pid, growth in _generation_growths(outcome).items() if growth is not None}
    if len(growths) < 2:
        workers = Verdict(False, 'worker RSS: fewer than 2 generations lived long enough to be judged')
    else:
        median = statistics.median(growth.ratio for growth in growths.values())
        pid, worst = max(growths.items(), key=lambda item: item[1].ratio)
        generation = outcome.monitor.generations[pid]
        workers = Verdict(
            median < GROWTH_LIMIT and worst.ratio < SINGLE_LIMIT,
            f'worker RSS flat over the last half of each generation: median {median:+.1%} over '
            f'{len(growths)} generations ({_LIMIT}), largest {worst.ratio:+.1%} '
            f'(worker-{generation.slot} generation {generation.index}; limit {SINGLE_LIMIT:.0%})',
        )
    main = last_half([s for s in outcome.monitor.main if s.at <= options.duration])
    return [
        workers,
        Verdict(
            main is not None and main.ratio < GROWTH_LIMIT,
            f'main process RSS flat over the last half: {main or "too few samples"}; {_LIMIT}',
        ),
    ]


def _fd_verdict(outcome: Outcome) -> Verdict:
    problems = []
    end = outcome.main_end
    if end is None or end.fds != outcome.main_start.fds:
        problems.append(f'main {outcome.main_start.fds} -> {end.fds if end else "gone"}')
    for generation in outcome.monitor.live():
        base = generation.base_fds()
        last = outcome.workers_end.get(generation.slot)
        if base is None or last is None:
            problems.append(f'worker-{generation.slot}: no sample while serving')
            continue
        if last.connections or last.own_fds != base:
            problems.append(
                f'worker-{generation.slot}: {last.connections} client connections and {last.own_fds} other fds '
                f'(fewest while serving: {base})'
            )
    if problems:
        return Verdict(False, 'leaked fds: ' + '; '.join(problems))
    ends = ', '.join(f'worker-{slot} {s.fds}' for slot, s in sorted(outcome.workers_end.items()))
    return Verdict(True, f'no leaked fd: main {outcome.main_start.fds} -> {end.fds if end else "?"}; at the end {ends}')


# -- the table ---------------------------------------------------------------------------------


def _size(nbytes: float) -> str:
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if nbytes < 1024 or unit == 'GiB':
            return f'{nbytes:.0f} {unit}' if unit == 'B' else f'{nbytes:.1f} {unit}'
        nbytes /= 1024
    raise AssertionError('unreachable')


def _ms(seconds: float | None) -> str:
    return '-' if seconds is None else f'{seconds * 1000:.1f}'


def _row(values: tuple[object, ...], widths: tuple[int, ...]) -> str:
    """Values right-aligned to their widths (a negative width aligns left)."""
    cells = zip(values, widths, strict=True)
    return ' '.join(f'{value!s:<{-width}}' if width < 0 else f'{value!s:>{width}}' for value, width in cells)


_LOAD_WIDTHS = (-12, 9, 7, 9, 8, 9, 9, 11)


def _loads_table(outcome: Outcome) -> list[str]:
    headers = ('load', 'ok', 'failed', 'provoked', 'retried', 'p50 ms', 'p99 ms', 'bytes')
    lines = [_row(headers, _LOAD_WIDTHS)]
    total = Counter[str]()
    for kind, stats in outcome.record.kinds.items():
        values: tuple[object, ...] = (kind, stats.ok, stats.failed, stats.provoked, stats.retried)
        values += (_ms(stats.percentile(0.5)), _ms(stats.percentile(0.99)), _size(stats.bytes))
        lines.append(_row(values, _LOAD_WIDTHS))
        total.update(ok=stats.ok, failed=stats.failed, provoked=stats.provoked, retried=stats.retried)
        total.update(bytes=stats.bytes)
    values = ('total', total['ok'], total['failed'], total['provoked'], total['retried'], '', '')
    values += (_size(total['bytes']),)
    lines.append(_row(values, _LOAD_WIDTHS))
    for kind, stats in outcome.record.kinds.items():
        for reason, count in stats.retry_reasons.most_common():
            lines.append(f'  retried  {kind}: {count} x {reason}')
    for kind, stats in outcome.record.kinds.items():
        if stats.provoked_reasons:
            ways = ', '.join(f'{way} {count}' for way, count in stats.provoked_reasons.items())
            lines.append(f'  provoked {kind}: {ways}')
    return lines


_GENERATION_WIDTHS = (-8, 3, 8, 9, 4, 7, 7, -22, 7, 5)


def _generation_row(generation: Generation, growth: Growth | None, until: float) -> str:
    judged = generation.serving(until=until)
    serving = generation.serving()
    born = generation.samples[0].at
    life = f'{born:.0f}-{generation.gone_at:.0f}' if generation.gone_at is not None else f'{born:.0f}-'
    own = [s.own_fds for s in serving] or [0]
    judgement = 'not judged'
    if growth is not None:
        judgement = f'{growth.before_kib / _MIB:.1f} -> {growth.after_kib / _MIB:.1f} {growth.ratio:+6.1%}'
    values = (
        f'worker-{generation.slot}',
        generation.index,
        generation.pid,
        life,
        len(judged),
        f'{judged[0].rss_kib / _MIB:.1f}' if judged else '-',
        f'{judged[-1].rss_kib / _MIB:.1f}' if judged else '-',
        judgement,
        f'{min(own)}-{max(own)}',
        max((s.connections for s in serving), default=0),
    )
    return _row(values, _GENERATION_WIDTHS)


def _generations_table(outcome: Outcome) -> list[str]:
    growths = _generation_growths(outcome)
    lines = [
        'worker generations (RSS in MiB while serving under load; last half: median before -> after)',
        _row(('slot', 'gen', 'pid', 'alive s', 'n', 'start', 'end', 'last half', 'fds', 'conns'), _GENERATION_WIDTHS),
    ]
    for pid, generation in sorted(outcome.monitor.generations.items(), key=lambda i: (i[1].slot, i[1].index)):
        lines.append(_generation_row(generation, growths[pid], outcome.options.duration))
    options = outcome.options
    warm_up = options.sighup_every / 2
    generations = list(outcome.monitor.generations.values())
    for slot in (1, 2):
        growth = slot_growth([g for g in generations if g.slot == slot], options.duration, warm_up)
        lines.append(
            f'worker-{slot} over the last half, generations past their first {warm_up:.0f} s, '
            f'third quarter -> fourth: {growth or "too few samples"} (shown, not judged)'
        )
    main = outcome.monitor.main
    first, last = main[0].rss_kib / _MIB, main[-1].rss_kib / _MIB
    lines.append(f'main process: RSS {first:.1f} MiB at the start, {last:.1f} MiB at the end')
    lines.append('fds (idle: before the load, and after it once every client had gone)')
    end = outcome.main_end
    lines.append(f'  main      {outcome.main_start.fds:>4} -> {end.fds if end else "-":>4}')
    for slot in sorted(outcome.workers_start):
        start = outcome.workers_start[slot]
        last = outcome.workers_end.get(slot)
        lines.append(
            f'  worker-{slot}  {start.fds:>4} -> {last.fds if last else "-":>4}'
            f'   (client connections at the end: {last.connections if last else "-"})'
        )
    lines.append('  (a worker forked by a SIGHUP inherits 2 pipes per worker process the supervisor had then)')
    return lines


def render(outcome: Outcome, verdicts: list[Verdict]) -> str:
    options = outcome.options
    head = (
        f'Granian soak: {options.duration:.0f} s, 2 workers, --interface {options.interface} --http auto '
        f'--loop {options.loop}; SIGHUP every {options.sighup_every:.0f} s ({outcome.sighups} sent); '
        f'samples every {options.sample_every:.2g} s'
    )
    lines = [head, '', *_loads_table(outcome), '']
    failures = outcome.record.failures
    if failures:
        lines.append(f'failures ({len(failures)}; the first 20):')
        lines += [f'  {f.at:7.1f} s  {f.kind}: {f.what}' for f in failures[:20]]
        lines.append('')
    lines += [*_generations_table(outcome), '']
    others = Counter(outcome.log_problems)
    if others:
        lines.append('server log lines other than INFO:')
        lines += [f'  {count:>5} x {line}' for line, count in others.most_common(15)]
        lines.append('')
    lines.append('verdicts:')
    lines += [f'  {"PASS" if v.passed else "FAIL"}  {v.text}' for v in verdicts]
    if any(f.kind == CLIENT for f in failures):
        lines.append('  (a "client" failure is a bug of the soak itself: see its traceback above)')
    return '\n'.join(lines)
