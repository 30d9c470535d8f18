"""Whether RSS stayed flat, judged so that the SIGHUP every minute neither hides nor fakes growth.

A SIGHUP replaces every worker, so a worker process (a *generation* of its slot) lives about one
SIGHUP interval: it starts small (forked from the main process), grows for its first seconds while
its caches and the allocator's arenas fill, then holds. A plain curve of a slot's RSS is a saw
tooth: it would hide a leak (each respawn starts over) and could fake growth (a late sample on a
fresh process's warm-up, or on the overlap of two generations during a hand-over). So, with the
samples taken while the load ran:

- **Per worker, over the soak's last half**: a slot's samples from generations at least half a
  SIGHUP interval old (past their warm-up), in the soak's last quarter against its third quarter;
  the median of the later ones must be less than 5 % above the median of the earlier ones. This
  is what grows when a leak outlives respawns (in the main process, which every worker is forked
  from, or in anything a worker inherits).
- **Within generations**: each generation's second half of life, its later half against its
  earlier half (medians again); the median of these over every generation must be under 5 %. A
  leak per request or per connection grows every generation alike; the allocator's high-water
  mark moves in steps (a 50 MiB upload meeting 16 HTTP/2 streams and a WebSocket burst) that
  reach a few generations only, and a long-lived process would settle them. Each generation's
  value is in the table.
- **Main process**: over the soak's last half, later half against earlier half.

Medians throughout, because a sample can land on an upload in flight.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from soak.monitor import Generation, ProcessSample

__all__ = ['GROWTH_LIMIT', 'Growth', 'generation_growth', 'halves', 'slot_growth']

GROWTH_LIMIT = 0.05
#: Fewer samples than this on either side of a comparison, and it is not judged.
_MIN_SIDE = 2


@dataclass(frozen=True)
class Growth:
    before_kib: float
    after_kib: float
    samples: int

    @property
    def ratio(self) -> float:
        return self.after_kib / self.before_kib - 1

    def __str__(self) -> str:
        return f'{self.before_kib / 1024:.1f} -> {self.after_kib / 1024:.1f} MiB {self.ratio:+.1%}'


def halves(samples: list[ProcessSample], split: float) -> Growth | None:
    """Median RSS of the samples from ``split`` on against the median of those before it."""
    before = [s.rss_kib for s in samples if s.at < split]
    after = [s.rss_kib for s in samples if s.at >= split]
    if len(before) < _MIN_SIDE or len(after) < _MIN_SIDE:
        return None
    return Growth(statistics.median(before), statistics.median(after), len(samples))


def last_half(samples: list[ProcessSample]) -> Growth | None:
    """The growth over the second half of ``samples`` (by time): its later half against its earlier."""
    if len(samples) < 2:
        return None
    start, end = samples[0].at, samples[-1].at
    middle = (start + end) / 2
    return halves([s for s in samples if s.at >= middle], (middle + end) / 2)


def generation_growth(generation: Generation, until: float) -> Growth | None:
    return last_half(generation.serving(until=until))


def slot_growth(generations: list[Generation], duration: float, warm_up: float) -> Growth | None:
    """One slot's growth over the soak's last half, from its generations' samples past ``warm_up``."""
    samples = []
    for generation in generations:
        serving = generation.serving(until=duration)
        if serving:
            born = serving[0].at
            samples += [s for s in serving if s.at - born >= warm_up and s.at >= duration / 2]
    return halves(sorted(samples, key=lambda s: s.at), duration * 3 / 4)
