"""Every background job of the service, with its schedule, in one place.

Each job is an idempotent function of the database's state, keyed by municipality: a planning
run plans what is open, a reminder scan sends what is due and not yet sent, a delivery round
sends what is due (claimed under a lease). So a rerun after a crash or a stop repairs what a
run left half-done, and either runner — in-process or a PostgreSQL job queue — can run them.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from service.config import MunicipalityConfig
from service.jobs.runner import JobSpec, Retry
from service.platform.jobqueue import (
    DELIVER_OUTBOX,
    END_DECLINE_GRACE,
    ERASE_ENDED_CASES,
    IMPORT_CALENDARS,
    PLAN,
    PUBLISH_SLACK_HOME,
    REPORT_KPIS,
    SEND_HELD_INVITATIONS,
    SEND_REMINDERS,
)

if TYPE_CHECKING:
    from service.meetings.reminders import Reminders
    from service.outbox.deliverer import OutboxDeliverer
    from service.planning.service import Planner

# A burst of intakes (a CSV import, a benefits office's batch) becomes one planning run.
PLAN_SETTLE_SECONDS = 0.05
REMINDER_SCAN_EVERY = timedelta(minutes=15)
# Ended cases' personal data are erased at night (local time, working days) and on start.
ERASE_AT = time(2, 30)
# A month that has become final has its figures kept as reported, early in the morning.
REPORT_KPIS_AT = time(5, 0)
# Slack Home tabs: each consultant's is published again only when its content changed.
SLACK_HOME_EVERY = timedelta(minutes=2)
# A solve that runs past its time limit by this much is stopped on shutdown.
PLAN_STOP_GRACE_SECONDS = 30
# On the job queue, a failed run is retried with exponential backoff (3 s, 9 s, 27 s for a
# plan; 2 s, 4 s, … for a delivery round, whose messages keep their own retry schedule).
PLAN_RETRY = Retry(attempts=3, exponential_seconds=3)
DELIVER_RETRY = Retry(attempts=5, exponential_seconds=2)


class HomePublisher(Protocol):
    """Publishes the consultants' home views whose content changed (Slack's Home tab);
    returns how many were published."""

    async def publish_changed(self) -> int: ...


class Scan(Protocol):
    """An idempotent scan of what is due (held invitations, declines' grace); returns how
    many it handled."""

    async def scan(self) -> int: ...


class Eraser(Protocol):
    """Erases the personal data of the cases that ended `[retention] erase_after_days` ago
    (`service.retention`)."""

    async def erase_due(self) -> Any: ...


class MonthReports(Protocol):
    """Keeps the figures of the months that have become final (`service.kpis.reports`);
    returns how many months it kept."""

    async def report_final_months(self) -> int: ...


class CalendarImporter(Protocol):
    """Imports every consultant's own calendar (`service.calendars`); returns how many
    sources were imported."""

    async def import_all(self) -> int: ...


def _trigger(reasons: tuple[str, ...]) -> str:
    return ",".join(sorted(set(reasons)))[:32] or "change"


def declare_jobs(config: MunicipalityConfig, planner: Planner, deliverer: OutboxDeliverer,
                 reminders: Reminders, slack_home: HomePublisher | None = None,
                 calendars: CalendarImporter | None = None,
                 invitations: Scan | None = None, declines: Scan | None = None,
                 erasure: Eraser | None = None, reports: MonthReports | None = None
                 ) -> list[JobSpec]:
    planning = config.planning

    async def plan(_municipality_id: str, reasons: tuple[str, ...]) -> Any:
        return await planner.run_once(_trigger(reasons))

    async def deliver(_municipality_id: str, _reasons: tuple[str, ...]) -> int:
        return await deliverer.deliver_due()

    async def remind(_municipality_id: str, _reasons: tuple[str, ...]) -> int:
        return await reminders.scan()

    async def publish_home(_municipality_id: str, _reasons: tuple[str, ...]) -> int:
        return await slack_home.publish_changed() if slack_home is not None else 0

    async def import_calendars(_municipality_id: str, _reasons: tuple[str, ...]) -> int:
        return await calendars.import_all() if calendars is not None else 0

    async def send_held(_municipality_id: str, _reasons: tuple[str, ...]) -> int:
        return await invitations.scan() if invitations is not None else 0

    async def end_grace(_municipality_id: str, _reasons: tuple[str, ...]) -> int:
        return await declines.scan() if declines is not None else 0

    async def erase(_municipality_id: str, _reasons: tuple[str, ...]) -> Any:
        return await erasure.erase_due() if erasure is not None else None

    async def report(_municipality_id: str, _reasons: tuple[str, ...]) -> int:
        return await reports.report_final_months() if reports is not None else 0

    # Held invitations (`after_calls`) and declines' grace: counted in working days, so a
    # scan on start and every reminder interval finds what came due.
    scans = ([JobSpec(SEND_HELD_INVITATIONS, send_held, on_start=True,
                      every=REMINDER_SCAN_EVERY)] if invitations is not None else []) + (
        [JobSpec(END_DECLINE_GRACE, end_grace, on_start=True, every=REMINDER_SCAN_EVERY)]
        if declines is not None else [])
    imports = [] if calendars is None else [
        # Consultants' own calendars: on start and every `[calendars] every_minutes`; an
        # import that changed someone's busy time requests a planning run itself.
        JobSpec(IMPORT_CALENDARS, import_calendars, on_start=True,
                every=timedelta(minutes=config.calendars.every_minutes))]
    slack = [] if slack_home is None else [
        # Slack Home tabs (with a bot token only): when a consultant was told something,
        # after Slack actions, when a tab is opened, and on a poll for other changes.
        JobSpec(PUBLISH_SLACK_HOME, publish_home, every=SLACK_HOME_EVERY,
                settle=PLAN_SETTLE_SECONDS)]
    # `[retention]`: once a night, and on start (a service stopped over night catches up).
    erasing = [] if erasure is None else [
        JobSpec(ERASE_ENDED_CASES, erase, on_start=True, daily_at=ERASE_AT)]
    # The months' figures as reported: once a morning, and on start (catching up).
    reporting = [] if reports is None else [
        JobSpec(REPORT_KPIS, report, on_start=True, daily_at=REPORT_KPIS_AT)]
    return slack + imports + scans + erasing + reporting + [
        # Planning: on every change that may alter it, and the daily schedule (working
        # mornings) that re-plans with the day's calendars.
        JobSpec(PLAN, plan, on_start=True, settle=PLAN_SETTLE_SECONDS,
                daily_at=time.fromisoformat(planning.schedule_time)
                if planning.schedule_enabled else None,
                interruptible=lambda: planner.solving,
                stop_timeout=planner.time_limit + PLAN_STOP_GRACE_SECONDS,
                retry=PLAN_RETRY),
        # Outbox delivery: after each commit that enqueued something, and on a poll for
        # retries that have come due.
        JobSpec(DELIVER_OUTBOX, deliver, on_start=True,
                every=timedelta(seconds=config.mail.poll_seconds),
                on_stop=deliverer.stop_soon, retry=DELIVER_RETRY),
        # Employer reminders (the scan itself keeps to daytime hours).
        JobSpec(SEND_REMINDERS, remind, on_start=True, every=REMINDER_SCAN_EVERY),
    ]
