"""The service's real use cases, built by the app's builder (`service.wiring`), on a virtual
clock.

Differences from the web app, each for the simulation's sake: the clock is a `SettableClock`;
the jobs are declared from the same catalog but run when the simulation says (requests are
recorded and run at the next office tick, in the catalog's order), so a run is repeatable;
e-mail, letters and Slack go to in-memory senders; the solver runs in this process; the
consultants' Slack messages are not made (`service.slack.quiet`: nobody reads them, and the
simulated consultants act on the rules) — but on the demo's last day, whose messages the demo's
Slack page shows.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.jobs.runner import InProcessRunner
from service.planning.consultants import sync_consultants
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import Case
from service.platform.jobqueue import (
    DELIVER_OUTBOX,
    END_DECLINE_GRACE,
    PLAN,
    SEND_HELD_INVITATIONS,
    SEND_REMINDERS,
)
from service.simulation.sinks import MemorySender
from service.simulation.solver import SimulationSolver
from service.simulation.staffing import staffed
from service.wiring.services import SLACK_IN_MEMORY, build_services

# The order in which recorded job requests run at a tick: plan first (its proposals are
# mail to deliver), then reminders, then delivery.
JOB_ORDER = (PLAN, SEND_REMINDERS, SEND_HELD_INVITATIONS, END_DECLINE_GRACE, DELIVER_OUTBOX)


@dataclass
class RecordedJobs:
    """The simulation's job queue: a request is remembered (many make one run, as in the
    in-process runner) until the simulation's next tick runs it."""

    wanted: dict[str, list[str]] = field(default_factory=dict)

    def request(self, job: str, municipality_id: str, reason: str = "") -> None:
        self.wanted.setdefault(job, []).append(reason or "request")

    def take(self, job: str) -> list[str] | None:
        return self.wanted.pop(job, None)


class World:
    """Every use case the simulation drives, on one database and one virtual clock."""

    def __init__(self, config: MunicipalityConfig, database_url: str, clock: SettableClock,
                 solver: SimulationSolver, cipher: DataCipher, secret_key: str,
                 time_limit: float) -> None:
        self.config = config
        self.clock = clock
        self.cipher = cipher
        self.municipality = config.municipality.id
        self.db = Database(database_url, clock, inline=True)
        self.solver = solver
        self.jobs = RecordedJobs()
        self.mail = MemorySender("email")
        self.slack = MemorySender("slack")
        # The app's services (`service.wiring`), Slack as in the demo: consultants' messages
        # and the intake channel's posts go to memory.
        self.services = build_services(
            config, self.db, clock, self.jobs, cipher=cipher, secret_key=secret_key,
            solver=solver, senders={"email": self.mail, "slack": self.slack},
            slack=SLACK_IN_MEMORY, planning_time_limit=time_limit, quiet_slack=True)
        services = self.services
        self.outbox, self.links, self.notifier = services.outbox, services.links, \
            services.notifier
        self.reads, self.intake, self.planner = services.reads, services.intake, \
            services.planner
        self.deliverer, self.reminders, self.answers = services.deliverer, \
            services.reminders, services.answers
        self.staff_meetings, self.closing = services.staff_meetings, services.closing
        self.outcomes, self.kpis = services.outcomes, services.kpis
        self.outbox_service = services.outbox_service
        # The catalog's jobs, run by name through the runner (never started: no timers).
        self.runner = InProcessRunner(clock, [self.municipality],
                                      config.planning.closed())
        # When planning last ran (UTC): cases registered before it have been through it.
        self.planned_at: datetime | None = None
        # From this day on, mail stays in the outbox (the demo's service sends it).
        self.hold_mail_from: date | None = None
        # Whether intake staff print the letters to citizens each day (`office.print_letters`):
        # in the demo's history, so "Breve til print" holds what today left, as in an office
        # that keeps up; not in `simulate`, whose figures no letter changes.
        self.prints_letters = False
        self.job_seconds: Counter[str] = Counter()
        self.job_runs: Counter[str] = Counter()
        self.runner.declare(services.job_specs())

    async def open(self) -> None:
        await upgrade_async(self.db.url, self.cipher)
        await self.intake.check_data_keys()

    async def has_cases(self) -> bool:
        async with self.db.read() as session:
            return (await session.execute(select(Case.id).where(
                Case.municipality_id == self.municipality).limit(1))).first() is not None

    async def staff(self, in_role: int, month: date) -> None:
        """Who does workplace meetings from this month (the staffing plan)."""
        config = self.config.model_copy(update={
            "consultants": staffed(self.config, in_role, month)})
        async with self.db.write() as session:
            await sync_consultants(session, config)

    async def run_job(self, job: str, reason: str) -> None:
        started = time.perf_counter()
        try:
            await self.runner.run_now(job, self.municipality, reason)
        finally:
            self.job_seconds[job] += time.perf_counter() - started
            self.job_runs[job] += 1

    async def tick(self, scheduled: tuple[str, ...] = (), later: tuple[str, ...] = ()
                   ) -> None:
        """Run the jobs that were requested since the last tick (but those in `later`, which
        wait for the next tick), and the `scheduled` ones."""
        holding = self.hold_mail_from is not None and self.clock.today() >= self.hold_mail_from
        if holding:
            self.speak()
        for job in JOB_ORDER:
            if job in later and job not in scheduled:
                continue
            if job == DELIVER_OUTBOX and holding:
                continue
            reasons = self.jobs.take(job)
            if reasons is not None or job in scheduled:
                await self.run_job(job, ",".join(sorted(set(reasons or ["schedule"]))))
                if job == PLAN:
                    self.planned_at = self.clock.utcnow()
        # Planning and reminders put mail in the outbox: deliver it in the same tick.
        if not holding and DELIVER_OUTBOX not in later \
                and self.jobs.take(DELIVER_OUTBOX) is not None:
            await self.run_job(DELIVER_OUTBOX, "after_tick")

    def speak(self) -> None:
        """From now on the consultants' Slack messages are made (the demo's last day)."""
        if self.services.quiet is not None:
            self.services.quiet.quiet = False

    async def close(self) -> None:
        await self.reads.close()
        await self.db.dispose()
