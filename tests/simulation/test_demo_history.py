"""`fasthold demo`'s history: half a year of the demo municipality simulated into the demo's
database through the real use cases — once: starting again adds nothing, `--reset` starts
afresh — so that the manager's dashboard has every figure, against a milestone, for the
months the history covers."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.clock import SettableClock, zone
from service.commands.demo import _reset
from service.config import MunicipalityConfig
from service.kpis.figures import FIGURES, KpiService, MonthKpis, milestone_for, month_start
from service.kpis.report import add_months, default_range
from service.platform.crypto import DataCipher, new_data_key
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import AuditEntry, Case, Meeting, OutboxMessage
from service.simulation.history import (
    DEFAULT_WEEKS,
    HISTORY_PREFIX,
    History,
    covered_months,
    first_day_of_history,
    seed_history,
)
from tests.support import SYSTEM_CLOCK

NOW = datetime(2026, 11, 19, 11, 30)
SECRET = "demo-history-test-secret-" + "x" * 32
# Counts every covered month must have above zero (the others may be 0: few telephone
# follow-ups, no meeting more than 3 weeks late in a month, …); every share must be there.
COUNTS = ("target_cases", "first_meetings", "first_meetings_workplace", "employer_took_part",
          "before_week8", "week8_ended", "week13_ended", "intervention_before_week13")


@dataclass(frozen=True)
class Seeded:
    url: str
    path: Path
    cipher: DataCipher
    history: History


@pytest.fixture(scope="module")
def seeded(demo_config: MunicipalityConfig, tmp_path_factory: pytest.TempPathFactory
           ) -> Seeded:
    """The demo's history as `fasthold demo` seeds it: its configuration, its default
    length."""
    path = tmp_path_factory.mktemp("demo-history") / "demo.db"
    url = f"sqlite+aiosqlite:///{path}"
    cipher = DataCipher.from_env_values(new_data_key())
    history = asyncio.run(seed_history(demo_config, url, cipher, SECRET, NOW, DEFAULT_WEEKS))
    assert history is not None
    return Seeded(url, path, cipher, history)


async def _state(url: str) -> dict[str, object]:
    db = Database(url, SYSTEM_CLOCK)
    try:
        async with db.read() as session:
            cases = (await session.execute(select(func.count(Case.id)))).scalar_one()
            refs = set((await session.execute(select(Case.case_ref))).scalars())
            statuses = dict((await session.execute(select(Meeting.status, func.count(
                Meeting.id)).group_by(Meeting.status))).all())
            closed = (await session.execute(select(func.count(Case.id)).where(
                Case.closed_on.is_not(None)))).scalar_one()
            case_statuses = set((await session.execute(select(Case.status))).scalars())
            pending = (await session.execute(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.status == "pending"))).scalar_one()
        return {"cases": cases, "refs": refs, "meetings": statuses, "closed": closed,
                "pending": pending, "statuses": case_statuses}
    finally:
        await db.dispose()


async def _months(config: MunicipalityConfig, url: str, first: date | None, last: date
                  ) -> tuple[date | None, list[MonthKpis]]:
    """The dashboard's first month with a case, and the figures from `first` (by default
    that month) to `last`."""
    clock = SettableClock(NOW, config.municipality.timezone)
    db = Database(url, clock)
    try:
        kpis = KpiService(db, config, clock)
        earliest = await kpis.first_month()
        return earliest, await kpis.monthly(first or earliest or last, last)
    finally:
        await db.dispose()


def test_history_is_seeded_once_and_reset_starts_afresh(demo_config: MunicipalityConfig,
                                                        seeded: Seeded) -> None:
    history = seeded.history
    assert history.first_day == first_day_of_history(NOW, DEFAULT_WEEKS)
    assert history.cases > 200
    first = asyncio.run(_state(seeded.url))
    assert first["cases"] == history.cases
    assert all(ref.startswith(f"{HISTORY_PREFIX}-") for ref in first["refs"])  # type: ignore[attr-defined]
    meetings = first["meetings"]
    assert isinstance(meetings, dict)
    for status in ("proposed", "confirmed", "held", "not_held", "cancelled"):
        assert meetings.get(status, 0) > 0, (status, meetings)
    assert first["closed"] > 0
    # Cases in every state the rules give.
    assert first["statuses"] == {"target", "excluded", "not_target", "incomplete"}
    # The last planning run's invitations wait for the demo service to send them.
    assert first["pending"] > 0

    again = asyncio.run(seed_history(demo_config, seeded.url, seeded.cipher, SECRET, NOW,
                                     DEFAULT_WEEKS))
    assert again is None
    assert asyncio.run(_state(seeded.url)) == first

    # --reset on a copy (the history is shared with the KPI test): gone, then seeded afresh
    # (a week is enough to show it).
    copy = seeded.path.with_name("reset.db")
    shutil.copy(seeded.path, copy)
    url = f"sqlite+aiosqlite:///{copy}"
    assert asyncio.run(_state(url))["cases"] == history.cases
    assert _reset(url) is None
    assert not copy.exists()
    fresh = asyncio.run(seed_history(demo_config, url, seeded.cipher, SECRET, NOW, 1))
    assert fresh is not None and 0 < asyncio.run(_state(url))["cases"] == fresh.cases


async def _letters(url: str) -> tuple[list[datetime], int, set[str]]:
    """When each letter still waiting to be printed was written (UTC), how many letters
    were printed, and who marked letters as printed (the audit's actors)."""
    db = Database(url, SYSTEM_CLOCK)
    try:
        async with db.read() as session:
            waiting = [as_utc(at) for at in (await session.execute(
                select(OutboxMessage.created_at).where(
                    OutboxMessage.channel == "letter", OutboxMessage.status == "to_print")
            )).scalars()]
            printed = (await session.execute(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.channel == "letter", OutboxMessage.status == "printed",
                OutboxMessage.sent_at.is_not(None)))).scalar_one()
            actors = set((await session.execute(select(AuditEntry.actor).where(
                AuditEntry.action == "outbox.printed"))).scalars())
        return waiting, printed, actors
    finally:
        await db.dispose()


def test_intake_printed_the_letters_of_every_day_before_the_last(
        demo_config: MunicipalityConfig, seeded: Seeded) -> None:
    """The history's intake staff print the day's letters at midday (the outbox's use
    cases, audited): "Breve til print" holds only those written since the last working
    day's midday (the history ends before today's)."""
    waiting, printed, actors = asyncio.run(_letters(seeded.url))
    assert printed > 100 and printed == seeded.history.counters["letters_printed"]
    assert actors == {"intake:simulering-intake"}
    # NOW is a Thursday before midday: the last printing was Wednesday's
    last_midday = datetime.combine(NOW.date() - timedelta(days=1), time(12, 0),
                                   zone(demo_config.municipality.timezone)).astimezone(UTC)
    assert all(at >= last_midday for at in waiting), (min(waiting), last_midday)


def test_the_dashboard_has_every_figure_for_the_months_the_history_covers(
        demo_config: MunicipalityConfig, seeded: Seeded) -> None:
    covered = covered_months(seeded.history.first_day, NOW.date(),
                             demo_config.rules.intervention_deadline_days)
    assert covered == [date(2026, 9, 1), date(2026, 10, 1)]
    earliest, months = asyncio.run(_months(demo_config, seeded.url, covered[0], covered[-1]))
    # They are among the dashboard's default months, each against its milestone.
    shown = default_range(NOW.date(), earliest, demo_config.milestones)
    assert shown[0] <= covered[0] and covered[-1] <= shown[1]
    for kpis in months:
        for key in COUNTS:
            assert kpis.value(key), (kpis.label, key, kpis.to_dict())
        for figure in FIGURES:
            assert kpis.value(figure.key) is not None, (kpis.label, figure.key)
            if figure.milestone is not None:
                assert kpis.target(figure.key) is not None, (kpis.label, figure.key)
        # The counts add up (each first meeting has one place).
        assert kpis.first_meetings == (kpis.first_meetings_workplace
                                       + kpis.first_meetings_jobcentre
                                       + kpis.first_meetings_phone)
    # The months before show the history's figures too, from its first month against
    # milestones, and the consultants in the new role reach the month that is running.
    history_month = month_start(seeded.history.first_day)
    _, months = asyncio.run(_months(demo_config, seeded.url, history_month,
                                    month_start(NOW.date())))
    assert all(k.milestone is not None for k in months)
    assert all(k.first_meetings > 0 for k in months[1:])


def test_milestones_run_from_the_history_into_the_next_half_year(
        demo_config: MunicipalityConfig) -> None:
    """`config/demo.toml`'s monthly milestones: from the history's first month to at least
    six months past today, rising toward the 70 % goal."""
    first = month_start(first_day_of_history(NOW, DEFAULT_WEEKS))
    month = first
    while month <= add_months(month_start(NOW.date()), 6):
        milestone = milestone_for(demo_config.milestones, month)
        assert milestone is not None and milestone.month == f"{month:%Y-%m}", month
        month = add_months(month, 1)
    shares = [m.workplace_first_meeting_share for m in demo_config.milestones]
    assert shares == sorted(shares) and shares[-1] == 0.70
    assert all(m.intervention_before_week13_share is not None for m in demo_config.milestones)


def test_the_default_history_covers_two_months_on_any_day() -> None:
    day = datetime(2026, 1, 1, 9, 0)
    for _ in range(366):
        covered = covered_months(first_day_of_history(day, DEFAULT_WEEKS), day.date(), 90)
        assert len(covered) >= 2, (day, covered)
        assert covered[-1] == add_months(month_start(day.date()), -1)
        day += timedelta(days=1)


def test_reset_refuses_a_database_it_does_not_own() -> None:
    problem = _reset("postgresql://fasthold@db.example/fasthold")
    assert problem is not None and "FASTHOLD_DATABASE_URL" in problem
