"""One task per request, started eagerly on every Python version (granian_server/_tasks.py)."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import sys

import pytest

from granian_server._tasks import TaskSet
from testkit.loop_reports import loop_reports

pytestmark = pytest.mark.anyio

_VAR: contextvars.ContextVar[str] = contextvars.ContextVar('_VAR', default='unset')


async def test_the_first_step_runs_before_spawn_returns() -> None:
    seen: list[str] = []

    async def app() -> None:
        seen.append('ran')

    tasks = TaskSet(asyncio.get_running_loop())
    tasks.spawn(app())
    assert seen == ['ran']
    assert not tasks.tasks  # done in its first step: nothing kept


async def test_the_first_step_already_runs_in_a_task_of_its_own() -> None:
    # anyio (so Starlette and FastAPI) needs current_task() from the first instruction on.
    observed: list[asyncio.Task[object] | None] = []

    async def app() -> None:
        observed.append(asyncio.current_task())
        await asyncio.sleep(0)
        observed.append(asyncio.current_task())

    outer = asyncio.current_task()
    tasks = TaskSet(asyncio.get_running_loop())
    tasks.spawn(app())
    assert observed[0] is not None and observed[0] is not outer
    assert asyncio.current_task() is outer  # the spawner's task is back in place
    await tasks.wait()
    assert observed[1] is observed[0]
    assert observed[0] in tasks.tasks or observed[0].done()
    # Named for what they are, on every Python version and loop (no per-task 'Task-<n>' to format).
    assert observed[0].get_name() == 'granian-request'


async def test_a_task_that_waits_carries_on_and_is_kept_until_done() -> None:
    event = asyncio.Event()
    result: list[str] = []

    async def app() -> None:
        await event.wait()
        result.append('after')

    tasks = TaskSet(asyncio.get_running_loop())
    tasks.spawn(app())
    assert len(tasks.tasks) == 1 and not result
    event.set()
    await tasks.wait()
    assert result == ['after'] and not tasks.tasks


async def test_cancellation_reaches_the_app() -> None:
    cancelled: list[bool] = []

    async def app() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    tasks = TaskSet(asyncio.get_running_loop())
    tasks.spawn(app())
    (task,) = tasks.tasks
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == [True]


async def test_context_variables_stay_inside_the_task() -> None:
    async def app() -> None:
        _VAR.set('app')
        await asyncio.sleep(0)
        assert _VAR.get() == 'app'

    tasks = TaskSet(asyncio.get_running_loop())
    tasks.spawn(app())
    assert _VAR.get() == 'unset'  # what the first step set did not leak into the spawner
    await tasks.wait()


async def test_an_exception_in_the_first_step_stays_in_the_task() -> None:
    # As with create_task: spawn does not raise, and the loop reports the unretrieved exception.
    loop = asyncio.get_running_loop()
    with loop_reports(loop) as reports:

        async def app() -> None:
            raise ValueError('boom')

        TaskSet(loop).spawn(app())
        gc.collect()
    assert [type(report.get('exception')) for report in reports] == [ValueError]


async def test_a_task_collected_while_pending_is_reported() -> None:
    # As for any asyncio task: one that is garbage-collected before it finished is a bug the loop
    # reports ('Task was destroyed but it is pending!'), eager or not; in debug mode with where
    # the task was created.
    loop = asyncio.get_running_loop()
    with loop_reports(loop) as reports:

        async def app() -> None:
            await loop.create_future()  # never resolved

        TaskSet(loop).spawn(app())  # the set holding the task is dropped with it
        gc.collect()
        loop.set_debug(True)
        try:
            TaskSet(loop).spawn(app())
            gc.collect()
        finally:
            loop.set_debug(False)
    assert [report['message'] for report in reports] == ['Task was destroyed but it is pending!'] * 2
    assert 'source_traceback' not in reports[0] and reports[1].get('source_traceback')


def test_the_cpython_internals_the_eager_task_uses_are_there() -> None:
    from asyncio import futures, tasks

    if sys.version_info >= (3, 12):
        # Here asyncio starts tasks eagerly itself: what _tasks.py relies on is that keyword.
        assert 'eager_start' in inspect.signature(asyncio.Task).parameters
        return
    for name in ('_PyTask', '_register_task', '_enter_task', '_leave_task'):
        assert hasattr(tasks, name), f'asyncio.tasks.{name} is gone: revise granian_server/_tasks.py'
    assert hasattr(futures, '_PyFuture')
    assert hasattr(tasks._PyTask, '_Task__step'), 'the pure-Python Task step was renamed'
    # What _EagerTask.__del__ reads to skip the two __del__ calls of a task with nothing to report.
    assert futures._PENDING == 'PENDING'
    assert futures._PyFuture._Future__log_traceback is False, 'the future log flag was renamed'


async def test_a_session_task_runs_and_is_kept_until_done() -> None:
    event = asyncio.Event()

    async def session() -> None:
        await event.wait()

    tasks = TaskSet(asyncio.get_running_loop())
    tasks.spawn_session(session())
    await asyncio.sleep(0)
    assert len(tasks.tasks) == 1
    event.set()
    await tasks.wait()
    assert not tasks.tasks


def test_on_a_compiled_loop_the_task_is_asyncios_own() -> None:
    # uvloop turns in C: before 3.12 a request's task is then asyncio's C task, started on the
    # loop's next turn (3.12+ starts it eagerly anyway). Either way it is a real task that runs
    # the app to the end and is not kept once done.
    import uvloop

    seen: list[object] = []

    async def app() -> None:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0)
        seen.append('after')

    async def main() -> TaskSet:
        tasks = TaskSet(asyncio.get_running_loop())
        tasks.spawn(app())
        eager = sys.version_info >= (3, 12)
        assert (len(seen) == 1) is eager
        (task,) = tasks.tasks
        assert type(task) is asyncio.Task  # the C task, not the pure-Python eager one
        await tasks.wait()
        assert seen == [task, 'after']
        return tasks

    loop = uvloop.new_event_loop()
    try:
        assert not loop.run_until_complete(main()).tasks
    finally:
        loop.close()
