"""Whether RSS stayed flat, judged so that the SIGHUP every minute neither hides nor fakes growth.

A SIGHUP replaces every worker, so a worker process (a *generation* of its slot) lives about one
SIGHUP interval: it starts as a fork of the main process, grows for its first seconds while its
caches and the allocator's arenas fill, then holds. A plain curve of a slot's RSS is a saw tooth:
it would hide a leak (each respawn starts over) and could fake growth (a late sample on a fresh
process's warm-up, or on the overlap of two generations during a hand-over). So, with the samples
taken while the load ran:

- **Every worker, over the last half of its life**: each generation's samples from the middle of
  its life on, the later half against the earlier half (medians, as a sample can land on an
  upload in flight). A leak per request or per connection grows every generation alike, so the
  median of these growths must stay under 5 %. The allocator's high-water mark moves in steps of
  1-2 MiB (a 50 MiB upload meeting 16 HTTP/2 streams and a burst of resets) that reach some
  generations only, up to 5 % of a young worker in the runs so far; a single generation may
  therefore go up to 10 %, and beyond that it fails alone (a leak only some event sets off).
- **Main process, over the soak's last half**: later half against earlier half, under 5 %. Every
  generation is forked from it, so a leak that outlives respawns can only live here; that is why
  a slot's level across generations is shown (:func:`slot_growth`) but not judged: with a
  generation or two per quarter, it compares one warm-up's high-water mark with another's.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from soak.monitor import Generation, ProcessSample

__all__ = ['GROWTH_LIMIT', 'SINGLE_LIMIT', 'Growth', 'generation_growth', 'halves', 'last_half', 'slot_growth']

GROWTH_LIMIT = 0.05
#: What one generation may show alone (see the module docstring).
SINGLE_LIMIT = 0.10
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
