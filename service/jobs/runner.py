"""The in-process job runner of the embedded default (one process, SQLite).

It runs the jobs declared in `service.jobs.catalog` by name, keyed by job and municipality:
requests for a job that is already waiting are coalesced into one run, runs of one key never
overlap, scheduled jobs are requested on their schedule (in the municipality's time zone, on
Danish working days where the schedule says so). In production the PostgreSQL job queue
(`service.jobs.queue`, procrastinate; `[jobs] runner = "procrastinate"`) runs the same job
functions in `fasthold worker` processes; nothing in the use cases changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from service.clock import Clock
from service.jobs.shutdown import cancel, finish_or_cancel
from service.platform.workdays import is_working_day

log = logging.getLogger("fasthold.jobs")

JobFunction = Callable[[str, tuple[str, ...]], Awaitable[Any]]


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Retry:
    """How a job queue retries a failed (or, on a worker's shutdown, abandoned) run: at most
    `attempts` more runs, waiting `wait_seconds` plus `exponential_seconds` ** (attempt + 1).
    The in-process runner leaves a failed run to the next request or schedule."""

    attempts: int = 5
    wait_seconds: int = 0
    exponential_seconds: int = 2


@dataclass(frozen=True)
class JobSpec:
    """A named job: what it runs (given the municipality and why it was requested) and when
    it is requested by itself."""

    name: str
    run: JobFunction
    every: timedelta | None = None  # requested this often
    daily_at: time | None = None  # requested at this local time on Danish working days
    on_start: bool = False  # requested once when the runner starts (catches up after a stop)
    settle: float = 0.0  # seconds to wait for a burst of requests before running
    interruptible: Callable[[], bool] = _never  # may be cancelled right now on stop
    on_stop: Callable[[], None] | None = None  # asked to wind down before the runner waits
    stop_timeout: float = 60.0
    retry: Retry = Retry()


class JobRunner(Protocol):
    """What runs the catalogue's jobs: `InProcessRunner` (the embedded default) or
    `service.jobs.queue.ProcrastinateQueue` (PostgreSQL, `fasthold worker`)."""

    def declare(self, specs: Iterable[JobSpec], municipality_id: str | None = None,
                closed_dates: frozenset[date] | None = None) -> None: ...

    def request(self, job: str, municipality_id: str, reason: str = "") -> None: ...

    async def run_now(self, job: str, municipality_id: str, reason: str = "manual") -> Any: ...

    async def wait_idle(self, timeout: float = 60) -> None: ...

    def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class _Key:
    spec: JobSpec
    municipality_id: str
    reasons: list[str] = field(default_factory=list)
    wanted: bool = False
    running: bool = False
    task: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def next_daily_run(now: datetime, at: time, closed: frozenset[date]) -> datetime:
    """The next moment at local time `at` on a Danish working day, strictly after `now`."""
    run_at = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if run_at <= now:
        run_at += timedelta(days=1)
    while not is_working_day(run_at.date(), closed):
        run_at += timedelta(days=1)
    return run_at


def seconds_until_daily_run(now: datetime, at: time, closed: frozenset[date]) -> float:
    """Elapsed seconds from `now` to the next daily run (`next_daily_run`). In UTC: two aware
    datetimes sharing one `ZoneInfo` subtract in wall-clock time, an hour off across a
    daylight-saving change (a Friday's wait for Monday 06:30 over the October change woke at
    05:30)."""
    run_at = next_daily_run(now, at, closed)
    return (run_at.astimezone(UTC) - now.astimezone(UTC)).total_seconds()


SpecTable = dict[tuple[str, str | None], JobSpec]


def declare_into(table: SpecTable, specs: Iterable[JobSpec], municipality_id: str | None
                 ) -> None:
    for spec in specs:
        if (spec.name, municipality_id) in table:
            raise ValueError(f"job {spec.name!r} declared twice")
        table[spec.name, municipality_id] = spec


def spec_for(table: SpecTable, job: str, municipality_id: str) -> JobSpec | None:
    """A municipality's own declaration of `job`, else the one for every municipality."""
    return table.get((job, municipality_id)) or table.get((job, None))


def specs_of(table: SpecTable, municipality_id: str) -> list[JobSpec]:
    """The jobs that run for `municipality_id`, one per name."""
    names = dict.fromkeys(name for name, _ in table)
    return [spec for name in names
            if (spec := spec_for(table, name, municipality_id)) is not None]


class InProcessRunner:
    """Runs named jobs in this process's event loop (the job functions await I/O; a solve
    goes to a worker process on its own)."""

    def __init__(self, clock: Clock, municipality_ids: Iterable[str],
                 closed_dates: frozenset[date] = frozenset()) -> None:
        self.clock = clock
        self.municipality_ids = tuple(municipality_ids)
        self.closed_dates = closed_dates
        # (job, municipality): a municipality's own job, or (job, None) for every one of them
        self._specs: dict[tuple[str, str | None], JobSpec] = {}
        self._closed: dict[str, frozenset[date]] = {}
        self._keys: dict[tuple[str, str], _Key] = {}
        self._schedules: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.started = False

    # -- declaring -------------------------------------------------------------------------

    def declare(self, specs: Iterable[JobSpec], municipality_id: str | None = None,
                closed_dates: frozenset[date] | None = None) -> None:
        """The jobs of `municipality_id` (of every municipality of the runner when None; a
        deployment of many declares each one's own, bound to its services), and its closed
        dates for the daily schedules (default: the runner's)."""
        declare_into(self._specs, specs, municipality_id)
        if municipality_id is not None and closed_dates is not None:
            self._closed[municipality_id] = closed_dates

    def spec(self, job: str, municipality_id: str) -> JobSpec | None:
        """The job as declared for `municipality_id` (None: not declared)."""
        return spec_for(self._specs, job, municipality_id)

    def _key(self, job: str, municipality_id: str) -> _Key:
        spec = self.spec(job, municipality_id)
        if spec is None:
            raise KeyError(f"unknown job {job!r}")
        key = self._keys.get((job, municipality_id))
        if key is None:
            key = self._keys[job, municipality_id] = _Key(spec, municipality_id)
        return key

    # -- requesting --------------------------------------------------------------------------

    def request(self, job: str, municipality_id: str, reason: str = "") -> None:
        """Ask for a run soon; many requests while one waits make one run."""
        if self._stop.is_set() or not self.started:
            return  # a stopped runner takes nothing; the next start catches up
        key = self._key(job, municipality_id)
        key.reasons.append(reason or "request")
        key.wanted = True
        if key.task is None:
            self._idle.clear()
            key.task = asyncio.create_task(self._work(key), name=f"job:{job}:{municipality_id}")

    async def run_now(self, job: str, municipality_id: str, reason: str = "manual") -> Any:
        """Run at once and return the job's result (after a run under way has finished)."""
        key = self._key(job, municipality_id)
        async with key.lock:
            return await key.spec.run(municipality_id, (reason,))

    async def _work(self, key: _Key) -> None:
        try:
            while key.wanted and not self._stop.is_set():
                if key.spec.settle:
                    await asyncio.sleep(key.spec.settle)  # let a burst of requests arrive
                    if self._stop.is_set():
                        return  # the stop's wake-up must not be lost
                key.wanted = False
                reasons, key.reasons = tuple(key.reasons), []
                async with key.lock:
                    key.running = True
                    try:
                        await key.spec.run(key.municipality_id, reasons)
                    except Exception:
                        # The next request or schedule tries again; a job repairs what a
                        # failed run left, because it works from the database's state.
                        log.exception("job %s for %s failed", key.spec.name,
                                      key.municipality_id)
                    finally:
                        key.running = False
        finally:
            key.task = None
            if all(k.task is None for k in self._keys.values()):
                self._idle.set()

    async def wait_idle(self, timeout: float = 60) -> None:
        """Wait until no job is waiting or running (tests and the CLI)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    # -- schedules ---------------------------------------------------------------------------

    def _delay(self, spec: JobSpec, municipality_id: str) -> float:
        if spec.every is not None:
            return spec.every.total_seconds()
        assert spec.daily_at is not None
        now = self.clock.now()
        closed = self._closed.get(municipality_id, self.closed_dates)
        return seconds_until_daily_run(now, spec.daily_at, closed)

    async def _schedule(self, spec: JobSpec, municipality_id: str) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(),
                                       max(self._delay(spec, municipality_id), 0.01))
                return
            self.request(spec.name, municipality_id, "schedule")

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        self.started = True
        for municipality_id in self.municipality_ids:
            for spec in specs_of(self._specs, municipality_id):
                if spec.every is not None or spec.daily_at is not None:
                    self._schedules.append(asyncio.create_task(
                        self._schedule(spec, municipality_id),
                        name=f"schedule:{spec.name}:{municipality_id}"))
                if spec.on_start:
                    self.request(spec.name, municipality_id, "start")

    async def stop(self) -> None:
        """Take no more requests; let runs under way finish (a run waiting on a solver is
        cancelled at once — the next start plans again); cancel only what overruns."""
        self._stop.set()
        for task in self._schedules:
            await cancel(task)
        self._schedules.clear()
        for spec in {id(s): s for s in self._specs.values()}.values():
            if spec.on_stop is not None:
                spec.on_stop()
        for key in list(self._keys.values()):
            task = key.task
            if task is None:
                continue
            if key.running and key.spec.interruptible():
                await cancel(task)
            else:
                await finish_or_cancel(task, key.spec.stop_timeout)
