"""The deadline-at-risk signal, pinned once (`service.intake.signals`): the rule over plain
values, its SQL form saying the same on every case, and the screens that show it — the
dashboard's list, the case list, my cases, the Slack Home tab and the Slack reminder — agreeing
on cases where the old definitions differed (a fast-track deadline in 5 days in absence week
5; absence week 7 reached with the deadline 11 days away; a telephone follow-up)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.intake.case_reads import ListFilters
from service.intake.signals import (
    AT_RISK_WITHIN_DAYS,
    at_risk_condition,
    deadline_at_risk,
    first_meeting_settled,
    handed_over_late,
    may_still_be_handed_over,
)
from service.keys import CASE_READS, DB, KPIS, MY_WORK, REMINDERS, SLACK_HOME
from service.planning.consultants import sync_consultants
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import Case, Consultant, Meeting, OutboxMessage
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import start_slack_api
from tests.slack.test_reminders import FIXED
from tests.support import Api, SmtpSink, today_local

TODAY = date(2026, 12, 1)


def at_risk(deadline_in: int, *, status: str = "target", closed: bool = False,
            settled: bool = False) -> bool:
    return deadline_at_risk(status=status, closed_on=TODAY if closed else None,
                            deadline=TODAY + timedelta(days=deadline_in), settled=settled,
                            today=TODAY)


def test_the_rule() -> None:
    assert AT_RISK_WITHIN_DAYS == 7
    assert at_risk(7) and at_risk(0) and at_risk(-3)  # a week away, today, past
    assert not at_risk(8)
    assert not at_risk(5, settled=True)  # a meeting confirmed or held
    assert not at_risk(5, closed=True)
    assert not at_risk(5, status="excluded") and not at_risk(5, status="incomplete")
    assert deadline_at_risk(status="target", closed_on=None, deadline=TODAY + timedelta(days=12),
                            settled=False, today=TODAY, within_days=14)


async def test_the_sql_form_says_the_same(sqlite_url: str, demo_config: MunicipalityConfig
                                          ) -> None:
    db = Database(sqlite_url, SettableClock(datetime.combine(TODAY, time(10))))
    await upgrade_async(db.url)
    async with db.write() as session:
        await sync_consultants(session, demo_config)
    async with db.read() as session:
        anna = (await session.execute(select(Consultant.id).where(Consultant.key == "anna"))
                ).scalar_one()
    cases: dict[str, tuple[str, date | None, int, str | None]] = {
        # ref: status, closed_on, deadline in days, a meeting's status
        "a": ("target", None, 7, None), "b": ("target", None, 8, None),
        "c": ("target", None, -2, "proposed"), "d": ("target", None, 3, "confirmed"),
        "e": ("target", None, 3, "held"), "f": ("target", TODAY, 3, None),
        "g": ("excluded", None, 3, None), "h": ("target", None, 0, "cancelled"),
        # confirmed for the day after the deadline: it will be late, still at risk
        "i": ("target", None, 3, "confirmed+4"), "j": ("target", None, 3, "confirmed+3"),
        "k": ("target", None, -1, "held+2"),
    }
    try:
        async with db.write() as session:
            for ref, (status, closed, days, meeting) in cases.items():
                case = Case(municipality_id="demo", case_ref=ref, facts={}, as_of=TODAY,
                            status=status, follow_up="workplace_meeting", closed_on=closed,
                            first_meeting_deadline=TODAY + timedelta(days=days),
                            intervention_deadline=TODAY + timedelta(days=40))
                session.add(case)
                await session.flush()
                if meeting is not None:
                    state, _, later = meeting.partition("+")
                    start = datetime.combine(TODAY + timedelta(days=int(later or 0)),
                                             time(10))
                    session.add(Meeting(municipality_id="demo", case_id=case.id,
                                        consultant_id=anna, kind="workplace_meeting",
                                        start=start, end=start + timedelta(hours=1),
                                        status=state))
        async with db.read() as session:
            in_sql = set((await session.execute(select(Case.case_ref).where(
                at_risk_condition(TODAY)))).scalars())
        pure = set()
        for ref, (status, closed, days, meeting) in cases.items():
            state, _, later = (meeting or "").partition("+")
            deadline = TODAY + timedelta(days=days)
            settled = first_meeting_settled(
                held=state == "held", meeting_status=state or None,
                meeting_start=datetime.combine(TODAY + timedelta(days=int(later or 0)),
                                               time(10)), deadline=deadline)
            if deadline_at_risk(status=status, closed_on=closed, deadline=deadline,
                                settled=settled, today=TODAY):
                pure.add(ref)
        assert in_sql == pure == {"a", "c", "h", "i"}
    finally:
        await db.dispose()


@pytest.fixture
async def api(demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
              smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        yield running


async def test_the_screens_agree(api: Api) -> None:
    """Every screen that shows the signal names the same cases."""
    today = today_local()
    app = api.client.app
    await intake(api,
                 # Absence week 5, fast track: its own deadline is in 5 days — at risk
                 # (the Slack copies, counting from absence week 7, said no).
                 body("fast-1", employer=FIXED,
                      first_absence_day=(today - timedelta(days=28)).isoformat(),
                      fast_track_requested_on=(today - timedelta(days=9)).isoformat()),
                 # Absence week 7 reached, the deadline 11 days away: not yet (Slack said yes).
                 body("week7-1", employer=FIXED,
                      first_absence_day=(today - timedelta(days=44)).isoformat()),
                 # A telephone follow-up past its deadline without one held: at risk.
                 body("phone-1", employer=FIXED,
                      first_absence_day=(today - timedelta(days=60)).isoformat(),
                      full_recovery_plan_date=(today + timedelta(days=10)).isoformat()),
                 # The deadline in 5 days, the meeting confirmed: not at risk.
                 body("settled-1", employer=FIXED,
                      first_absence_day=(today - timedelta(days=50)).isoformat()),
                 # The same, but the meeting confirmed for after the deadline: at risk.
                 body("late-1", employer=FIXED,
                      first_absence_day=(today - timedelta(days=50)).isoformat()))
    async with app[DB].write() as session:
        cases = {c.case_ref: c for c in (await session.execute(select(Case))).unique().scalars()}
        owners = {ref: c.owner.key if c.owner else None for ref, c in cases.items()}
        assert owners == dict.fromkeys(cases, "anna")
        assert cases["fast-1"].first_meeting_deadline == today + timedelta(days=5)
        assert cases["phone-1"].follow_up == "telephone"
        meeting = (await session.execute(select(Meeting).where(
            Meeting.case_id == cases["settled-1"].id, Meeting.status == "proposed"))
        ).unique().scalar_one()
        meeting.status = "confirmed"
        late = (await session.execute(select(Meeting).where(
            Meeting.case_id == cases["late-1"].id, Meeting.status == "proposed"))
        ).unique().scalar_one()
        late.status = "confirmed"
        late.start = datetime.combine(cases["late-1"].first_meeting_deadline
                                      + timedelta(days=3), time(10))
        late.end = late.start + timedelta(hours=1)
    expected = {"fast-1", "phone-1", "late-1"}

    dashboard = {c.case_id for c in await app[KPIS].at_risk()}
    intake_staff = Principal(key_id=0, name="test", role="intake", municipality_id="demo")
    listed, _ = await app[CASE_READS].page(intake_staff, ListFilters(shown="all"))
    case_list = {row.case_ref for row in listed if row.at_risk}
    filtered, _ = await app[CASE_READS].page(intake_staff, ListFilters(at_risk=True))
    anna = Principal(key_id=0, name="anna", role="consultant", municipality_id="demo",
                     consultant_key="anna")
    my_cases = {view.case_ref for view in await app[MY_WORK].my_cases(anna, "anna")
                if view.at_risk}
    async with app[DB].read() as session:
        board = await app[SLACK_HOME].dashboard(session, "anna")
    home = {item.case_ref for item in board.action if "fristen er i fare" in item.text}
    consultants = app[REMINDERS].consultants
    assert consultants is not None
    await consultants.send_due(today)
    async with app[DB].read() as session:
        reminded = set((await session.execute(select(Case.case_ref).join(
            OutboxMessage, OutboxMessage.case_id == Case.id).where(
            OutboxMessage.kind == "deadline_at_risk"))).scalars())

    assert dashboard == expected
    assert case_list == {row.case_ref for row in filtered} == expected
    assert my_cases == expected
    assert home == expected
    assert reminded == expected


def test_a_case_may_be_handed_over_until_its_absence_week_7_ends() -> None:
    """One rule for 'handed over late' and 'may still arrive': week 7 is days 43-49."""
    first = date(2026, 11, 30)
    last_of_week_7 = first + timedelta(days=48)
    assert may_still_be_handed_over(first, last_of_week_7)
    assert not may_still_be_handed_over(first, last_of_week_7 + timedelta(days=1))
    assert not handed_over_late(first, last_of_week_7)
    assert handed_over_late(first, last_of_week_7 + timedelta(days=1))
