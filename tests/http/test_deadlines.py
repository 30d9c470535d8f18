"""The worker's coarse deadlines (granian_http.deadlines) on a real asyncio loop."""

from __future__ import annotations

import asyncio

import pytest

from granian_http.deadlines import Deadlines, resolution_for
from testkit.loop_reports import loop_reports

pytestmark = pytest.mark.anyio

RESOLUTION = 0.01


class Owner:
    def __init__(self, name: str, calls: list[tuple[str, float]], fail: bool = False) -> None:
        self.name = name
        self.calls = calls
        self.fail = fail
        self.called = asyncio.get_running_loop().create_future()

    def on_deadline(self) -> None:
        self.calls.append((self.name, asyncio.get_running_loop().time()))
        if not self.called.done():
            self.called.set_result(None)
        if self.fail:
            raise RuntimeError(f'{self.name} failed')


async def test_an_owner_is_called_once_its_moment_has_passed_never_before() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    calls: list[tuple[str, float]] = []
    moments = {}
    owners = [Owner(f'o{i}', calls) for i in range(20)]
    for i, owner in enumerate(owners):
        moments[owner.name] = loop.time() + 0.003 * i
        deadlines.arm(owner, moments[owner.name])
    await asyncio.wait_for(asyncio.gather(*(o.called for o in owners)), 5)
    assert sorted(name for name, _ in calls) == sorted(o.name for o in owners)  # each exactly once
    assert all(at >= moments[name] for name, at in calls)


async def test_a_disarmed_owner_is_not_called() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    calls: list[tuple[str, float]] = []
    gone, kept = Owner('gone', calls), Owner('kept', calls)
    tick = deadlines.arm(gone, loop.time() + 0.02)
    deadlines.arm(kept, loop.time() + 0.05)  # a later tick: when it has run, the earlier one had
    deadlines.disarm(gone, tick)
    await asyncio.wait_for(kept.called, 5)
    assert [name for name, _ in calls] == ['kept']


async def test_an_earlier_deadline_armed_later_is_not_held_up_by_a_later_one() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    calls: list[tuple[str, float]] = []
    late, early = Owner('late', calls), Owner('early', calls)
    deadlines.arm(late, loop.time() + 0.3)
    deadlines.arm(early, loop.time() + 0.02)
    await asyncio.wait_for(late.called, 5)
    assert [name for name, _ in calls] == ['early', 'late']


async def test_re_arming_from_the_callback_keeps_the_earlier_ticks_in_order() -> None:
    # While a tick runs, its owner arms a far tick: a tick already waiting in between must still
    # come first, not be pushed behind the far one.
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    calls: list[tuple[str, float]] = []

    class Rearming(Owner):
        def on_deadline(self) -> None:
            super().on_deadline()
            if len(self.calls) == 1:
                deadlines.arm(self, loop.time() + 0.5)

    first = Rearming('first', calls)
    between = Owner('between', calls)
    deadlines.arm(first, loop.time() + 0.01)
    deadlines.arm(between, loop.time() + 0.1)
    await asyncio.wait_for(between.called, 5)
    assert [name for name, _ in calls] == ['first', 'between']
    deadlines.close()


async def test_a_failing_owner_is_reported_and_the_others_still_called() -> None:
    loop = asyncio.get_running_loop()
    with loop_reports(loop) as reported:
        deadlines = Deadlines(loop, RESOLUTION)
        calls: list[tuple[str, float]] = []
        owners = [Owner('bad', calls, fail=True), Owner('good', calls)]
        moment = loop.time() + 0.01
        for owner in owners:
            deadlines.arm(owner, moment)  # the same tick
        await asyncio.wait_for(asyncio.gather(*(o.called for o in owners)), 5)
        assert [str(context['exception']) for context in reported] == ['bad failed']


async def test_close_forgets_everything() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    calls: list[tuple[str, float]] = []
    owner, witness = Owner('owner', calls), Owner('witness', calls)
    deadlines.arm(owner, loop.time() + 0.01)
    deadlines.close()
    other = Deadlines(loop, RESOLUTION)
    other.arm(witness, loop.time() + 0.05)
    await asyncio.wait_for(witness.called, 5)
    assert [name for name, _ in calls] == ['witness']


def test_the_resolution_follows_the_timeout_within_bounds() -> None:
    assert resolution_for(30.0) == 0.5  # the default keep-alive: within half a second
    assert resolution_for(1.6) == 0.1
    assert resolution_for(0.01) == 0.005
