"""The PostgreSQL job queue (procrastinate): the named jobs of `service.jobs.catalog` as
procrastinate tasks, deferred by any process (web or worker) and run by `fasthold worker`.

The same catalogue as the in-process runner, the same meaning:
- a request defers the job with `queueing_lock` "<job>:<municipality>": at most one waiting
  run per key, so a burst of requests is one run (coalescing);
- every run holds `lock` "<job>:<municipality>": two runs of one key (two plans of one
  municipality) never overlap, on any number of workers;
- `every` and `daily_at` are periodic tasks (`@app.periodic`, deferred once per tick across
  all workers) that request the job; the daily one fires each hour at the schedule's minute
  and requests only at the schedule's local hour on a Danish working day (cron knows neither
  the municipality's time zone changes nor the holidays);
- a failed run is retried with backoff (`JobSpec.retry`), and so is a run abandoned by a
  worker's graceful stop (SIGTERM, after the job's stop timeout);
- a run left "doing" by a killed worker (no heartbeat) is retried by a periodic task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg
from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException, UniqueViolation
from procrastinate.jobs import Status
from procrastinate.signals import on_stop
from psycopg_pool import PoolTimeout
from sqlalchemy.engine import make_url

from service.clock import Clock
from service.config import ConfigError
from service.jobs.runner import JobSpec, SpecTable, declare_into, spec_for, specs_of
from service.platform.db.engine import normalise_url
from service.platform.jobqueue import HEARTBEAT_SECONDS, STALLED_HEARTBEATS
from service.platform.workdays import is_working_day

log = logging.getLogger("fasthold.jobs")

RETRY_STALLED = "retry_stalled_jobs"
STALLED_CHECK_EVERY = timedelta(minutes=1)
# Finished runs are kept this long (to look into), then deleted by a nightly task; failed and
# aborted ones stay until someone looks (the schedules and ticks make ~35,000 rows a day).
REMOVE_OLD_JOBS = "remove_old_jobs"
KEEP_FINISHED_HOURS = 48
FINISHED = {Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.ABORTED}


def psycopg_conninfo(database_url: str) -> str:
    """procrastinate's connection (psycopg 3) to the service's PostgreSQL database."""
    parsed = make_url(normalise_url(database_url))
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError('[jobs] runner = "procrastinate" needs PostgreSQL: '
                          "FASTHOLD_DATABASE_URL names another database")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _step(whole: int, wanted: int) -> int:
    """The largest divisor of `whole` not above `wanted`: ticks evenly spaced, never
    further apart than asked."""
    return max(d for d in range(1, min(whole, max(wanted, 1)) + 1) if whole % d == 0)


def cron_every(every: timedelta) -> str:
    """A cron expression (procrastinate's, with seconds as a sixth field) for `every`."""
    seconds = max(int(every.total_seconds()), 1)
    if seconds < 60:
        return f"* * * * * */{_step(60, seconds)}"
    minutes = seconds // 60
    if minutes < 60:
        return f"*/{_step(60, minutes)} * * * *"
    hours = minutes // 60
    if hours < 24:
        return f"0 */{_step(24, hours)} * * *"
    return "0 0 * * *"


def _key(job: str, municipality_id: str) -> str:
    return f"{job}:{municipality_id}"


class ProcrastinateQueue:
    """The job seam (`service.platform.jobqueue.JobQueue`) on procrastinate. In the web
    process it only defers; `work()` runs a worker in this process."""

    def __init__(self, database_url: str, clock: Clock, municipality_ids: Iterable[str],
                 closed_dates: frozenset[date] = frozenset(), *,
                 heartbeat: float = HEARTBEAT_SECONDS,
                 stalled_check_every: timedelta = STALLED_CHECK_EVERY) -> None:
        self.clock = clock
        self.municipality_ids = tuple(municipality_ids)
        self.closed_dates = closed_dates
        self.heartbeat = heartbeat
        self.stalled_after = STALLED_HEARTBEATS * heartbeat
        self._conninfo = psycopg_conninfo(database_url)
        self.app = App(connector=PsycopgConnector(conninfo=self._conninfo,
                                                  min_size=1, max_size=4))
        self._specs: SpecTable = {}
        self._closed: dict[str, frozenset[date]] = {}
        self._registered: set[str] = set()
        self._pending: set[asyncio.Task[Any]] = set()
        self._open = False
        self._register_retry_stalled(stalled_check_every)

    # -- declaring -------------------------------------------------------------------------

    def declare(self, specs: Iterable[JobSpec], municipality_id: str | None = None,
                closed_dates: frozenset[date] | None = None) -> None:
        """The jobs of `municipality_id` (of every municipality of the queue when None: a
        deployment of many declares each one's own, bound to its services; one task per
        job name runs the declaration of the municipality it was deferred for)."""
        specs = list(specs)
        declare_into(self._specs, specs, municipality_id)
        if municipality_id is not None and closed_dates is not None:
            self._closed[municipality_id] = closed_dates
        ids = self.municipality_ids if municipality_id is None else (municipality_id,)
        for spec in specs:
            self._register(spec, ids)

    def _spec(self, job: str, municipality_id: str) -> JobSpec:
        spec = spec_for(self._specs, job, municipality_id)
        if spec is None:
            raise KeyError(f"unknown job {job!r} for {municipality_id!r}")
        return spec

    def _register(self, spec: JobSpec, municipality_ids: Iterable[str]) -> None:
        name = spec.name
        if name not in self._registered:
            self._registered.add(name)

            async def run(municipality_id: str, reason: str = "") -> None:
                await self._spec(name, municipality_id).run(municipality_id,
                                                            (reason or "request",))

            self.app.task(name=name, retry=RetryStrategy(
                max_attempts=spec.retry.attempts, wait=spec.retry.wait_seconds,
                exponential_wait=spec.retry.exponential_seconds))(run)

            async def every(timestamp: int, municipality_id: str) -> None:
                await self.defer(name, municipality_id, "schedule")

            self.app.task(name=f"every:{name}")(every)

            async def daily(timestamp: int, municipality_id: str) -> None:
                at = self._spec(name, municipality_id).daily_at
                now = self.clock.now()
                closed = self._closed.get(municipality_id, self.closed_dates)
                if at is not None and now.hour == at.hour and is_working_day(now.date(),
                                                                             closed):
                    await self.defer(name, municipality_id, "schedule")

            self.app.task(name=f"daily:{name}")(daily)
        for municipality_id in municipality_ids:
            if spec.every is not None:
                self.app.periodic(cron=cron_every(spec.every), periodic_id=municipality_id,
                                  task_kwargs={"municipality_id": municipality_id})(
                    self.app.tasks[f"every:{name}"])
            if spec.daily_at is not None:
                self.app.periodic(cron=f"{spec.daily_at.minute} * * * *",
                                  periodic_id=municipality_id,
                                  task_kwargs={"municipality_id": municipality_id})(
                    self.app.tasks[f"daily:{name}"])

    def _register_retry_stalled(self, every: timedelta) -> None:
        async def retry_stalled(timestamp: int) -> int:
            return await self.retry_stalled_jobs()

        self.app.periodic(cron=cron_every(every))(
            self.app.task(name=RETRY_STALLED, queueing_lock=RETRY_STALLED)(retry_stalled))

        async def remove_old_jobs(timestamp: int) -> None:
            await self.app.job_manager.delete_old_jobs(nb_hours=KEEP_FINISHED_HOURS)

        self.app.periodic(cron="17 3 * * *")(
            self.app.task(name=REMOVE_OLD_JOBS, queueing_lock=REMOVE_OLD_JOBS)(remove_old_jobs))

    async def retry_stalled_jobs(self) -> int:
        """Put back to "todo" every job left "doing" by a worker without a heartbeat."""
        manager = self.app.job_manager
        stalled = list(await manager.get_stalled_jobs(
            seconds_since_heartbeat=self.stalled_after))
        for job in stalled:
            try:
                await manager.retry_job(job)
                log.warning("job %s (%s) of a stopped worker runs again", job.id,
                            job.task_name)
            except UniqueViolation:
                # A run of the same key is already waiting (its queueing lock): that run does
                # the work; this one is closed so that its lock no longer holds the key.
                await manager.finish_job(job, Status.ABORTED, delete_job=False)
                log.warning("job %s (%s) of a stopped worker: a waiting run of it takes over",
                            job.id, job.task_name)
        return len(stalled)

    # -- requesting --------------------------------------------------------------------------

    def request(self, job: str, municipality_id: str, reason: str = "") -> None:
        """Defer soon (a task of this loop); coalesced with a waiting run of the key."""
        if self._specs and spec_for(self._specs, job, municipality_id) is None:
            raise KeyError(f"unknown job {job!r}")
        if not self._open:
            return  # a closed queue takes nothing; the worker's start catches up
        task = asyncio.create_task(self._defer_logged(job, municipality_id, reason or "request"),
                                   name=f"defer:{job}:{municipality_id}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _defer_logged(self, job: str, municipality_id: str, reason: str) -> None:
        try:
            await self.defer(job, municipality_id, reason)
        except Exception:
            # The job's schedule (or the worker's next start) requests it again.
            log.exception("could not defer job %s for %s", job, municipality_id)

    async def defer(self, job: str, municipality_id: str, reason: str, *,
                    coalesce: bool = True) -> int | None:
        """The job's id, or None when a run of the key was already waiting."""
        spec = spec_for(self._specs, job, municipality_id)
        settle = spec.settle if spec is not None else 0.0
        deferrer = self.app.configure_task(
            job, lock=_key(job, municipality_id),
            queueing_lock=_key(job, municipality_id) if coalesce else None,
            schedule_in={"seconds": settle} if settle else None)
        try:
            return await deferrer.defer_async(municipality_id=municipality_id, reason=reason)
        except AlreadyEnqueued:
            return None

    async def run_now(self, job: str, municipality_id: str, reason: str = "manual") -> Status:
        """Defer a run of its own (after one under way, by the lock) and wait until a worker
        has finished it; its final status."""
        spec = spec_for(self._specs, job, municipality_id)
        job_id = await self.defer(job, municipality_id, reason, coalesce=False)
        assert job_id is not None
        deadline = asyncio.get_running_loop().time() + (
            spec.stop_timeout if spec is not None else 60.0) * 2
        while True:
            status = await self.app.job_manager.get_job_status_async(job_id)
            if status in FINISHED:
                return status
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"job {job} ({job_id}) not finished: is a worker running?")
            await asyncio.sleep(0.1)  # a worker's outcome: no notification for it

    async def wait_idle(self, timeout: float = 60) -> None:
        """Wait until every request of this process is in the queue."""
        if self._pending:
            await asyncio.wait_for(asyncio.gather(*self._pending, return_exceptions=True),
                                   timeout)

    # -- life --------------------------------------------------------------------------------

    async def open(self) -> None:
        await self.app.open_async()
        self._open = True

    def start(self) -> None:
        return None  # the web process runs nothing; `work()` does

    async def stop(self) -> None:
        await self.wait_idle()
        self._open = False
        await self.app.close_async()

    async def work(self, *, concurrency: int = 1, install_signal_handlers: bool = True,
                   name: str | None = None, polling_interval: float = 5.0,
                   shutdown_timeout: float | None = None,
                   on_database_back: Callable[[], Awaitable[None]] | None = None,
                   backoff: Backoff | None = None) -> None:
        """Run a worker until stopped (SIGTERM/SIGINT, or this task cancelled): the jobs
        marked `on_start` are requested first, to catch up after a stop. On stop a run
        under way may finish within its job's stop timeout; one that does not is abandoned
        and retried by the next worker.

        A lost database (a restart, a failover, a cut connection) does not end it:
        procrastinate's worker stops when its connection breaks (a side task fails, or a
        query raises), and this waits until the database answers again (`backoff`, one log
        line per attempt), calls `on_database_back` (the caller's own connections) and
        starts a worker again, which catches up as at a start. Only a signal (or
        cancelling) ends it normally; a worker that keeps ending by itself while the
        database answers, or an error that is not the database's, is raised."""
        stop = asyncio.Event()
        signals = on_stop(stop.set) if install_signal_handlers else contextlib.nullcontext()
        backoff = backoff or Backoff()
        loop = asyncio.get_running_loop()
        quick_ends = 0
        with signals:
            while True:
                started = loop.time()
                try:
                    await self._catch_up()
                    await self._one_worker(stop, concurrency=concurrency, name=name,
                                           polling_interval=polling_interval,
                                           shutdown_timeout=shutdown_timeout)
                    if stop.is_set():
                        return
                    cause = "its worker stopped (see the error above)"
                except Exception as exc:  # noqa: BLE001 — sorted just below
                    if stop.is_set():
                        return
                    if not is_database_error(exc):
                        raise
                    cause = _one_line(exc)
                quick_ends = quick_ends + 1 if loop.time() - started < backoff.healthy \
                    else 1
                if quick_ends > backoff.give_up_after:
                    raise WorkerKeepsFailing(
                        f"the job queue's worker ended {quick_ends} times in a row within "
                        f"{backoff.healthy:g} s of its start ({cause}); giving up")
                log.warning("job queue: lost the database (%s); waiting for it", cause)
                if not await self._wait_for_database(stop, backoff):
                    return
                if on_database_back is not None:
                    await on_database_back()
                log.warning("job queue: the database answers again; the worker starts again")

    async def _catch_up(self) -> None:
        for municipality_id in self.municipality_ids:
            for spec in specs_of(self._specs, municipality_id):
                if spec.on_start:
                    await self.defer(spec.name, municipality_id, "start")

    async def _one_worker(self, stop: asyncio.Event, *, concurrency: int, name: str | None,
                          polling_interval: float, shutdown_timeout: float | None) -> None:
        """One procrastinate worker until it ends by itself or `stop` is set (then it is
        stopped gracefully: cancelling `run_worker_async` stops its worker and waits for the
        runs under way, within the graceful timeout)."""
        graceful = shutdown_timeout if shutdown_timeout is not None else max(
            (spec.stop_timeout for spec in self._specs.values()), default=60.0)
        if name:  # a named worker logs as procrastinate.worker.<name>
            _PROCRASTINATE_WORKER.getChild(name).addFilter(_QUIET)
        worker = asyncio.create_task(self.app.run_worker_async(
            concurrency=concurrency, install_signal_handlers=False,
            shutdown_graceful_timeout=graceful, name=name,
            fetch_job_polling_interval=polling_interval,
            update_heartbeat_interval=self.heartbeat, stalled_worker_timeout=self.stalled_after),
            name="procrastinate worker")
        stopping = asyncio.create_task(stop.wait(), name="worker stop")
        try:
            await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not worker.done():
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
        if worker.cancelled():
            return
        worker.result()  # its exception, if it raised one

    async def _wait_for_database(self, stop: asyncio.Event, backoff: Backoff) -> bool:
        """Wait until a new connection answers (True), or `stop` is set (False). Then the
        pool's broken connections are replaced."""
        for attempt, delay in enumerate(backoff.delays(), start=1):
            try:
                connection = await psycopg.AsyncConnection.connect(
                    self._conninfo, connect_timeout=max(int(backoff.connect_timeout), 1))
                try:
                    await connection.execute("SELECT 1")
                finally:
                    await connection.close()
            except (psycopg.Error, OSError) as exc:
                log.warning("job queue: database not answering (attempt %d: %s); next try in "
                            "%g s", attempt, _one_line(exc), delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    return False
                continue
            break
        await self.app.connector.pool.check()  # connections broken by the restart: replaced
        return not stop.is_set()


@dataclass(frozen=True)
class Backoff:
    """How a worker waits for a lost database: `first` seconds, doubling up to `most`; a
    worker that ends within `healthy` seconds of its start `give_up_after` times in a row
    (the database answering between) is a failure it cannot recover from."""

    first: float = 1.0
    most: float = 30.0
    connect_timeout: float = 5.0
    healthy: float = 60.0
    give_up_after: int = 10

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.most)


class WorkerKeepsFailing(RuntimeError):
    """The job queue's worker keeps ending by itself although the database answers."""


def is_database_error(exc: BaseException) -> bool:
    """Whether `exc` is the database going away (a restart, a cut connection, a pool that
    cannot connect), which a worker waits out, rather than a failure of its own."""
    return isinstance(exc, (ConnectorException, psycopg.OperationalError,
                            psycopg.InterfaceError, PoolTimeout, OSError))


def _one_line(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    text = f"{type(exc).__name__}: {exc}"
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    return " ".join(text.split())[:300]


class _QuietDatabaseErrors(logging.Filter):
    """procrastinate logs a side task's failure (and the listener's error) with its
    traceback; when it is the database going away (which `work` waits out, saying so in one
    line) one line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and is_database_error(
                record.exc_info[1]):
            said = " ".join(record.getMessage().split())
            record.msg = f"{said} ({_one_line(record.exc_info[1])})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


_QUIET = _QuietDatabaseErrors()
_PROCRASTINATE_WORKER = logging.getLogger("procrastinate.worker")
_PROCRASTINATE_WORKER.addFilter(_QUIET)
logging.getLogger("procrastinate.utils").addFilter(_QUIET)  # "listener error", as above
