"""Markdown for the memory benchmark: a table per kind of connection, and its targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .idle import Kind, MemoryServer, Row
from .report import table

__all__ = ['OURS', 'MemoryCheck', 'check_memory_targets', 'render_kind', 'render_memory_targets']

# The row the targets apply to and the ratios compare with: ours in its default, pure-Python setup.
OURS = 'ours-asyncio'

# A row's result: its measurement, or why it failed.
Result = Row | str


def _mib(kib: int) -> str:
    return f'{kib / 1024:.1f}'


def render_kind(kind: Kind, servers: Sequence[MemoryServer], results: Mapping[tuple[str, str], Result], n: int) -> str:
    ours = results.get((OURS, kind.name))
    base = ours.kib_per_connection if isinstance(ours, Row) else None
    rows = []
    for server in servers:
        result = results.get((server.name, kind.name))
        if result is None:
            continue
        if not isinstance(result, Row):
            rows.append([server.name, 'FAILED'] + ['-'] * 7)
            continue
        per = result.kib_per_connection
        # Above 1.00x the row needs more memory per connection than ours does.
        ratio = f'{per / base:.2f}x' if base and base > 0 else '-'
        rows.append(
            [
                server.name,
                f'{result.connections:,}',
                _mib(result.before.rss),
                _mib(result.after.rss),
                f'{per:.1f}',
                f'{result.pss_kib_per_connection:.1f}',
                ratio,
                f'{result.open_seconds:.1f}',
                f'{result.settle_seconds:.0f}',
            ]
        )
    header = [
        'server',
        'held',
        'Rss before MiB',
        'Rss after MiB',
        'KiB/conn',
        'Pss KiB/conn',
        f'vs {OURS}',
        'open s',
        'settle s',
    ]
    right = [False] + [True] * 8
    target = f'Target: {OURS} <= {kind.target_kib:g} KiB per connection (Rss growth).'
    return f'### {kind.name}: {n:,} {kind.title}\n\n' + table(header, rows, right) + f'\n\n{target}'


@dataclass(frozen=True)
class MemoryCheck:
    kind: Kind
    kib: float | None
    # 'yes', 'NO', 'FAILED' or 'NOT RUN'.
    status: str
    problem: str | None = None

    @property
    def met(self) -> bool:
        return self.status == 'yes'


def check_memory_targets(kinds: Sequence[Kind], results: Mapping[tuple[str, str], Result]) -> list[MemoryCheck]:
    """The target of each kind this run measured: our row must have run, and be within it."""
    checks = []
    for kind in kinds:
        result = results.get((OURS, kind.name))
        what = f'{OURS} {kind.name}'
        if result is None:
            checks.append(MemoryCheck(kind, None, 'NOT RUN', f'{what}: the row was not selected (add it to --only)'))
        elif not isinstance(result, Row):
            checks.append(MemoryCheck(kind, None, 'FAILED', f'{what}: the row FAILED (reason above)'))
        elif result.kib_per_connection <= kind.target_kib:
            checks.append(MemoryCheck(kind, result.kib_per_connection, 'yes'))
        else:
            per = result.kib_per_connection
            problem = f'{what}: {per:.1f} KiB per connection, above the target {kind.target_kib:g} KiB'
            checks.append(MemoryCheck(kind, per, 'NO', problem))
    return checks


def render_memory_targets(checks: Sequence[MemoryCheck]) -> str:
    rows = []
    for check in checks:
        kib = '-' if check.kib is None else f'{check.kib:.1f}'
        rows.append([check.kind.name, OURS, kib, f'<= {check.kind.target_kib:g}', check.status])
    header = ['kind', 'server', 'KiB/conn', 'target KiB/conn', 'met']
    return '### Targets\n\n' + table(header, rows, [False, False, True, True, False])
