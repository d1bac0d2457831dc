"""The in-process job runner with jobs of the test's own: coalescing, one run at a time per
key, run_now, failures, schedules (`every`, `daily_at` in the municipality's time zone),
`on_start`, and stopping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from service.clock import SettableClock
from service.jobs.runner import InProcessRunner, JobSpec, next_daily_run
from tests.support import wait_until

M1, M2 = "m1", "m2"
MONDAY = datetime(2026, 11, 23, 10, 0)  # local time, Europe/Copenhagen


@dataclass
class Job:
    """A job that records its runs; while `gate` is closed a run waits there."""

    fail_first: int = 0
    runs: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    finished: int = 0
    running: dict[str, int] = field(default_factory=dict)
    most_at_once: dict[str, int] = field(default_factory=dict)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.gate.set()

    async def __call__(self, municipality_id: str, reasons: tuple[str, ...]) -> str:
        self.runs.append((municipality_id, reasons))
        number = len(self.runs)
        self.running[municipality_id] = self.running.get(municipality_id, 0) + 1
        self.most_at_once[municipality_id] = max(self.most_at_once.get(municipality_id, 0),
                                                 self.running[municipality_id])
        try:
            await self.gate.wait()
            if number <= self.fail_first:
                raise RuntimeError(f"run {number} broke")
            return f"result of run {number}"
        finally:
            self.running[municipality_id] -= 1
            self.finished += 1

    def reasons(self) -> list[tuple[str, ...]]:
        return [reasons for _, reasons in self.runs]


def runner_with(*specs: JobSpec, clock: SettableClock | None = None,
                municipalities: Iterable[str] = (M1,),
                closed: frozenset[date] = frozenset()) -> InProcessRunner:
    runner = InProcessRunner(clock or SettableClock(MONDAY), municipalities, closed)
    runner.declare(specs)
    return runner


@pytest.fixture
async def stopped() -> AsyncIterator[list[InProcessRunner]]:
    """Runners a test started; stopped when it ends, whatever happened."""
    runners: list[InProcessRunner] = []
    yield runners
    for runner in runners:
        await runner.stop()


def started(runners: list[InProcessRunner], runner: InProcessRunner) -> InProcessRunner:
    runner.start()
    runners.append(runner)
    return runner


def worker_task(name: str, municipality_id: str = M1) -> asyncio.Task[Any]:
    return next(t for t in asyncio.all_tasks() if t.get_name() == f"job:{name}:{municipality_id}")


# -- coalescing and one run at a time ----------------------------------------------------------

async def test_requests_while_one_waits_make_one_run_with_all_reasons(stopped) -> None:
    job = Job()
    runner = started(stopped, runner_with(JobSpec("count", job)))
    runner.request("count", M1, "intake")
    runner.request("count", M1, "")
    runner.request("count", M1, "intake")
    await runner.wait_idle()
    assert job.runs == [(M1, ("intake", "request", "intake"))]


async def test_requests_during_the_settle_pause_join_the_run(stopped) -> None:
    job = Job()
    runner = started(stopped, runner_with(JobSpec("count", job, settle=0.2)))
    runner.request("count", M1, "first")
    await asyncio.sleep(0)  # the worker is now in its settle pause
    assert job.runs == []
    runner.request("count", M1, "second")
    runner.request("count", M1, "third")
    await runner.wait_idle()
    assert job.reasons() == [("first", "second", "third")]


async def test_a_request_during_a_run_makes_exactly_one_more_run(stopped) -> None:
    job = Job()
    job.gate.clear()
    runner = started(stopped, runner_with(JobSpec("count", job)))
    runner.request("count", M1, "a")
    await wait_until(lambda: job.runs, what="the first run to start")
    for reason in ("b", "c", "d"):
        runner.request("count", M1, reason)
    job.gate.set()
    await runner.wait_idle()
    assert job.reasons() == [("a",), ("b", "c", "d")]
    assert job.finished == 2


async def test_runs_of_one_key_never_overlap_other_keys_do(stopped) -> None:
    job = Job()
    job.gate.clear()
    runner = started(stopped, runner_with(JobSpec("count", job), municipalities=(M1, M2)))
    runner.request("count", M1, "a")
    runner.request("count", M2, "a")
    # Another municipality is another key: both run at once.
    await wait_until(lambda: job.running.get(M1) == 1 and job.running.get(M2) == 1,
                     what="a run for each municipality at the same time")
    manual = asyncio.create_task(runner.run_now("count", M1, "manual"))
    runner.request("count", M1, "b")
    for _ in range(5):
        await asyncio.sleep(0)
    assert job.running[M1] == 1 and len(job.runs) == 2  # the rest waits its turn
    job.gate.set()
    await manual
    await runner.wait_idle()
    assert job.most_at_once == {M1: 1, M2: 1}
    assert sorted(job.reasons()) == sorted([("a",), ("a",), ("manual",), ("b",)])


async def test_run_now_waits_for_the_running_run_and_returns_the_jobs_result(stopped) -> None:
    job = Job()
    job.gate.clear()
    runner = started(stopped, runner_with(JobSpec("count", job)))
    runner.request("count", M1, "change")
    await wait_until(lambda: job.runs, what="the requested run to start")
    manual = asyncio.create_task(runner.run_now("count", M1, "manual"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not manual.done() and len(job.runs) == 1  # it waits for the run under way
    job.gate.set()
    assert await manual == "result of run 2"
    assert job.reasons() == [("change",), ("manual",)]
    assert job.most_at_once[M1] == 1


async def test_a_failing_run_is_logged_and_later_runs_still_happen(
        stopped, caplog: pytest.LogCaptureFixture) -> None:
    job = Job(fail_first=1)
    runner = started(stopped, runner_with(JobSpec("flaky", job)))
    with caplog.at_level(logging.ERROR, logger="fasthold.jobs"):
        runner.request("flaky", M1, "first")
        await runner.wait_idle()
    failures = [r for r in caplog.records if r.name == "fasthold.jobs"]
    assert [r.getMessage() for r in failures] == ["job flaky for m1 failed"]
    assert failures[0].exc_info is not None and "run 1 broke" in str(failures[0].exc_info[1])
    runner.request("flaky", M1, "again")
    await runner.wait_idle()
    assert job.reasons() == [("first",), ("again",)]
    assert await runner.run_now("flaky", M1) == "result of run 3"


async def test_unknown_and_twice_declared_jobs_are_refused() -> None:
    runner = runner_with(JobSpec("count", Job()))
    with pytest.raises(ValueError, match="declared twice"):
        runner.declare([JobSpec("count", Job())])
    runner.start()
    try:
        with pytest.raises(KeyError, match="nope"):
            runner.request("nope", M1)
    finally:
        await runner.stop()


# -- schedules and start -----------------------------------------------------------------------

async def test_every_requests_the_job_on_its_schedule(stopped) -> None:
    job = Job()
    started(stopped, runner_with(JobSpec("poll", job, every=timedelta(seconds=0.05))))
    await wait_until(lambda: len(job.runs) >= 3, what="three scheduled runs")
    assert set(job.reasons()[:3]) == {("schedule",)}


async def test_on_start_requests_the_job_once_when_the_runner_starts(stopped) -> None:
    catch_up, other = Job(), Job()
    runner = runner_with(JobSpec("catch_up", catch_up, on_start=True), JobSpec("other", other),
                         municipalities=(M1, M2))
    runner.request("catch_up", M1, "too early")  # not started yet: nothing is taken
    started(stopped, runner)
    await runner.wait_idle()
    assert sorted(catch_up.runs) == [(M1, ("start",)), (M2, ("start",))]
    assert other.runs == []


async def test_daily_at_runs_at_local_time_in_the_municipalitys_zone(stopped) -> None:
    # 06:29:59.9 in Copenhagen is 05:29:59.9 UTC: the 06:30 run is due in a tenth of a second
    # only if the runner reads the time in the municipality's zone.
    clock = SettableClock(datetime(2026, 11, 23, 6, 29, 59, 900_000))
    job = Job()
    started(stopped, runner_with(JobSpec("morning", job, daily_at=time(6, 30)), clock=clock))
    await wait_until(lambda: job.runs, timeout=10, what="the 06:30 run")
    assert job.reasons()[0] == ("schedule",)


# -- the next daily run ------------------------------------------------------------------------

def local(clock_at: datetime, zone: str = "Europe/Copenhagen") -> datetime:
    """`clock_at` (naive local time) as the clock of a municipality in `zone` tells it."""
    return SettableClock(clock_at, zone).now()


AT = time(6, 30)


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 11, 23, 6, 0), datetime(2026, 11, 23, 6, 30)),  # Monday, before: today
    (datetime(2026, 11, 23, 6, 30), datetime(2026, 11, 24, 6, 30)),  # at the time: strictly after
    (datetime(2026, 11, 27, 7, 0), datetime(2026, 11, 30, 6, 30)),  # Friday, after: Monday
    (datetime(2026, 11, 28, 5, 0), datetime(2026, 11, 30, 6, 30)),  # Saturday: Monday
    (datetime(2026, 12, 23, 9, 0), datetime(2026, 12, 24, 6, 30)),  # 24 Dec is no holiday
    (datetime(2026, 12, 24, 9, 0), datetime(2026, 12, 28, 6, 30)),  # Christmas, weekend
    (datetime(2027, 3, 24, 9, 0), datetime(2027, 3, 30, 6, 30)),  # Easter 2027
    (datetime(2026, 12, 31, 9, 0), datetime(2027, 1, 4, 6, 30)),  # New Year, weekend
])
def test_next_daily_run_skips_weekends_and_danish_holidays(now: datetime,
                                                            expected: datetime) -> None:
    run = next_daily_run(local(now), AT, frozenset())
    assert run.replace(tzinfo=None) == expected
    assert run.tzinfo is not None and run.utcoffset() == local(expected).utcoffset()


def test_next_daily_run_skips_the_jobcentres_closed_dates() -> None:
    closed = frozenset({date(2026, 12, 24), date(2026, 12, 28)})
    run = next_daily_run(local(datetime(2026, 12, 23, 9, 0)), AT, closed)
    assert run.replace(tzinfo=None) == datetime(2026, 12, 29, 6, 30)


def test_next_daily_run_is_local_time_in_the_municipalitys_zone() -> None:
    # Friday 23:30 UTC is already Saturday in Copenhagen: the next run is Monday morning,
    # 06:30 in Copenhagen (05:30 UTC in winter).
    friday_night = SettableClock(datetime(2026, 11, 27, 23, 30, tzinfo=UTC))
    run = next_daily_run(friday_night.now(), AT, frozenset())
    assert run.astimezone(UTC) == datetime(2026, 11, 30, 5, 30, tzinfo=UTC)
    # The same moment for a municipality in another zone: still Friday there, and its 06:30
    # on Monday is another instant.
    greenland = SettableClock(datetime(2026, 11, 27, 23, 30, tzinfo=UTC), "America/Nuuk")
    assert greenland.today() == date(2026, 11, 27)
    other = next_daily_run(greenland.now(), AT, frozenset())
    assert other.replace(tzinfo=None) == datetime(2026, 11, 30, 6, 30)
    assert other.astimezone(UTC) != run.astimezone(UTC)


def test_next_daily_run_across_the_change_to_winter_time() -> None:
    # Friday 23 October 2026 in summer time (UTC+2); the clocks go back on Sunday 25 October.
    run = next_daily_run(local(datetime(2026, 10, 23, 10, 0)), AT, frozenset())
    assert run.replace(tzinfo=None) == datetime(2026, 10, 26, 6, 30)
    assert run.astimezone(UTC) == datetime(2026, 10, 26, 5, 30, tzinfo=UTC)  # UTC+1 now


# -- stopping ----------------------------------------------------------------------------------

async def test_a_stop_during_the_settle_pause_ends_the_worker_on_its_own(
        caplog: pytest.LogCaptureFixture) -> None:
    job = Job()
    runner = runner_with(JobSpec("settling", job, settle=0.2))
    runner.start()
    runner.request("settling", M1, "change")
    worker = worker_task("settling")
    await asyncio.sleep(0)  # one turn of the loop: the worker is in its settle pause
    await runner.stop()
    assert worker.done()
    assert not worker.cancelled()  # it returned on its own, nobody cancelled it
    assert job.runs == []  # the stop came before the run
    assert "did not finish on shutdown" not in caplog.text
    runner.request("settling", M1, "after the stop")  # a stopped runner takes nothing
    await runner.wait_idle()
    assert job.runs == []


async def test_stop_lets_a_run_under_way_finish_and_ends_the_schedules() -> None:
    job = Job()
    job.gate.clear()
    runner = runner_with(JobSpec("poll", job, every=timedelta(seconds=0.05)))
    runner.start()
    await wait_until(lambda: job.runs, what="a scheduled run")
    stopping = asyncio.create_task(runner.stop())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not stopping.done()  # it waits for the run
    job.gate.set()
    await stopping
    assert job.finished == len(job.runs) == 1
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith(("job:", "schedule:"))]


@pytest.mark.parametrize(("now", "hours", "wakes"), [
    # Summer time begins Sunday 2027-03-28 (02:00 -> 03:00): Friday 07:00 +01:00 to Tuesday
    # 06:30 +02:00 (Easter Monday between) is 94.5 hours, not the wall clock's 95.5.
    (datetime(2027, 3, 26, 7, 0), 94.5, datetime(2027, 3, 30, 6, 30)),
    # Summer time ends Sunday 2026-10-25 (03:00 -> 02:00): Friday 07:00 +02:00 to Monday
    # 06:30 +01:00 is 72.5 hours, not 71.5 (which woke at 05:30 and ran again at 06:30).
    (datetime(2026, 10, 23, 7, 0), 72.5, datetime(2026, 10, 26, 6, 30)),
    # Within one offset nothing changes: Monday 06:00 to 06:30.
    (datetime(2026, 11, 23, 6, 0), 0.5, datetime(2026, 11, 23, 6, 30)),
])
def test_the_wait_for_a_daily_run_is_elapsed_time_across_daylight_saving(
        now: datetime, hours: float, wakes: datetime) -> None:
    clock = SettableClock(now)
    morning = JobSpec("morning", Job(), daily_at=AT)
    delay = runner_with(morning, clock=clock)._delay(morning, M1)
    assert delay == hours * 3600
    clock.advance(timedelta(seconds=delay))  # sleeping that long wakes at 06:30 local time
    assert clock.now().replace(tzinfo=None) == wakes
