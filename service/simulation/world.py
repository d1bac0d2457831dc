"""The service's real use cases, composed as `service.app` composes them, on a virtual clock.

Differences from the web app, each for the simulation's sake: the clock is a `SettableClock`;
the jobs are declared from the same catalog but run when the simulation says (requests are
recorded and run at the next office tick, in the catalog's order), so a run is repeatable;
e-mail, letters and Slack go to in-memory senders; the solver runs in this process.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from bots.email.render import EmailRenderer
from rules.engine import RulesEngine
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.followup.closing import CaseClosing
from service.followup.outcomes import CaseOutcomes
from service.intake.service import IntakeService
from service.jobs.catalog import declare_jobs
from service.jobs.runner import InProcessRunner
from service.kpis.figures import KpiService
from service.meetings.answers import MeetingAnswers
from service.meetings.links import MeetingLinks
from service.meetings.notifications import MeetingNotifier
from service.meetings.owner_change import MeetingsFollowOwner
from service.meetings.reminders import Reminders
from service.meetings.staff import StaffMeetings
from service.outbox.deliverer import OutboxDeliverer
from service.outbox.store import Outbox
from service.planning.consultants import sync_consultants
from service.planning.service import Planner
from service.platform.audit import ReadAudit
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import Case
from service.platform.jobqueue import DELIVER_OUTBOX, PLAN, SEND_REMINDERS
from service.simulation.sinks import MemorySender
from service.simulation.solver import SimulationSolver
from service.simulation.staffing import staffed
from service.slack.notices import SlackNotices
from service.slack.people import SlackPeople
from service.slack.reminders import ConsultantReminders
from service.slack.settings import DEMO_INTAKE_CHANNEL
from service.text.danish import FILTERS, GLOBALS

# The order in which recorded job requests run at a tick: plan first (its proposals are
# mail to deliver), then reminders, then delivery.
JOB_ORDER = (PLAN, SEND_REMINDERS, DELIVER_OUTBOX)


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
        self.db = Database(database_url, clock)
        self.solver = solver
        self.jobs = RecordedJobs()
        self.mail = MemorySender("email")
        self.slack = MemorySender("slack")
        domain = config.mail.from_address.rpartition("@")[2] or "fasthold.local"
        self.outbox = Outbox(clock, self.jobs, self.municipality, domain)
        self.links = MeetingLinks(secret_key, self.municipality, clock)
        # Slack as in the demo: consultants' DMs and the intake channel's posts (in memory).
        self.notices = SlackNotices(config, clock, self.outbox, SlackPeople(config),
                                    DEMO_INTAKE_CHANNEL)
        self.notifier = MeetingNotifier(config, clock, self.links, self.outbox,
                                        EmailRenderer(FILTERS, GLOBALS), self.notices)
        self.reads = ReadAudit(self.db, clock)
        self.intake = IntakeService(self.db, config, clock, RulesEngine(
            config.rules.thresholds()), self.jobs, self.reads, cipher,
            owner_meetings=MeetingsFollowOwner(config, clock, self.notifier))
        self.planner = Planner(self.db, config, clock, solver, self.notifier, time_limit)
        self.deliverer = OutboxDeliverer(self.db, clock, self.municipality,
                                         {"email": self.mail, "slack": self.slack},
                                         on_failed=self.notices.delivery_failed)
        self.reminders = Reminders(self.db, config, clock, self.notifier,
                                   ConsultantReminders(self.db, config, self.notices))
        self.answers = MeetingAnswers(self.db, clock, self.notifier, self.intake, self.jobs)
        self.staff_meetings = StaffMeetings(self.db, self.municipality, self.answers,
                                            self.intake)
        self.closing = CaseClosing(self.db, clock, self.notifier, self.intake, self.jobs)
        self.outcomes = CaseOutcomes(self.db, clock, self.intake, self.jobs)
        self.kpis = KpiService(self.db, config, clock)
        # The catalog's jobs, run by name through the runner (never started: no timers).
        self.runner = InProcessRunner(clock, [self.municipality],
                                      frozenset(config.planning.closed_dates))
        # When planning last ran (UTC): cases registered before it have been through it.
        self.planned_at: datetime | None = None
        # From this day on, mail stays in the outbox (the demo's service sends it).
        self.hold_mail_from: date | None = None
        self.job_seconds: Counter[str] = Counter()
        self.job_runs: Counter[str] = Counter()
        self.runner.declare(declare_jobs(config, self.planner, self.deliverer,
                                         self.reminders))

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

    async def close(self) -> None:
        await self.reads.close()
        await self.db.dispose()
