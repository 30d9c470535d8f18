"""Markdown tables: one per scenario (req/s, p50 and p99, ratio to our baseline row) and the targets."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .results import Measurement
from .scenarios import Scenario
from .servers import ServerSpec
from .targets import Target

__all__ = ['Outcome', 'TargetCheck', 'check_targets', 'render_scenario', 'render_targets', 'table']


@dataclass(frozen=True)
class Outcome:
    """A measurement, or why there is none."""

    measurement: Measurement | None = None
    failure: str | None = None


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
        return '| ' + ' | '.join(padded) + ' |'

    rule = (
        '|'
        + '|'.join(('-' * (w + 1) + ':') if r else ('-' * (w + 2)) for w, r in zip(widths, right, strict=True))
        + '|'
    )
    return '\n'.join([line(header), rule, *(line(row) for row in rows)])


def _rps(outcome: Outcome | None) -> float | None:
    return outcome.measurement.rps if outcome and outcome.measurement else None


def render_scenario(
    scenario: Scenario, servers: Sequence[ServerSpec], outcomes: Mapping[tuple[str, str], Outcome], baseline: str
) -> str:
    # Our ASGI row on the stdlib loop where this table has it (WSGI tables do not): else our first row.
    ours = [s.name for s in servers if s.name.startswith('ours-') and _rps(outcomes.get((s.name, scenario.name)))]
    if baseline not in ours and ours:
        baseline = ours[0]
    base = _rps(outcomes.get((baseline, scenario.name)))
    # The load generator's own CPU share, where it reports one (the WebSocket client does).
    mine = [outcomes.get((server.name, scenario.name)) for server in servers]
    with_cpu = any(o and o.measurement and o.measurement.client_cpu is not None for o in mine)
    rows = []
    for server in servers:
        outcome = outcomes.get((server.name, scenario.name))
        if outcome is None:
            continue
        if outcome.measurement is None:
            rows.append([server.name, server.interface, 'FAILED', '-', '-', '-', '-'] + ['-'] * with_cpu)
            continue
        m = outcome.measurement
        ratio = f'{m.rps / base:.2f}x' if base else '-'
        cost = m.server_us_per_request
        row = [server.name, server.interface, f'{m.rps:,.0f}', f'{m.p50_ms:.2f}', f'{m.p99_ms:.2f}', ratio]
        row.append('-' if cost is None else f'{cost:.0f}')
        if with_cpu:
            row.append('-' if m.client_cpu is None else f'{m.client_cpu:.0%}')
        rows.append(row)
    each = scenario.unit.split('/')[0]
    header = ['server', 'interface', scenario.unit, 'p50 ms', 'p99 ms', f'vs {baseline}', f'CPU µs/{each}']
    header += ['client CPU'] * with_cpu
    right = [False, False, True, True, True, True, True] + [True] * with_cpu
    text = f'### {scenario.title}\n\n' + table(header, rows, right)
    # A floor row read as a server would be a misreading worth a line under every table it is in.
    if any(server.floor and (server.name, scenario.name) in outcomes for server in servers):
        text += f'\n\n{_FLOOR_NOTE}'
    return text


_FLOOR_NOTE = (
    '`floor-*` rows are a measuring stick, not servers: benchmarks/harness/floor_server.py, the least '
    'a Python server can do per request on that loop (no validation, limits or timeouts; see '
    'benchmarks/README.md, "Floor rows"). No target names them.'
)


def _ratio(outcomes: Mapping[tuple[str, str], Outcome], target: Target, scenario: str) -> float | None:
    if target.by_cpu:
        # Requests per server CPU-second, ours over the peer's: the peer's cost over ours.
        ours, peer = _cost(outcomes.get((target.ours, scenario))), _cost(outcomes.get((target.peer, scenario)))
        return peer / ours if ours and peer else None
    ours, peer = _rps(outcomes.get((target.ours, scenario))), _rps(outcomes.get((target.peer, scenario)))
    return ours / peer if ours and peer else None


def _cost(outcome: Outcome | None) -> float | None:
    return outcome.measurement.server_us_per_request if outcome and outcome.measurement else None


def _cost_ratio(outcomes: Mapping[tuple[str, str], Outcome], target: Target, scenario: str) -> str:
    """The peer's server CPU per request over ours: what the rate ratio would be with a core each."""
    ours, peer = _cost(outcomes.get((target.ours, scenario))), _cost(outcomes.get((target.peer, scenario)))
    return f'{peer / ours:.2f}x' if ours and peer else '-'


@dataclass(frozen=True)
class TargetCheck:
    """One target on one scenario in this run: its ratio, or why there is none."""

    target: Target
    scenario: str
    ratio: float | None
    # 'yes', 'NO' (missed), 'FAILED' (a row failed its checks) or 'NOT RUN' (a row was not run).
    status: str
    # Why the check does not pass, one line for stderr; None when it is met.
    problem: str | None = None

    @property
    def met(self) -> bool:
        return self.status == 'yes'


def _check(
    target: Target, scenario: str, outcomes: Mapping[tuple[str, str], Outcome], selected: Collection[str]
) -> TargetCheck:
    pair = f'{target.ours} / {target.peer} on {scenario}'
    for row in (target.ours, target.peer):
        outcome = outcomes.get((row, scenario))
        if outcome is None:
            why = (
                'was not selected (add it to --only / --interface)'
                if row not in selected
                else 'did not run (it does not serve this scenario)'
            )
            return TargetCheck(target, scenario, None, 'NOT RUN', f'{pair}: the row {row} {why}')
        if outcome.measurement is None:
            return TargetCheck(target, scenario, None, 'FAILED', f'{pair}: the row {row} FAILED (reason above)')
    ratio = _ratio(outcomes, target, scenario)
    if ratio is None:
        return TargetCheck(target, scenario, None, 'FAILED', f'{pair}: a row measured a rate of 0')
    if ratio >= target.min_ratio:
        return TargetCheck(target, scenario, ratio, 'yes')
    return TargetCheck(target, scenario, ratio, 'NO', f'{pair}: {ratio:.2f}x, below the target {target.min_ratio}x')


def check_targets(
    targets: Sequence[Target],
    outcomes: Mapping[tuple[str, str], Outcome],
    selected_servers: Collection[str],
    selected_scenarios: Collection[str],
) -> list[TargetCheck]:
    """Every target this run selected: its scenario ran, and at least one of its two rows was chosen.

    A target with only one of its rows in the selection still counts (as not run), so a subset
    that leaves out a peer cannot pass the check by leaving it out.
    """
    return [
        _check(target, scenario, outcomes, selected_servers)
        for target in targets
        for scenario in target.scenarios
        if scenario in selected_scenarios and (target.ours in selected_servers or target.peer in selected_servers)
    ]


def render_targets(checks: Sequence[TargetCheck], outcomes: Mapping[tuple[str, str], Outcome]) -> str:
    rows = []
    for check in checks:
        target = check.target
        ratio = '-' if check.ratio is None else f'{check.ratio:.2f}x'
        cost = _cost_ratio(outcomes, target, check.scenario)
        pair = f'{target.ours} / {target.peer}' + (' (req per server CPU-s)' if target.by_cpu else '')
        rows.append([check.scenario, pair, ratio, f'>= {target.min_ratio}x', check.status, cost])
    if not rows:
        return ''
    header = ['scenario', 'ours / peer (req/s or msg/s)', 'ratio', 'target', 'met', 'CPU cost peer / ours']
    return '### Targets\n\n' + table(header, rows, [False, False, True, True, False, True])
