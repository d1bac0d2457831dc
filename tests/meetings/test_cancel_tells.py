"""Who hears of a cancelled meeting: the employer only of a workplace meeting they were
invited to, and their calendar's event is cancelled only when it is that meeting.

Before, a follow-up meeting at the jobcentre cancelled (the case closed) sent the employer
"Aflyst: opfølgningsmødet …" with a METHOD:CANCEL — about a meeting they never heard of — and
the CANCEL, with the case's one calendar UID, took the first meeting they had held out of
their calendar (Herning's 4 simulated months: 26 such mails)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from service.clock import SettableClock
from service.keys import ANSWERS, CONFIG, DB, JOBS
from service.platform.db.models import OutboxMessage
from service.platform.jobqueue import END_DECLINE_GRACE
from tests.followup.test_follow_ups import planning_from
from tests.meetings.email_cases import CITIZEN, EMPLOYER, body, intake
from tests.meetings.test_invitations import active, rows
from tests.meetings.test_tasks_settle import confirm
from tests.support import Api


async def _messages(api: Api, to: str, after: int = 0) -> list[OutboxMessage]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.recipient == to, OutboxMessage.id > after)
            .order_by(OutboxMessage.id))).scalars())


async def _first_meeting_held(api: Api, clock: SettableClock, case_ref: str) -> datetime:
    await intake(api, body(case_ref))
    start = await confirm(api, case_ref)  # the employer's calendar gets the REQUEST
    clock.set(start + timedelta(hours=2))
    resp = await api.client.post(f"/api/cases/{case_ref}/meeting-outcome", json={
        "place": "workplace", "employer_took_part": True}, headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    # The follow-up is proposed from `plan_days_before` days before it is due.
    due = start.date() + timedelta(weeks=api.client.app[CONFIG].followup.every_weeks)
    await planning_from(api, clock, due)
    return start


async def _close(api: Api, clock: SettableClock, case_ref: str) -> None:
    resp = await api.client.post(f"/api/cases/{case_ref}/close", json={
        "outcome": "recovered", "on": clock.today().isoformat()}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["meeting"] is None


async def test_a_jobcentre_follow_up_cancelled_is_not_the_employer_s_business(
        clocked: tuple[Api, SettableClock]) -> None:
    api, clock = clocked
    await _first_meeting_held(api, clock, "cj1")
    # The employer declines the follow-up at the workplace; when the grace is over it is
    # planned at the jobcentre, the citizen summoned by letter, the employer not part of it.
    _, meetings = await rows(api, "cj1")
    assert await api.client.app[ANSWERS].decline(active(meetings).id, "no_rooms") == "done"
    app = api.client.app
    clock.set(clock.utcnow() + timedelta(days=4))
    app[JOBS].request(END_DECLINE_GRACE, app[CONFIG].municipality.id, "test")
    await app[JOBS].wait_idle()
    _, meetings = await rows(api, "cj1")
    follow_up = active(meetings)
    assert (follow_up.kind, follow_up.status) == ("jobcenter_meeting", "confirmed")
    employer_before = await _messages(api, EMPLOYER)
    citizen_before = await _messages(api, CITIZEN)

    await _close(api, clock, "cj1")
    assert await _messages(api, EMPLOYER, employer_before[-1].id) == []
    told = await _messages(api, CITIZEN, citizen_before[-1].id)
    assert [m.kind for m in told] == ["citizen_cancelled"]


async def test_a_workplace_follow_up_cancelled_leaves_the_held_meeting_in_the_calendar(
        clocked: tuple[Api, SettableClock]) -> None:
    api, clock = clocked
    await _first_meeting_held(api, clock, "cj2")
    _, meetings = await rows(api, "cj2")
    follow_up = active(meetings)
    assert (follow_up.kind, follow_up.status) == ("workplace_meeting", "proposed")
    employer_before = await _messages(api, EMPLOYER)
    assert employer_before[-1].kind == "employer_invitation"  # the follow-up's times

    await _close(api, clock, "cj2")
    (cancelled,) = await _messages(api, EMPLOYER, employer_before[-1].id)
    # They were invited, so they are told; their calendar holds the first meeting, held —
    # no METHOD:CANCEL takes it out.
    assert cancelled.kind == "employer_cancelled"
    assert "ics" not in (cancelled.payload or {})
