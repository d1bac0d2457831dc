"""The Home tab's content for a consultant: what needs action (deadline at risk, outcome not
registered), meetings this week, open cases; and the intervention registered from its modal
changes the tab, which is then published again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from bots.slack.fake_api import FakeSlackApi
from bots.slack.requests import block_action, slash_command, view_submission
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB, JOBS, SLACK_HOME
from service.platform.db.models import Case, Consultant, Meeting
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import ANNA, BO, post_signed, start_slack_api
from tests.slack.test_reminders import FIXED
from tests.support import Api, SmtpSink, local_now, today_local, wait_until


@pytest.fixture
async def api(demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
              smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        yield running


async def board(api: Api) -> tuple[list[str], list[str], list[str]]:
    async with api.client.app[DB].read() as session:
        found = await api.client.app[SLACK_HOME].dashboard(session, "anna")
    return ([f"{i.case_ref}: {i.text}" for i in found.week],
            [f"{i.case_ref}: {i.text}" for i in found.action],
            [f"{i.case_ref}: {i.text}" for i in found.open_cases])


async def test_what_needs_action_and_the_intervention_modal(api: Api, slack_api: FakeSlackApi
                                                            ) -> None:
    await intake(api, body("risk-1", employer=FIXED,
                           first_absence_day=(today_local() - timedelta(days=50)).isoformat()))
    _, action, open_cases = await board(api)
    # The next action as "Mine sager" words it, and the deadline at risk.
    assert len(action) == 1 and action[0].startswith(
        "risk-1: Ring til borgeren – fristen er i fare (frist ")
    assert open_cases and open_cases[0].startswith("risk-1: frist ")
    # The meeting was agreed and held two hours ago (this week's list begins today: just
    # after midnight, at midnight), but nothing is registered yet.
    async with api.client.app[DB].write() as session:
        meeting = (await session.execute(select(Meeting))).unique().scalar_one()
        now = local_now().replace(second=0, microsecond=0)
        start = max(now - timedelta(hours=2), now.replace(hour=0, minute=0))
        meeting.status, meeting.start, meeting.end = "confirmed", start, \
            start + timedelta(hours=1)
    week, action, _ = await board(api)
    assert action == ["risk-1: Registrér, hvordan samtalen gik"]
    assert week and "bekræftet" in week[0]
    await api.client.app[JOBS].wait_idle()
    await wait_until(lambda: "risk-1" in str(slack_api.homes.get(ANNA)), what="Anna's tab")
    await api.client.app[SLACK_HOME].publish_changed()  # the tab as the database is now
    await api.client.app[JOBS].wait_idle()
    published = len(slack_api.calls_of("views.publish"))
    assert "Registrér, hvordan samtalen gik" in str(slack_api.homes[ANNA])

    # The intervention started today, registered from the modal the button opens.
    resp = await post_signed(api, block_action(ANNA, "register_intervention", "risk-1",
                                               slack_api.issue_trigger(ANNA)))
    assert resp.status == 200
    modal = await wait_until(lambda: slack_api.open_view(ANNA), what="the intervention modal")
    assert modal.view["title"]["text"] == "Indsatsen"
    resp = await post_signed(api, view_submission(ANNA, modal.view, {
        "started_on": (today_local() + timedelta(days=1)).isoformat(), "kind": "work_trial"}))
    assert (await resp.json())["errors"] == {"started_on": "Datoen må ikke ligge i fremtiden."}
    resp = await post_signed(api, view_submission(ANNA, modal.view, {
        "started_on": today_local().isoformat(), "kind": "work_trial"}))
    assert resp.status == 200 and not (await resp.text()).strip()
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "risk-1"))
                ).unique().scalar_one()
    assert case.intervention_started_on == today_local()
    await api.client.app[JOBS].wait_idle()
    assert len(slack_api.calls_of("views.publish")) == published  # the tab did not change
    slack_api.close_view(modal.view_id)

    # The meeting's outcome registered: nothing needs action, the tab is published again.
    resp = await post_signed(api, block_action(ANNA, "register_meeting", "risk-1",
                                               slack_api.issue_trigger(ANNA)))
    form = await wait_until(lambda: slack_api.open_view(ANNA), what="the meeting modal")
    resp = await post_signed(api, view_submission(ANNA, form.view, {
        "place": "jobcentre", "employer_took_part": "no"}))
    assert resp.status == 200 and not (await resp.text()).strip()
    assert (await board(api))[1] == []
    await api.client.app[JOBS].wait_idle()
    await wait_until(lambda: len(slack_api.calls_of("views.publish")) == published + 1,
                     what="the tab published again after the registration")
    assert "Intet kræver handling" in str(slack_api.homes[ANNA])


async def test_a_consultant_sees_only_the_cases_they_own(api: Api) -> None:
    """Lists follow the case's owner, not the meeting's consultant: a case given to Bo whose
    meeting (still) has Anna's name is in Bo's `/fasthold næste` and week, not Anna's."""
    await intake(api, body("given-1", employer=FIXED))  # Anna's fixed employer
    resp = await api.client.put("/api/cases/given-1/owner", json={
        "consultant_id": "bo", "category": "capacity"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    async with api.client.app[DB].write() as session:
        anna = (await session.execute(select(Consultant).where(Consultant.key == "anna"))
                ).scalar_one()
        case = (await session.execute(select(Case).where(Case.case_ref == "given-1"))
                ).unique().scalar_one()
        # The meeting left with Anna (whatever planning does about it by now).
        meeting = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.status.in_(("proposed", "confirmed"))))
        ).unique().scalar_one_or_none()
        if meeting is None:
            start = local_now().replace(second=0, microsecond=0) + timedelta(days=1)
            meeting = Meeting(municipality_id=case.municipality_id, case_id=case.id,
                              kind="jobcenter_meeting", status="proposed", start=start,
                              end=start + timedelta(hours=1))
            session.add(meeting)
        meeting.consultant_id = anna.id
    for user, shown in ((ANNA, False), (BO, True)):
        resp = await post_signed(api, slash_command(user, "næste"))
        assert ("given-1" in str(await resp.json())) is shown, user
        resp = await post_signed(api, slash_command(user, "mine"))
        assert ("given-1" in str(await resp.json())) is shown, user
    week, action, open_cases = await board(api)  # Anna's Home tab
    assert not [i for i in week + action + open_cases if i.startswith("given-1")]


async def test_on_a_weekend_the_tab_lists_the_coming_week(api: Api) -> None:
    """As Min uge: on a Sunday "this week" is the coming one; on a Friday, the rest of the
    week (next week's meetings wait for the weekend)."""
    await intake(api, body("week-1", employer=FIXED))  # Anna's fixed employer
    await api.client.app[JOBS].wait_idle()
    sunday = today_local() + timedelta(days=(6 - today_local().weekday()) % 7 or 7)
    tuesday = sunday + timedelta(days=2)
    async with api.client.app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "week-1"))
                ).unique().scalar_one()
        await session.execute(update(Meeting).where(Meeting.case_id == case.id)
                              .values(status="cancelled"))
        start = datetime.combine(tuesday, time(10, 0))
        assert case.owner is not None and case.owner.key == "anna"
        session.add(Meeting(municipality_id=case.municipality_id, case_id=case.id,
                            consultant_id=case.owner_id, kind="jobcenter_meeting",
                            status="confirmed", start=start, end=start + timedelta(hours=1)))
    home = api.client.app[SLACK_HOME]
    real = home.clock
    try:
        for day, listed in ((sunday - timedelta(days=2), False), (sunday, True)):
            home.clock = SettableClock(datetime.combine(day, time(18, 0)))
            async with api.client.app[DB].read() as session:
                found = await home.dashboard(session, "anna")
            assert found.coming_week is listed, day
            assert any(i.case_ref == "week-1" for i in found.week) is listed, day
    finally:
        home.clock = real


async def test_open_cases_are_listed_by_the_date_each_shows(api: Api) -> None:
    """The Home tab's and `/fasthold mine`'s open cases, "nærmeste frist først": a case past
    its first meeting shows its next follow-up's due date and stands by that date (the list
    went by the first meetings' deadlines while showing the follow-ups' dates)."""
    home = api.client.app[SLACK_HOME]
    today = today_local()

    def case(ref: str, deadline: int, due: int | None) -> Case:
        return Case(id=len(ref) + deadline, case_ref=ref,
                    first_meeting_deadline=today + timedelta(days=deadline),
                    next_follow_up_due=None if due is None else today + timedelta(days=due))

    first = case("a-first", 10, None)           # before its first meeting: frist in 10 days
    followed = case("b-followed", 3, 20)         # held: follow-up due in 20 days
    soon = case("c-soon", 30, 5)                 # held: follow-up due in 5 days
    items = home.case_items([(first, None), (followed, None), (soon, None)],
                            held={followed.id, soon.id})
    assert [i.case_ref for i in items] == ["c-soon", "a-first", "b-followed"]
    assert items[0].text.startswith("opfølgning senest")
