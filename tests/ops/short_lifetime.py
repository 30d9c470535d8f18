"""A test-only ``Granian`` whose workers reach their lifetime in seconds, not minutes.

``workers_lifetime`` is at least 60 s (upstream's minimum) and the supervisor respawns a worker at
95 % of it, so watching several generations of workers come and go would take minutes. This
subclass keeps every check of the real server (60 is still the smallest value it accepts) and only
hands the supervisor a scaled lifetime, so the respawn path under test is the production one.
Tests start it through :func:`testkit.process.api_server` with ``server_class``.
"""

from __future__ import annotations

from dataclasses import replace

from granian import Granian
from granian_server.supervisor import SupervisorOptions

#: 60 s, the smallest lifetime allowed, becomes 3 s.
SCALE = 0.05


class ShortLifetimeGranian(Granian):
    def _supervisor_options(self) -> SupervisorOptions:
        options = super()._supervisor_options()
        return replace(options, lifetime=options.lifetime * SCALE if options.lifetime else None)
