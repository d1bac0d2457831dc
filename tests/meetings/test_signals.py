"""A meeting's signals, pinned once (`service.meetings.signals`): the employer has not answered
in N working days (the local date of the invitation, Danish working days, N from the
configuration, workplace invitations only), the employer can still change a confirmed
meeting (until 24 hours before), the meeting is tomorrow; and every screen that tells of the
employer's silence — the employer's reminder, the consultant's Slack reminder, the Slack Home
tab, `/deliveries` and my cases — agreeing on an invitation sent just after midnight, where
the copies counting from the UTC date said one day too early that the employer was silent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from service.config import MunicipalityConfig
from service.keys import CONFIG, DB, MY_WORK, REMINDERS, SLACK_HOME, UNANSWERED
from service.meetings.signals import (
    CHANGE_UNTIL,
    UnansweredRule,
    can_change,
    invited_on,
    reminder_due,
    working_days_between,
)
from service.platform.auth import Principal
from service.platform.db.models import Case, Meeting, OutboxMessage
from service.platform.workdays import add_working_days
from service.text.danish import coming_day
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import start_slack_api
from tests.slack.test_reminders import FIXED
from tests.support import Api, SmtpSink, mail_config, today_local

CPH = ZoneInfo("Europe/Copenhagen")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local wall-clock moment as the UTC timestamp `invited_at` stores."""
    return datetime.combine(day, time(hour, minute), tzinfo=CPH).astimezone(UTC)


def test_the_employer_is_silent(demo_config: MunicipalityConfig) -> None:
    rule = UnansweredRule.configured(demo_config, CPH)
    assert rule.after_working_days == demo_config.mail.reminder_after_working_days == 2

    def silent(invited: datetime, today: date, **kw: str | None) -> bool:
        meeting = {"kind": "workplace_meeting", "status": "proposed",
                   "employer_answer": None} | kw
        return rule.due(kind=str(meeting["kind"]), status=str(meeting["status"]),
                        invited_at=invited, employer_answer=meeting["employer_answer"],
                        today=today)

    # Monday 2026-11-30 12:00: two working days later is Wednesday.
    monday = local(date(2026, 11, 30), 12)
    assert not silent(monday, date(2026, 12, 1)) and silent(monday, date(2026, 12, 2))
    # 00:30 on Tuesday in Copenhagen is Monday 23:30 UTC: the invitation went out on Tuesday.
    night = local(date(2026, 12, 1), 0, 30)
    assert night.date() == date(2026, 11, 30) and invited_on(night, CPH) == date(2026, 12, 1)
    assert not silent(night, date(2026, 12, 2)) and silent(night, date(2026, 12, 3))
    # Weekends and public holidays are no working days (Christmas Day, Boxing Day).
    christmas_eve = local(date(2026, 12, 24), 10)
    assert not silent(christmas_eve, date(2026, 12, 28))
    assert silent(christmas_eve, date(2026, 12, 29))
    assert working_days_between(date(2026, 12, 24), date(2026, 12, 29)) == 2
    # Only a workplace invitation waits for the employer; an answer ends the silence.
    assert not silent(monday, date(2026, 12, 9), kind="jobcenter_meeting")
    assert not silent(monday, date(2026, 12, 9), status="confirmed")
    assert not silent(monday, date(2026, 12, 9), employer_answer="other_times")
    # N from the configuration ([mail] reminder_after_working_days).
    three = UnansweredRule.configured(mail_config(demo_config, reminder_after_working_days=3),
                                      CPH)
    assert not three.due(kind="workplace_meeting", status="proposed", invited_at=monday,
                         employer_answer=None, today=date(2026, 12, 2))
    assert three.due(kind="workplace_meeting", status="proposed", invited_at=monday,
                     employer_answer=None, today=date(2026, 12, 3))


def test_can_change_and_the_reminder_on_the_working_day_before() -> None:
    start = datetime(2026, 12, 10, 9, 0)  # a Thursday
    assert CHANGE_UNTIL == timedelta(hours=24)
    assert can_change(start, start - timedelta(hours=24, minutes=1))
    assert not can_change(start, start - timedelta(hours=24))
    assert not can_change(start, start + timedelta(hours=1))
    assert reminder_due(start, date(2026, 12, 9))
    assert not reminder_due(start, date(2026, 12, 10))
    assert not reminder_due(start, date(2026, 12, 8))
    # A Monday meeting: on Friday (the employer and the consultant read their mail and Slack
    # on working days), or at the weekend when it was confirmed after Friday's reminders.
    monday = datetime(2026, 12, 14, 10, 0)
    assert [d.day for d in (date(2026, 12, 10) + timedelta(days=n) for n in range(5))
            if reminder_due(monday, d)] == [11, 12, 13]
    # After Easter (Thursday 25 March 2027 to Monday 29 March): on Wednesday the 24th; a
    # closed date of the jobcentre is skipped too.
    easter = datetime(2027, 3, 30, 9, 0)
    assert reminder_due(easter, date(2027, 3, 24)) and reminder_due(easter, date(2027, 3, 29))
    assert not reminder_due(easter, date(2027, 3, 23))
    assert reminder_due(start, date(2026, 12, 8), frozenset({date(2026, 12, 9)}))
    assert coming_day(date(2026, 12, 10), date(2026, 12, 9)) == "i morgen"
    assert coming_day(date(2026, 12, 14), date(2026, 12, 11)) == "på mandag"
    assert coming_day(date(2027, 3, 30), date(2027, 3, 24)) == "på tirsdag"
    assert coming_day(date(2027, 1, 4), date(2026, 12, 23)) == "den 4. januar"


def night_before_due(today: date, after: int) -> date:
    """A local day L whose UTC day before (L - 1) counts `after` working days by `today`
    while L itself does not: an invitation sent at 00:30 on L."""
    for back in range(1, 20):
        day = today - timedelta(days=back)
        if add_working_days(day - timedelta(days=1), after) <= today < add_working_days(
                day, after):
            return day
    raise AssertionError("no such day")


@pytest.fixture
async def api(demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
              smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        yield running


async def test_the_screens_agree_on_the_silent_employer(api: Api) -> None:
    app, today = api.client.app, today_local()
    after = app[CONFIG].mail.reminder_after_working_days
    night = night_before_due(today, after)
    await intake(api, body("night-1", employer=FIXED), body("noon-1", employer=FIXED))
    invited = {"night-1": local(night, 0, 30),  # not silent long enough yet
               "noon-1": local(night - timedelta(days=1), 12)}  # silent for N working days
    async with app[DB].write() as session:
        for meeting in (await session.execute(select(Meeting).where(
                Meeting.status == "proposed"))).unique().scalars():
            meeting.invited_at = invited[meeting.case.case_ref]
            meeting.case.citizen_called_at = meeting.case.employer_called_at = \
                local(night, 9)

    await app[REMINDERS].send_due(today)  # the employer's reminder e-mail
    consultants = app[REMINDERS].consultants
    assert consultants is not None
    await consultants.send_due(today)  # the consultant's Slack reminder
    async with app[DB].read() as session:
        sent = set((await session.execute(select(OutboxMessage.kind, Case.case_ref).join(
            Case, Case.id == OutboxMessage.case_id).where(OutboxMessage.kind.in_((
                "employer_reminder", "employer_no_answer"))))).all())
        board = await app[SLACK_HOME].dashboard(session, "anna")
    intake_staff = Principal(key_id=0, name="test", role="intake", municipality_id="demo")
    anna = Principal(key_id=0, name="anna", role="consultant", municipality_id="demo",
                     consultant_key="anna")

    reminded = {ref for kind, ref in sent if kind == "employer_reminder"}
    slack_reminded = {ref for kind, ref in sent if kind == "employer_no_answer"}
    home = {item.case_ref for item in board.action if "ikke svaret" in item.text}
    deliveries = {row.case_ref for row in await app[UNANSWERED].list(intake_staff)}
    chase = {view.case_ref for view in await app[MY_WORK].my_cases(anna, "anna")
             if view.next_action is not None and view.next_action.code == "chase_employer"}
    assert reminded == slack_reminded == home == deliveries == chase == {"noon-1"}
