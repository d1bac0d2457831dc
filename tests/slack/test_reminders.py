"""Reminders to consultants in Slack: due ones are sent once — the job run twice, or again
after a restart, sends no duplicate, and one that came due while the service was down is
sent by the next run."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from service.config import MunicipalityConfig
from service.keys import DB, JOBS, REMINDERS
from service.platform.db.models import Case, ConsultantTask, Meeting, OutboxMessage
from service.platform.workdays import previous_working_day
from service.slack.reminders import ConsultantReminders
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import start_slack_api, texts
from tests.support import Api, SmtpSink, today_local, wait_until

FIXED = {"cvr": "29189919", "name": "Fast Kunde A/S", "contact_name": "Lone Berg",
         "contact_email": "lone@fast.example", "address": "Fabriksvej 3, 7451 Sunds",
         "location": {"lat": 56.2, "lon": 9.0}}  # Anna is this employer's fixed consultant
ANNA_DM = "D0DEMO001"


async def consultant_reminders(api: Api) -> ConsultantReminders:
    reminders = api.client.app[REMINDERS].consultants
    assert reminders is not None
    return reminders


async def slack_kinds(api: Api) -> list[str]:
    async with api.client.app[DB].read() as session:
        return sorted((await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.channel == "slack", OutboxMessage.kind.in_((
                "deadline_at_risk", "employer_no_answer", "meeting_tomorrow"))))).scalars())


async def test_reminders_are_sent_once_across_runs_and_restarts(
        demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
        smtp_sink: SmtpSink) -> None:
    today = today_local()
    first = start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port)
    api = await anext(first)
    try:
        # The deadline in 5 days and no meeting confirmed: the deadline is at risk.
        await intake(api, body("late-1", employer=FIXED,
                               first_absence_day=(today - timedelta(days=50)).isoformat()))
        reminders = await consultant_reminders(api)
        assert await reminders.send_due(today) == 1
        assert await reminders.send_due(today) == 0  # the job again: nothing new
        assert await slack_kinds(api) == ["deadline_at_risk"]
        await api.client.app[JOBS].wait_idle()
        await wait_until(lambda: any("Fristen er i fare" in texts(p)
                                     for p in slack_api.conversation(ANNA_DM)))
    finally:
        await first.aclose()
    # The service restarts; meanwhile days pass and the employer has not answered.
    second = start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port)
    api = await anext(second)
    try:
        reminders = await consultant_reminders(api)
        later = today + timedelta(days=7)
        assert await reminders.send_due(later) == 1
        assert await reminders.send_due(later) == 0
        assert await slack_kinds(api) == ["deadline_at_risk", "employer_no_answer"]
        await api.client.app[JOBS].wait_idle()
        await wait_until(lambda: any("har ikke svaret" in texts(p) and "2 arbejdsdage uden svar"
                                     in texts(p) for p in slack_api.conversation(ANNA_DM)))
    finally:
        await second.aclose()
    risk = [p for p in slack_api.conversation(ANNA_DM) if "Fristen er i fare" in texts(p)]
    assert len(risk) == 1


async def test_the_meeting_tomorrow(demo_config: MunicipalityConfig, sqlite_url: str,
                                    slack_api: FakeSlackApi, smtp_sink: SmtpSink) -> None:
    async for api in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        await intake(api, body("tomorrow-1", employer=FIXED))
        async with api.client.app[DB].write() as session:
            meeting = (await session.execute(select(Meeting))).unique().scalar_one()
            meeting.status = "confirmed"
            day_before = previous_working_day(meeting.start.date())
        reminders = await consultant_reminders(api)
        assert await reminders.send_due(previous_working_day(day_before)) == 0
        assert await reminders.send_due(day_before) == 1
        assert await reminders.send_due(day_before) == 0
        assert await slack_kinds(api) == ["meeting_tomorrow"]


async def test_an_agreement_due_today_is_reminded_once_without_its_words(
        demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
        smtp_sink: SmtpSink) -> None:
    """Issue 20: an agreement of the minutes is the owner's task with its due date; on that
    day the owner gets "Aftale forfalder i dag" in Slack, once per task (a done one never)."""
    today = today_local()
    async for api in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        await intake(api, body("agree-1", employer=FIXED))
        async with api.client.app[DB].write() as session:
            case = (await session.execute(select(Case))).unique().scalar_one()
            assert case.owner_id is not None
            for due, done in ((today, None), (today + timedelta(days=1), None),
                              (today, datetime(2026, 1, 1))):
                session.add(ConsultantTask(
                    municipality_id="demo", consultant_id=case.owner_id, case_id=case.id,
                    kind="agreement", text="Aftale: ring om rygsmerter", due_on=due,
                    created_at=datetime(2026, 1, 1), done_at=done))
        reminders = await consultant_reminders(api)
        assert await reminders.send_due(today) == 1
        assert await reminders.send_due(today) == 0  # the job again: nothing new
        assert await reminders.send_due(today + timedelta(days=1)) == 1  # the second task
        async with api.client.app[DB].read() as session:
            sent = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.kind == "agreement_due"))).scalars().all()
        assert len(sent) == 2
        assert all("Aftale forfalder i dag i sag agree-1" in m.body_text for m in sent)
        assert not any("rygsmerter" in m.body_text + str(m.payload) for m in sent)
        await api.client.app[JOBS].wait_idle()
        await wait_until(lambda: any("Aftale forfalder i dag" in texts(p)
                                     for p in slack_api.conversation(ANNA_DM)))


async def test_a_telephone_follow_up_call_is_reminded_on_its_day(
        demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
        smtp_sink: SmtpSink) -> None:
    """Issue 20 item 4: after the first meeting a telephone follow-up is the owner's task
    "Ring til borgeren" due on the follow-up's day; that day the owner is reminded in Slack
    (once per task), and the 4-week period reminder of before the first meeting is not sent
    beside it."""
    today = today_local()
    async for api in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        await intake(api, body("call-1", employer=FIXED, full_recovery_plan_date=(
            today + timedelta(days=10)).isoformat(),
            first_absence_day=(today - timedelta(days=40)).isoformat()))
        async with api.client.app[DB].write() as session:
            case = (await session.execute(select(Case))).unique().scalar_one()
            assert case.owner_id is not None and case.follow_up == "telephone"
            case.next_follow_up_due = today
            session.add(ConsultantTask(
                municipality_id="demo", consultant_id=case.owner_id, case_id=case.id,
                kind="follow_up_call", text="Ring til borgeren (opfølgning)", due_on=today,
                created_at=datetime(2026, 1, 1)))
        reminders = await consultant_reminders(api)
        assert await reminders.send_due(today - timedelta(days=1)) == 0
        assert await reminders.send_due(today) == 1
        assert await reminders.send_due(today) == 0
        async with api.client.app[DB].read() as session:
            sent = (await session.execute(select(OutboxMessage.message_id).where(
                OutboxMessage.kind == "telephone_due"))).scalars().all()
        assert len(sent) == 1


def test_which_reminders_are_due(demo_config: MunicipalityConfig) -> None:
    """Telephone follow-up every 4 weeks while it applies; week 13 without an intervention;
    the deadline at risk only without a confirmed or held meeting."""
    reminders = ConsultantReminders(None, demo_config, None)  # type: ignore[arg-type]
    start = date(2026, 9, 1)

    def case(follow_up: str, **kw: object) -> Case:
        return Case(id=7, facts={"first_absence_day": start.isoformat()}, status="target",
                    follow_up=follow_up, intervention_started_on=kw.get("intervention"),
                    first_meeting_deadline=start + timedelta(days=55),
                    intervention_deadline=start + timedelta(days=90))

    phone = case("telephone", intervention=start)
    assert reminders.due(phone, None, False, start + timedelta(days=27)) == []
    assert reminders.due(phone, None, False, start + timedelta(days=28)) == [
        ("telephone_due", "telephone_due-7-1")]
    assert reminders.due(phone, None, True, start + timedelta(days=57)) == [
        ("telephone_due", "telephone_due-7-2")]
    # A telephone follow-up is a first meeting too: past its deadline without one, at risk.
    assert ("deadline_at_risk", "deadline_at_risk-7") in reminders.due(
        phone, None, False, start + timedelta(days=57))
    workplace = case("workplace_meeting")
    week13 = start + timedelta(weeks=12)
    assert ("intervention_missing", "intervention_missing-7") in reminders.due(
        workplace, None, True, week13)
    assert reminders.due(workplace, None, True, week13 - timedelta(days=1)) == []
    risky = start + timedelta(days=55 - 7)  # the deadline a week away
    on_time = datetime.combine(start + timedelta(days=55), time(10))
    confirmed = Meeting(id=3, status="confirmed", kind="workplace_meeting",
                        start=on_time, end=on_time + timedelta(hours=1))
    assert reminders.due(workplace, confirmed, False, risky) == []
    # Confirmed for the day after the deadline: it will be late, the deadline is at risk.
    late = Meeting(id=3, status="confirmed", kind="workplace_meeting",
                   start=on_time + timedelta(days=1), end=on_time + timedelta(days=1, hours=1))
    assert reminders.due(workplace, late, False, risky) == [
        ("deadline_at_risk", "deadline_at_risk-7")]
    assert reminders.due(workplace, None, False, risky) == [
        ("deadline_at_risk", "deadline_at_risk-7")]
    assert reminders.due(workplace, None, False, risky - timedelta(days=1)) == []
    assert reminders.due(workplace, None, True, risky) == []  # held already
