"""The consultant's tasks about a meeting close by themselves when what they ask for is done:
"the employer asks for other times" when a new time is confirmed, and "the employer
confirmed" (and the other tasks about the meeting) when the meeting is registered — held, or
not held and planned anew. Before, they stayed open in "Mine opgaver" until the case closed
(Herning's 4 simulated months: 496 "the employer confirmed" tasks open at the end)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from service.clock import SettableClock
from service.keys import ANSWERS, JOBS
from tests.conftest import Api
from tests.meetings.email_cases import body, intake
from tests.meetings.test_invitations import active, rows
from tests.meetings.test_jobcentre_summons import clocked

__all__ = ["clocked"]  # the app with a clock the test moves, on SQLite and PostgreSQL


async def open_tasks(api: Api, case_ref: str) -> list[str]:
    tasks = (await (await api.client.get("/api/tasks?state=open",
                                         headers=api.auth("manager"))).json())["tasks"]
    return sorted(t["kind"] for t in tasks if t["case_id"] == case_ref)


async def confirm(api: Api, case_ref: str) -> datetime:
    _, meetings = await rows(api, case_ref)
    start = active(meetings).start
    resp = await api.client.post(f"/api/cases/{case_ref}/meeting/confirm",
                                 json={"start": start.isoformat(timespec="minutes")},
                                 headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    return start


@pytest.mark.parametrize("place", ["workplace", "not_held"])
async def test_registering_the_meeting_closes_the_tasks_about_it(
        clocked: tuple[Api, SettableClock], place: str) -> None:
    api, clock = clocked
    await intake(api, body("ts1"))
    start = await confirm(api, "ts1")
    assert await open_tasks(api, "ts1") == ["meeting_confirmed"]
    clock.set(start + timedelta(hours=2))
    resp = await api.client.post("/api/cases/ts1/meeting-outcome", json={
        "place": place, "employer_took_part": True if place == "workplace" else None},
        headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    assert await open_tasks(api, "ts1") == []


async def test_a_new_time_confirmed_closes_the_other_times_task(
        clocked: tuple[Api, SettableClock]) -> None:
    api, _ = clocked
    await intake(api, body("ts2"))
    _, meetings = await rows(api, "ts2")
    outcome = await api.client.app[ANSWERS].other_times(active(meetings).id, {
        "weekdays": ["thu"], "weekdays_text": ["torsdag"], "parts_of_day": [],
        "parts_text": []})
    assert outcome == "done"
    await api.client.app[JOBS].wait_idle()
    assert await open_tasks(api, "ts2") == ["employer_other_times"]
    await confirm(api, "ts2")  # the new proposal, agreed on the phone
    assert await open_tasks(api, "ts2") == ["meeting_confirmed"]
