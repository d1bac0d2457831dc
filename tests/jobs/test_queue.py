"""The job catalogue on both runners: the in-process runner (SQLite, the embedded default)
and the PostgreSQL job queue (procrastinate) with a worker started in the test. The same
behaviour tests run on both; the queue's own (deferring from the web process, locks,
stalled jobs of a killed worker, the schema) on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select, text

from bots.delivery import RetryPolicy
from service.clock import SettableClock
from service.config import MunicipalityConfig, Secrets
from service.jobs.queue import ProcrastinateQueue, cron_every, psycopg_conninfo
from service.jobs.runner import JobSpec
from service.keys import DB, JOBS, OUTBOX
from service.platform.crypto import DataCipher
from service.platform.db.models import Case, Meeting, OutboxMessage, PlanningRun
from service.platform.jobqueue import PLAN
from service.wiring.services import Services
from service.wiring.worker import work
from tests.meetings.email_cases import EMPLOYER, body, intake
from tests.support import (
    SOLVER,
    Api,
    SmtpSink,
    mail_config,
    make_secrets,
    smtp_secrets,
    start_api,
    wait_until,
)


def with_runner(config: MunicipalityConfig, runner: str) -> MunicipalityConfig:
    return config.model_copy(update={"jobs": config.jobs.model_copy(update={"runner": runner})})


@dataclass
class Running:
    """The app, and for the job queue a worker in this event loop."""

    api: Api
    runner: str
    worker: asyncio.Task[None] | None = None

    @property
    def municipality(self) -> str:
        return self.api.client.app[JOBS].municipality_ids[0]  # type: ignore[attr-defined]

    async def settle(self) -> None:
        """Until no job of the catalogue waits or runs (each request of the web process in
        the queue first)."""
        jobs = self.api.client.app[JOBS]
        await jobs.wait_idle()
        if self.worker is None:
            return

        async def idle() -> bool:
            assert self.worker is not None and not self.worker.done()
            return not await queued(self.api, "todo", "doing")

        await wait_until(idle, what="no job waiting or running in the queue")


async def queued(api: Api, *statuses: str) -> list[tuple[Any, ...]]:
    """The catalogue's jobs in the queue (not the periodic ticks that request them)."""
    async with api.client.app[DB].read() as session:
        rows = await session.execute(text(
            "SELECT task_name, status::text, lock, queueing_lock FROM procrastinate_jobs "
            "WHERE status::text = ANY(:statuses) AND task_name NOT LIKE '%:%' "
            "AND task_name NOT IN ('retry_stalled_jobs', 'remove_old_jobs') ORDER BY id"),
            {"statuses": list(statuses)})
        return [tuple(row) for row in rows]


async def start_worker(config: MunicipalityConfig, secrets: Secrets, **options: Any
                       ) -> asyncio.Task[None]:
    cipher = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
    return asyncio.create_task(work(config, secrets, cipher, solver=SOLVER,
                                    install_signal_handlers=False, polling_interval=0.1,
                                    **options))


async def stop_worker(worker: asyncio.Task[None]) -> None:
    """As SIGTERM does: the worker finishes what it runs and unregisters."""
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker


async def running(config: MunicipalityConfig, secrets: Secrets, runner: str,
                  on_services: Callable[[Services], None] | None = None
                  ) -> AsyncIterator[Running]:
    config = with_runner(config, runner)
    async for api in start_api(config, secrets):
        worker = None
        if runner == "procrastinate":
            worker = await start_worker(config, secrets, on_services=on_services)
        service = Running(api, runner, worker)
        try:
            yield service
        finally:
            if service.worker is not None:  # (a test may have replaced it)
                await stop_worker(service.worker)


def runner_on(database_url: str) -> str:
    """The in-process runner on SQLite, the job queue on PostgreSQL (`database_url`
    parametrises both)."""
    return "procrastinate" if database_url.startswith("postgresql") else "in_process"


async def planning_runs(api: Api, trigger: str) -> int:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(func.count(PlanningRun.id)).where(
            PlanningRun.trigger == trigger))).scalar_one()


async def proposed(api: Api, case_ref: str) -> int | None:
    """The id of the case's meeting, once planning has proposed one."""
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(Meeting.id).join(Case, Meeting.case_id == Case.id)
                                      .where(Case.case_ref == case_ref))).scalar()


# -- the same behaviour on both runners ----------------------------------------------------


async def test_requests_for_a_plan_while_one_waits_make_one_run(
        database_url: str, demo_config: MunicipalityConfig) -> None:
    runner = runner_on(database_url)
    secrets = make_secrets(database_url)
    async for service in running(demo_config, secrets, runner):
        await service.settle()
        jobs = service.api.client.app[JOBS]
        if service.worker is not None:
            # The queue: no worker while the burst is deferred, so that its first request's
            # run cannot start (after the 50 ms settle pause) before the last request has
            # joined it, however slow a loaded machine makes the ten deferrals.
            await stop_worker(service.worker)
            service.worker = None
        for _ in range(10):
            jobs.request(PLAN, service.municipality, "burst")
        if runner == "procrastinate":
            await jobs.wait_idle()
            assert [job[0] for job in await queued(service.api, "todo")] == [PLAN]
            service.worker = await start_worker(with_runner(demo_config, runner), secrets)
        await service.settle()
        assert await planning_runs(service.api, "burst") == 1


async def test_an_intake_is_planned_by_the_runner(
        database_url: str, demo_config: MunicipalityConfig) -> None:
    runner = runner_on(database_url)
    secrets = make_secrets(database_url)
    async for service in running(demo_config, secrets, runner):
        await intake(service.api, body("q1"))
        await wait_until(partial(proposed, service.api, "q1"),
                         what="a meeting proposed for the case by a planning run")


async def test_mail_refused_for_a_while_is_delivered_once_the_server_takes_it(
        database_url: str, demo_config: MunicipalityConfig, smtp_sink: SmtpSink) -> None:
    runner = runner_on(database_url)
    quick = RetryPolicy(first=timedelta(milliseconds=200), cap=timedelta(milliseconds=400),
                        give_up_after=timedelta(hours=26))

    def quick_retries(services: Services) -> None:
        services.deliverer.senders["email"].retry = quick  # type: ignore[attr-defined]

    employer = EMPLOYER
    smtp_sink.refuse[employer] = 451  # the mail server says: later
    secrets = smtp_secrets(database_url, smtp_sink.port)
    async for service in running(mail_config(demo_config), secrets, runner, quick_retries):
        if runner == "in_process":  # the web process delivers
            service.api.client.app[OUTBOX].senders["email"].retry = quick  # type: ignore[attr-defined]
        await intake(service.api, body("r1"))

        async def employer_mail_tried(api: Api = service.api) -> bool:
            async with api.client.app[DB].read() as session:
                rows = (await session.execute(select(OutboxMessage).where(
                    OutboxMessage.recipient == employer))).scalars().all()
            return bool(rows) and all(r.attempts >= 1 and r.status != "sent" for r in rows)

        await wait_until(employer_mail_tried, what="a refused try of the employer's mail")
        smtp_sink.refuse.clear()
        await smtp_sink.wait_for(lambda m: m["To"] == employer)
        await service.settle()
        assert len(smtp_sink.to(employer)) == 1


# -- the job queue itself (PostgreSQL) -----------------------------------------------------


async def test_the_web_process_defers_coalesced_locked_jobs_that_a_worker_runs(
        demo_config: MunicipalityConfig, postgres_url: str) -> None:
    config = with_runner(demo_config, "procrastinate")
    secrets = make_secrets(postgres_url)
    async for api in start_api(config, secrets):
        await intake(api, body("w1"), body("w2", citizen={"name": "Eva Holm"}))
        await api.client.app[JOBS].wait_idle()
        key = f"plan:{config.municipality.id}"
        # Two intakes, one waiting planning run, under the plan lock; the web ran nothing.
        assert [row for row in await queued(api, "todo") if row[0] == PLAN] == [
            (PLAN, "todo", key, key)]
        assert await planning_runs(api, "change") == 0
        worker = await start_worker(config, secrets)
        try:
            await wait_until(partial(planning_runs, api, "change"),
                             what="the intakes' planning run by the worker")
            await wait_until(partial(proposed, api, "w1"), what="a meeting proposed for w1")
            # The worker's start asked for a plan too: the waiting one was that run (once the
            # queue has marked the run done — under load a moment after its plan is stored —
            # no plan waits or runs, and no second run was made).

            async def no_plan_queued(api: Api = api) -> bool:
                return not [row for row in await queued(api, "todo", "doing")
                            if row[0] == PLAN]

            await wait_until(no_plan_queued, what="no planning run waiting or running")
            assert await planning_runs(api, "change") == 1
            assert await planning_runs(api, "start") == 0
        finally:
            await stop_worker(worker)


async def kill_worker_mid_job(api: Api, job_id: int | None) -> None:
    """As a worker SIGKILLed mid-job leaves it: its row with a heartbeat long gone, the
    job "doing" under it."""
    async with api.client.app[DB].write() as session:
        dead = (await session.execute(text(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '1 hour') RETURNING id"))).scalar_one()
        await session.execute(text(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :worker "
            "WHERE id = :job"), {"worker": dead, "job": job_id})


@pytest.mark.parametrize("coalesced", [False, True], ids=["alone", "with_a_waiting_run"])
async def test_a_job_of_a_killed_worker_is_run_again(
        coalesced: bool, demo_config: MunicipalityConfig, postgres_url: str) -> None:
    config = with_runner(demo_config, "procrastinate")
    secrets = make_secrets(postgres_url)
    async for api in start_api(config, secrets):
        queue = api.client.app[JOBS]
        assert isinstance(queue, ProcrastinateQueue)
        job_id = await queue.defer(PLAN, config.municipality.id, "killed", coalesce=coalesced)
        await kill_worker_mid_job(api, job_id)
        # The new worker's start asks for a plan: with the killed job's queueing lock free
        # again that is a waiting run, which takes over from the killed one.
        worker = await start_worker(config, secrets, stalled_check_every=timedelta(seconds=1))
        try:
            trigger = "start" if coalesced else "killed"
            await wait_until(partial(planning_runs, api, trigger),
                             what="the killed worker's planning run done again")

            async def killed_job_status(queue: ProcrastinateQueue = queue,
                                        job_id: int | None = job_id) -> str | None:
                assert job_id is not None
                status = (await queue.app.job_manager.get_job_status_async(job_id)).value
                return status if status != "doing" else None

            assert await wait_until(killed_job_status, what="the killed job over") == (
                "aborted" if coalesced else "succeeded")
        finally:
            await stop_worker(worker)


async def test_a_run_abandoned_by_a_stopping_worker_is_retried(
        demo_config: MunicipalityConfig, postgres_url: str) -> None:
    config = with_runner(demo_config, "procrastinate")
    secrets = make_secrets(postgres_url)
    started = asyncio.Event()

    def plans_hang(services: Services) -> None:
        async def hang(trigger: str = "manual") -> Any:
            started.set()
            await asyncio.Event().wait()  # longer than the worker's stop waits

        services.planner.run_once = hang  # type: ignore[method-assign]

    async for api in start_api(config, secrets):
        queue = api.client.app[JOBS]
        assert isinstance(queue, ProcrastinateQueue)
        job_id = await queue.defer(PLAN, config.municipality.id, "abandoned")
        assert job_id is not None
        worker = await start_worker(config, secrets, on_services=plans_hang,
                                    shutdown_timeout=0.2)
        await asyncio.wait_for(started.wait(), 30)
        await stop_worker(worker)  # what SIGTERM does, past the job's stop timeout
        status = await queue.app.job_manager.get_job_status_async(job_id)
        assert status.value == "todo"  # back in the queue, with backoff
        async with api.client.app[DB].write() as session:  # no waiting for the backoff
            await session.execute(text(
                "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :job"),
                {"job": job_id})
        worker = await start_worker(config, secrets)
        try:
            await wait_until(partial(planning_runs, api, "abandoned"),
                             what="the abandoned planning run done by the next worker")
        finally:
            await stop_worker(worker)


async def test_plan_now_waits_for_the_workers_run(demo_config: MunicipalityConfig,
                                                  postgres_url: str) -> None:
    async for service in running(demo_config, make_secrets(postgres_url), "procrastinate"):
        resp = await service.api.client.post("/api/planning/run",
                                             headers=service.api.auth("manager"))
        assert resp.status == 200
        assert (await resp.json())["status"] in ("OPTIMAL", "FEASIBLE", "ok", "greedy")
        assert await planning_runs(service.api, "manual") == 1


async def test_the_queue_needs_postgresql() -> None:
    from service.config import ConfigError
    with pytest.raises(ConfigError, match=r"\[jobs\] runner"):
        psycopg_conninfo("sqlite:///var/x.db")
    assert psycopg_conninfo("postgresql://u:p@h:5/d") == "postgresql://u:p@h:5/d"


def test_schedules_become_even_cron_ticks() -> None:
    assert cron_every(timedelta(seconds=5)) == "* * * * * */5"
    assert cron_every(timedelta(seconds=0.1)) == "* * * * * */1"
    assert cron_every(timedelta(minutes=2)) == "*/2 * * * *"
    assert cron_every(timedelta(minutes=7)) == "*/6 * * * *"  # never further apart than asked
    assert cron_every(timedelta(hours=3)) == "0 */3 * * *"


async def test_the_daily_tick_requests_at_the_local_hour_on_working_days_only() -> None:
    clock = SettableClock(datetime(2026, 11, 23, 6, 30))  # a Monday, local time
    queue = ProcrastinateQueue("postgresql://u@h/d", clock, ["m1"],
                               closed_dates=frozenset({date(2026, 11, 24)}))

    async def plan(_municipality_id: str, _reasons: tuple[str, ...]) -> None:
        return None

    queue.declare([JobSpec(PLAN, plan, daily_at=time(6, 30))])
    periodic = {(p.task.name, p.periodic_id): p.cron
                for p in queue.app.periodic_registry.periodic_tasks.values()}
    assert periodic[("daily:plan", "m1")] == "30 * * * *"
    requested: list[tuple[str, str, str]] = []

    async def defer(job: str, municipality_id: str, reason: str, **_: Any) -> int:
        requested.append((job, municipality_id, reason))
        return 1

    queue.defer = defer  # type: ignore[method-assign]
    tick = queue.app.tasks["daily:plan"].func
    for moment in (datetime(2026, 11, 23, 6, 30),    # Monday at the schedule: requested
                   datetime(2026, 11, 23, 7, 30),    # another hour
                   datetime(2026, 11, 24, 6, 30),    # the jobcentre's closed date
                   datetime(2026, 11, 28, 6, 30),    # Saturday
                   datetime(2026, 12, 25, 6, 30),    # Christmas Day
                   datetime(2026, 3, 30, 6, 30)):    # Monday after the change to summer time
        clock.set(moment)
        await tick(timestamp=0, municipality_id="m1")
    assert requested == [(PLAN, "m1", "schedule")] * 2


async def test_a_worker_waits_for_a_lost_database_one_line_per_attempt(
        caplog: pytest.LogCaptureFixture) -> None:
    """While the database does not answer, the worker tries again with growing waits and
    says so in one line each time (no traceback); a stop ends the wait."""
    import logging
    import socket

    from service.jobs.queue import Backoff

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    queue = ProcrastinateQueue(f"postgresql://nobody@127.0.0.1:{port}/x",
                               SettableClock(datetime(2026, 11, 23, 10)), ["m1"])
    assert list(itertools.islice(Backoff().delays(), 7)) == [1, 2, 4, 8, 16, 30, 30]
    stop = asyncio.Event()
    caplog.set_level(logging.WARNING, "fasthold.jobs")
    waiting = asyncio.create_task(queue._wait_for_database(
        stop, Backoff(first=0.01, most=0.05, connect_timeout=1)))

    def attempts() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "database not answering" in r.getMessage()]

    await wait_until(lambda: len(attempts()) >= 3, 20, "three attempts")
    stop.set()
    assert await asyncio.wait_for(waiting, 10) is False
    lines = attempts()
    assert [f"attempt {n}:" in r.getMessage() for n, r in enumerate(lines[:3], 1)] == [True] * 3
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)
