"""The consultant's tasks about a meeting close by themselves when what they ask for is done:
"the employer asks for other times" when a new time stands — confirmed, moved by staff to an
agreed time, or a jobcentre meeting set by the citizen's letter — and "the employer
confirmed", "the letter does not arrive in time" (and the other tasks about the meeting) when
the meeting is registered — held, or not held and planned anew. Before, they stayed open in
"Mine opgaver" until the case closed (Herning's 4 simulated months: 496 "the employer
confirmed" tasks open at the end; then, in the twelfth session's look at the same months, 21
wishes for other times of cases whose meeting had been set at the jobcentre or held, and 10
"call the citizen" about letters of meetings long held)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from service.clock import SettableClock
from service.keys import ANSWERS, JOBS
from tests.meetings.email_cases import body, intake
from tests.meetings.test_invitations import active, rows
from tests.outbox.test_letters import letter_case
from tests.support import Api


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


async def _ask_other_times(api: Api, case_ref: str) -> None:
    _, meetings = await rows(api, case_ref)
    outcome = await api.client.app[ANSWERS].other_times(active(meetings).id, {
        "weekdays": ["tue", "thu"], "weekdays_text": ["tirsdag", "torsdag"],
        "parts_of_day": [], "parts_text": []})
    assert outcome == "done"
    await api.client.app[JOBS].wait_idle()
    assert "employer_other_times" in await open_tasks(api, case_ref)


async def _move_to_first_free_time(api: Api, case_ref: str) -> datetime:
    headers = api.auth("manager")
    free = await api.client.get(f"/api/cases/{case_ref}/meeting/free-times", headers=headers)
    assert free.status == 200, await free.text()
    first = (await free.json())["times"][0]["start"]
    resp = await api.client.post(f"/api/cases/{case_ref}/meeting/move",
                                 json={"start": first}, headers=headers)
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    return datetime.fromisoformat(first)


async def test_a_time_agreed_and_set_by_staff_closes_the_other_times_task(
        clocked: tuple[Api, SettableClock]) -> None:
    api, _ = clocked
    await intake(api, body("ts3"))
    await _ask_other_times(api, "ts3")
    await _move_to_first_free_time(api, "ts3")  # agreed on the phone, set by staff
    assert "employer_other_times" not in await open_tasks(api, "ts3")


async def test_a_jobcentre_meeting_set_by_the_letter_closes_the_other_times_task(
        clocked: tuple[Api, SettableClock]) -> None:
    api, _ = clocked
    await intake(api, body("ts4"))
    await _ask_other_times(api, "ts4")
    # Then the citizen does not want the meeting at the workplace: it is set at the
    # jobcentre, and the citizen's letter settles it — the employer's wishes are moot.
    resp = await api.client.patch("/api/cases/ts4", json={
        "citizen_declines_workplace_meeting": True, "reason": "borgeren ringede"},
        headers={**api.auth("intake"), "Content-Type": "application/merge-patch+json"})
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    _, meetings = await rows(api, "ts4")
    meeting = active(meetings)
    assert (meeting.kind, meeting.status) == ("jobcenter_meeting", "confirmed")
    assert "employer_other_times" not in await open_tasks(api, "ts4")


async def test_the_call_about_a_late_letter_is_done_when_the_meeting_is_registered(
        clocked: tuple[Api, SettableClock]) -> None:
    api, clock = clocked
    await intake(api, letter_case("ts5"))  # the citizen has no e-mail: letters
    await confirm(api, "ts5")
    start = await _move_to_first_free_time(api, "ts5")  # too soon for a letter to arrive
    assert "letter_too_late" in await open_tasks(api, "ts5")
    clock.set(start + timedelta(hours=2))
    resp = await api.client.post("/api/cases/ts5/meeting-outcome", json={
        "place": "workplace", "employer_took_part": True}, headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    assert await open_tasks(api, "ts5") == []
