"""Follow-ups until recovery (issue 20 item 4), over HTTP: after the first meeting is held the
case has `next_follow_up` (every `[followup] every_weeks` after the last meeting held); from
`[followup] plan_days_before` days before it is due, not sooner, the planner proposes a
follow-up meeting like a first one (deadline = the due date, the employer invited the same
way: "et nyt opfølgningsmøde"); registering its outcome sets the next one; a
firm plan for full recovery within 4 weeks makes it a telephone follow-up (a task "Ring til
borgeren" due that day), a changed plan a meeting at the workplace again; closing stops them.
Shown in GET /api/cases/{id}, the case page, Mine sager and the register CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from alembic import command
from sqlalchemy import select, text

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import (
    CONFIG,
    DB,
    JOBS,
    MEETING_CONFLICTS,
    MY_WORK,
    NOTIFIER,
    SLACK_HOME,
    UNANSWERED,
)
from service.platform.auth import Principal
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.db.migrate import alembic_config
from service.platform.db.models import (
    Case,
    Consultant,
    ConsultantAbsence,
    ConsultantTask,
    Meeting,
    OutboxMessage,
)
from service.platform.workdays import add_working_days
from service.text.danish import short_date
from tests.meetings.email_cases import body, intake
from tests.meetings.test_invitations import replan
from tests.support import (
    SYSTEM_CLOCK,
    TEST_DATA_KEY,
    Api,
    make_secrets,
    start_api,
    start_staff,
    today_local,
)

OWNER = "anna"


async def _case(api: Api, ref: str) -> dict[str, Any]:
    resp = await api.client.get(f"/api/cases/{ref}", headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _meetings(api: Api) -> list[Meeting]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(Meeting).where(
            Meeting.kind != "private_talk").order_by(Meeting.id))).unique().scalars())


async def _calls(api: Api) -> list[ConsultantTask]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(ConsultantTask).where(
            ConsultantTask.kind == "follow_up_call").order_by(ConsultantTask.id))).scalars())


async def _held(api: Api, clock: SettableClock, ref: str, meeting: Meeting,
                place: str = "workplace") -> dict[str, Any]:
    """Confirm the meeting, let it begin, register it held."""
    resp = await api.client.post(f"/api/cases/{ref}/meeting/confirm", json={
        "start": meeting.start.isoformat(timespec="minutes")}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    clock.set(meeting.start + timedelta(minutes=70))
    resp = await api.client.post(f"/api/cases/{ref}/meeting-outcome", json={
        "place": place, "employer_took_part": True}, headers=api.auth("consultant"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    return await resp.json()


async def planning_from(api: Api, clock: SettableClock, due: date) -> date:
    """The morning's planning run on the first day the follow-up due on `due` is proposed
    (`[followup] plan_days_before` days before it); returns that day."""
    day = due - timedelta(days=api.client.app[CONFIG].followup.plan_days_before)
    clock.set(datetime.combine(day, time(6, 30)))
    await replan(api)
    return day


async def _patch(api: Api, ref: str, changes: dict[str, Any]) -> None:
    resp = await api.client.patch(f"/api/cases/{ref}", json=changes,
                                  headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()


async def _start(api: Api, ref: str) -> None:
    await intake(api, body(ref))
    resp = await api.client.put(f"/api/cases/{ref}/owner", json={
        "consultant_id": OWNER, "reason": "test"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()


async def test_the_follow_up_rhythm_planned_invited_shown_and_registered(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await _start(api, "fu1")
        assert (await _case(api, "fu1"))["next_follow_up"] is None  # before the first meeting
        first = (await _meetings(api))[0]
        await _held(api, clock, "fu1", first)
        due = first.start.date() + timedelta(weeks=4)
        case = await _case(api, "fu1")
        assert case["next_follow_up"] == {"due": due.isoformat(), "kind": "workplace_meeting"}

        # Not at once: the planner would put it days after the first meeting (it places a
        # meeting as early as it can), a rhythm of one or two weeks instead of four.
        assert [(m.purpose, m.status) for m in await _meetings(api)] == [
            ("first_meeting", "held")]
        clock.set(datetime.combine(due - timedelta(days=20), time(6, 30)))
        await replan(api)
        assert len(await _meetings(api)) == 1
        # From two weeks before it is due the planner proposes the follow-up meeting like a
        # first one: due date = deadline.
        planned_from = await planning_from(api, clock, due)
        meetings = await _meetings(api)
        assert [(m.purpose, m.status) for m in meetings] == [
            ("first_meeting", "held"), ("follow_up", "proposed")]
        follow_up = meetings[1]
        assert follow_up.kind == "workplace_meeting" and follow_up.on_time
        assert planned_from < follow_up.start.date() <= due
        assert case["meeting"] is None or case["meeting"]["purpose"] == "follow_up"
        async with api.client.app[DB].read() as session:
            invitation = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.meeting_id == follow_up.id,
                OutboxMessage.kind == "employer_invitation"))).scalar_one()
        assert "et nyt opfølgningsmøde" in invitation.body_text
        assert "opfølgningsmøde" in invitation.body_html
        # the follow-up is an event of its own in the calendars (series 1), never an update
        # of the held first meeting's event; the first meeting keeps its UID
        notifier = api.client.app[NOTIFIER]
        assert (first.series, follow_up.series) == (0, 1)
        assert notifier.calendar_uid(follow_up) == \
            f"follow-up-{follow_up.case_id}-1@{notifier.outbox.domain}"
        assert notifier.calendar_uid(first) == \
            f"first-meeting-{first.case_id}@{notifier.outbox.domain}"

        # Shown on the case page, Mine sager and in the register.
        async for staff in start_staff(api):
            browser = await staff.login("consultant")
            _, page = await browser.get("/my-cases/fu1")
            assert 'id="next-follow-up"' in page and "møde på arbejdspladsen" in page
            # a due date, not the meeting's day (a meeting may be planned before it)
            assert "<dt>Næste opfølgning senest</dt>" in page
            _, page = await browser.get("/my-cases")
            assert "Næste opfølgning senest " in page and "over tid" not in page
            # the day after it was due, not held: over time (as the dashboard lists it)
            now = clock.now()
            clock.set(datetime.combine(due + timedelta(days=1), time(9, 0)))
            browser = await staff.login("consultant")  # (the session ran out meanwhile)
            _, page = await browser.get("/my-cases/fu1")
            assert '<span class="badge bad">over tid</span>' in page
            _, page = await browser.get("/my-cases")
            assert '<span class="badge bad">over tid</span>' in page
            # the staff's case page (intake, managers) says it too
            _, page = await (await staff.login("intake")).get("/cases/fu1")
            assert "<dt>Næste opfølgning senest</dt>" in page
            assert '<span class="badge bad">over tid</span>' in page
            clock.set(now)
        month = date.fromisoformat(case["facts"]["first_absence_day"]).strftime("%Y-%m")
        resp = await api.client.get(f"/api/register.csv?from={month}&to={month}",
                                    headers=api.auth("manager"))
        assert resp.status == 200, await resp.text()
        rows = list(csv.DictReader(io.StringIO((await resp.text()).lstrip("\ufeff")),
                                   delimiter=";"))
        assert [(r["Næste opfølgning"], r["Næste opfølgning, form"]) for r in rows] == [
            (due.isoformat(), "workplace_meeting")]

        # Its outcome registered: the next follow-up four weeks after it.
        await _held(api, clock, "fu1", follow_up, place="jobcentre")
        held = [m for m in await _meetings(api) if m.id == follow_up.id][0]
        assert (held.status, held.purpose, held.on_time) == ("held", "follow_up", True)
        case = await _case(api, "fu1")
        assert case["next_follow_up"] == {
            "due": (follow_up.start.date() + timedelta(weeks=4)).isoformat(),
            "kind": "workplace_meeting"}
        # The KPIs' first meeting is still the first one.
        assert [h["place"] for h in case["progress"]["held_meetings"]] == [
            "workplace", "jobcentre"]


async def test_a_firm_plan_makes_it_a_call_a_changed_plan_a_meeting_closing_stops_them(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await _start(api, "fu2")
        first = (await _meetings(api))[0]
        await _held(api, clock, "fu2", first)
        due = first.start.date() + timedelta(weeks=4)
        await planning_from(api, clock, due)
        assert [m.status for m in await _meetings(api)] == ["held", "proposed"]

        # A firm plan for full recovery within 4 weeks: the rules say telephone; the
        # follow-up meeting is cancelled and the owner gets a call task due that day.
        recovery = clock.today() + timedelta(days=14)
        await _patch(api, "fu2", {"full_recovery_plan_date": recovery.isoformat()})
        case = await _case(api, "fu2")
        assert case["next_follow_up"] == {"due": due.isoformat(), "kind": "telephone"}
        assert [m.status for m in await _meetings(api)] == ["held", "cancelled"]
        calls = await _calls(api)
        assert [(t.text, t.due_on, t.done_at) for t in calls] == [
            ("Ring til borgeren (opfølgning)", due, None)]
        # The next step says so, with the day (Mine sager, the case page, Slack alike) —
        # after the intervention's registration, which comes first while the call is weeks
        # away.
        assert (await _next_step(api, "fu2"))[0] == "register_intervention"
        resp = await api.client.post("/api/cases/fu2/intervention", json={
            "started_on": clock.today().isoformat(), "kind": "partial_return"},
            headers=api.auth("consultant"))
        assert resp.status == 200, await resp.text()
        assert (await _next_step(api, "fu2")) == (
            "follow_up_call", f"Ring til borgeren (opfølgning) senest {short_date(due)}")
        resp = await api.client.get("/api/tasks", headers=api.auth("consultant"))
        assert any(t["kind"] == "follow_up_call" and t["due_on"] == due.isoformat()
                   for t in (await resp.json())["tasks"])

        # The plan changes (no firm plan any more): at the workplace again.
        await _patch(api, "fu2", {"full_recovery_plan_date": None})
        case = await _case(api, "fu2")
        assert case["next_follow_up"] == {"due": due.isoformat(), "kind": "workplace_meeting"}
        assert [t.done_at is not None for t in await _calls(api)] == [True]
        assert (await _next_step(api, "fu2"))[0] == "await_employer"  # its meeting invited
        meetings = await _meetings(api)
        assert [(m.purpose, m.status) for m in meetings][-1] == ("follow_up", "proposed")

        # Closing stops them: no next follow-up, the meeting cancelled.
        resp = await api.client.post("/api/cases/fu2/close", json={
            "outcome": "recovered", "on": clock.today().isoformat()},
            headers=api.auth("consultant"))
        assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        assert (await _case(api, "fu2"))["next_follow_up"] is None
        assert (await _meetings(api))[-1].status == "cancelled"
        assert not [m for m in await _meetings(api) if m.status == "proposed"]


MANAGER = Principal(key_id=0, name="manager", role="manager", municipality_id="demo")


async def _next_step(api: Api, ref: str) -> tuple[str, str]:
    view = await api.client.app[MY_WORK].case(ref, MANAGER)
    assert view.next_action is not None
    return view.next_action.code, view.next_action.text


async def test_a_follow_up_is_on_time_by_its_due_date_on_every_list(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """The lists that name a deadline use the follow-up's due date, not the first meeting's
    long-past deadline: the unanswered invitations (`/deliveries`) and a long absence's
    cases (`/meetings/to-move`)."""
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await _start(api, "fu3")
        first = (await _meetings(api))[0]
        await _held(api, clock, "fu3", first)
        due = first.start.date() + timedelta(weeks=4)
        await planning_from(api, clock, due)
        follow_up = (await _meetings(api))[-1]
        assert (follow_up.purpose, follow_up.status) == ("follow_up", "proposed")
        assert follow_up.invited_at is not None
        decision = (await _case(api, "fu3"))["decision"]
        first_deadline = date.fromisoformat(decision["first_meeting_deadline"])
        assert first_deadline != due

        # The employer stays silent: listed with the follow-up's deadline.
        clock.set(datetime.combine(add_working_days(clock.today(), 3), time(9, 0)))
        (silent,) = await api.client.app[UNANSWERED].list(MANAGER)
        assert (silent.case_ref, silent.deadline) == ("fu3", due)
        code, words = await _next_step(api, "fu3")
        assert code == "chase_employer"
        # The Slack Home tab and the case's Slack messages say the same; its open cases
        # name the follow-up's due date, not the first meeting's deadline.
        home = api.client.app[SLACK_HOME]
        async with api.client.app[DB].read() as session:
            board = await home.dashboard(session, OWNER)
            row = (await session.execute(select(Case).where(Case.case_ref == "fu3"))
                   ).unique().scalar_one()
            card = await home.notices.card(session, row, (await _meetings(api))[-1])
        assert [(i.case_ref, i.text) for i in board.action] == [("fu3", words)]
        (listed_case,) = [i.text for i in board.open_cases if i.case_ref == "fu3"]
        assert listed_case.startswith(f"opfølgning senest {short_date(due)} · møde ")
        assert card.next_step == words

        # The owner away for three weeks around the due date: the case's deadline falls in
        # the absence.
        async with api.client.app[DB].write() as session:
            anna = (await session.execute(select(Consultant).where(
                Consultant.key == OWNER))).scalar_one()
            session.add(ConsultantAbsence(
                municipality_id=anna.municipality_id, consultant_id=anna.id,
                first_day=due - timedelta(days=10), last_day=due + timedelta(days=10),
                reason="ferie", created_at=clock.utcnow()))
        away = await api.client.app[MEETING_CONFLICTS].long_absences(MANAGER)
        (listed,) = [c for a in away for c in a.cases if c["case_ref"] == "fu3"]
        assert (listed["deadline"], listed["deadline_in_absence"]) == (due, True)


async def test_a_consultant_without_workplace_meetings_holds_the_follow_up_at_the_jobcentre(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """A case given by hand to a consultant who holds no workplace meetings (yet): the rules
    want its follow-ups at the workplace, which rule 2 never lets the planner plan with them
    — the citizen went without any. The follow-up is planned at the jobcentre with them."""
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        resp = await api.client.patch("/api/consultants/eva", json={
            "workplace_meetings": False}, headers=api.auth("admin"))
        assert resp.status == 200, await resp.text()
        await intake(api, body("fu-eva"))
        resp = await api.client.put("/api/cases/fu-eva/owner", json={
            "consultant_id": "eva", "category": "other", "reason": "følges op i jobcentret"},
            headers=api.auth("intake"))
        assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        # no workplace meeting with Eva (rule 2); one planned before she got it is cancelled
        assert [m.status for m in await _meetings(api)
                if m.status in ("proposed", "confirmed")] == []
        # Eva holds the first meeting at the jobcentre and registers it.
        resp = await api.client.post("/api/cases/fu-eva/meeting-outcome", json={
            "place": "jobcentre", "employer_took_part": False},
            headers=api.auth("manager"))
        assert resp.status == 200, await resp.text()
        case = await _case(api, "fu-eva")
        due = date.fromisoformat(case["next_follow_up"]["due"])
        # Named where it will be held before it is planned (`follow_up_kind`), while the
        # rules' decision still says the workplace: the API, the register, the next step.
        assert case["decision"]["follow_up"] == "workplace_meeting"
        assert case["next_follow_up"]["kind"] == "jobcenter_meeting"
        month = case["facts"]["first_absence_day"][:7]
        resp = await api.client.get(f"/api/register.csv?from={month}&to={month}",
                                    headers=api.auth("manager"))
        (row,) = csv.DictReader(io.StringIO((await resp.text()).lstrip("\ufeff")),
                                delimiter=";")
        assert row["Næste opfølgning, form"] == "jobcenter_meeting"
        await planning_from(api, clock, due)
        follow_up = [m for m in await _meetings(api) if m.purpose == "follow_up"]
        # (at the jobcentre no employer confirms it: it stands at once)
        assert [(m.kind, m.status) for m in follow_up] == [("jobcenter_meeting", "confirmed")]
        async with api.client.app[DB].read() as session:
            eva = (await session.execute(select(Consultant).where(Consultant.key == "eva"))
                   ).scalar_one()
        assert follow_up[0].consultant_id == eva.id and follow_up[0].start.date() <= due
        # It stays there at the next runs (the rules still say the workplace).
        clock.set(clock.now() + timedelta(days=1))
        await replan(api)
        assert [(m.id, m.status) for m in await _meetings(api) if m.purpose == "follow_up"] \
            == [(follow_up[0].id, "confirmed")]
        assert (await _case(api, "fu-eva"))["next_follow_up"]["kind"] == "jobcenter_meeting"
        # The pages name the follow-up where it is planned, as its meeting is.
        async for staff in start_staff(api):
            _, page = await (await staff.login("manager")).get("/cases/fu-eva")
            shown = page[page.index('id="next-follow-up"'):]
            assert "møde i jobcentret" in shown[:200].lower(), shown[:200]
            _, page = await (await staff.login("manager")).get("/my-cases/fu-eva")
            shown = page[page.index('id="next-follow-up"'):]
            assert "møde i jobcentret" in shown[:200].lower(), shown[:200]


async def test_a_wished_talk_comes_before_the_first_workplace_meeting_a_follow_up_too(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """The citizen asked to talk with the consultant alone first (rule 10), and the first
    meeting was at the jobcentre with no talk held: the first workplace meeting is a
    follow-up, and the talk is planned before it."""
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        resp = await api.client.patch("/api/consultants/eva", json={
            "workplace_meetings": False}, headers=api.auth("admin"))
        assert resp.status == 200, await resp.text()
        await intake(api, body("fu-talk", citizen_wants_private_talk=True))
        resp = await api.client.put("/api/cases/fu-talk/owner", json={
            "consultant_id": "eva", "category": "other", "reason": "følges op i jobcentret"},
            headers=api.auth("intake"))
        assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        resp = await api.client.post("/api/cases/fu-talk/meeting-outcome", json={
            "place": "jobcentre", "employer_took_part": False}, headers=api.auth("manager"))
        assert resp.status == 200, await resp.text()
        # Eva now holds workplace meetings: the follow-up is at the workplace.
        resp = await api.client.patch("/api/consultants/eva", json={
            "workplace_meetings": True, "workplace_meetings_from": None},
            headers=api.auth("admin"))
        assert resp.status == 200, await resp.text()
        due = date.fromisoformat((await _case(api, "fu-talk"))["next_follow_up"]["due"])
        await planning_from(api, clock, due)
        async with api.client.app[DB].read() as session:
            rows = list((await session.execute(select(Meeting).where(
                Meeting.status.in_(("proposed", "confirmed", "talk_planned")))
                .order_by(Meeting.start))).unique().scalars())
        assert [m.kind for m in rows] == ["private_talk", "workplace_meeting"], rows
        assert rows[1].purpose == "follow_up" and rows[0].consultant_id == rows[1].consultant_id
        assert rows[0].start.date() < rows[1].start.date()


async def test_the_migration_numbers_the_follow_ups_stored_before_it(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """Migration 0017: a follow-up stored before `meetings.series` gets its place in the
    series (the held meetings before it), so its calendar UID is its own from then on."""
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await _start(api, "fu9")
        first = (await _meetings(api))[0]
        await _held(api, clock, "fu9", first)
        await planning_from(api, clock, first.start.date() + timedelta(weeks=4))
        assert [(m.purpose, m.series) for m in await _meetings(api)] == [
            ("first_meeting", 0), ("follow_up", 1)]
    cipher = DataCipher.from_env_values(TEST_DATA_KEY)
    await asyncio.to_thread(command.downgrade, alembic_config(sqlite_url, cipher), "0016")
    await asyncio.to_thread(command.upgrade, alembic_config(sqlite_url, cipher), "head")
    db = Database(sqlite_url, SYSTEM_CLOCK)
    try:
        async with db.read() as session:
            rows = (await session.execute(text(
                "SELECT purpose, series FROM meetings ORDER BY id"))).all()
    finally:
        await db.dispose()
    assert [tuple(r) for r in rows] == [("first_meeting", 0), ("follow_up", 1)]
