"""A time agreed within a decline's grace settles the decline: the workplace meeting stands,
the owner's "Ring til arbejdsgiveren" task is done, and the end of the grace leaves it alone.
Staff agreeing it (a confirmation or a move after the call) turn the decline around
(`restored`, counted in the KPI); the employer choosing a time on their page after all takes
it back (`withdrawn`).

Before, the decline stayed pending under the confirmed meeting: the call task open for good
(Herning's 6 simulated months: 2 such cases), and a meeting staff had moved to an agreed time
was moved again to the jobcentre when the grace ended."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from service.clock import SettableClock
from service.keys import ANSWERS, CONFIG, JOBS, NOTIFIER
from service.meetings.booking import offered_slots
from service.platform.jobqueue import END_DECLINE_GRACE
from tests.meetings.email_cases import body, form_token, intake
from tests.meetings.test_invitations import active, rows
from tests.meetings.test_tasks_settle import open_tasks
from tests.support import Api


@pytest.mark.parametrize(("who", "outcome"), [
    ("employer", "withdrawn"), ("staff_confirm", "restored"), ("staff_move", "restored")])
async def test_a_time_agreed_in_the_grace_settles_the_decline(
        clocked: tuple[Api, SettableClock], who: str, outcome: str) -> None:
    api, clock = clocked
    app = api.client.app
    await intake(api, body("ds1"))
    _, meetings = await rows(api, "ds1")
    proposal = active(meetings)
    assert await app[ANSWERS].decline(proposal.id, "no_rooms") == "done"
    assert await open_tasks(api, "ds1") == ["employer_declined"]

    if who == "employer":  # they chose a time on their page after all
        path = urlsplit(app[NOTIFIER].link(proposal)).path
        page = await (await api.client.get(path)).text()
        # the page thanks them, and still offers the times — not the decline again
        assert 'id="declined"' in page and "Kan mødet alligevel holdes" in page
        assert 'id="confirm-form"' in page and 'id="decline-form"' not in page
        key = re.findall(r'name="slot" value="([^"]+)"', page)[0]
        assert key == offered_slots(proposal)[0].key
        resp = await api.client.post(f"{path}/confirm", data={
            "csrf": await form_token(api, path), "slot": key}, allow_redirects=False)
        assert resp.status == 303 and "bekraeftet" in resp.headers["Location"], resp.headers
    elif who == "staff_confirm":  # the owner called; the employer agreed the proposed time
        resp = await api.client.post("/api/cases/ds1/meeting/confirm", json={
            "start": proposal.start.isoformat(timespec="minutes")}, headers=api.auth("intake"))
        assert resp.status == 200, await resp.text()
    else:  # the owner called; they agreed another time, set by staff
        headers = api.auth("manager")
        free = await api.client.get("/api/cases/ds1/meeting/free-times", headers=headers)
        first = (await free.json())["times"][0]["start"]
        resp = await api.client.post("/api/cases/ds1/meeting/move", json={"start": first},
                                     headers=headers)
        assert resp.status == 200, await resp.text()
    await app[JOBS].wait_idle()
    _, meetings = await rows(api, "ds1")
    meeting = active(meetings)
    assert (meeting.id, meeting.status) == (proposal.id, "confirmed")
    assert (meeting.employer_answer, meeting.decline_outcome) == ("confirmed", outcome)
    assert "employer_declined" not in await open_tasks(api, "ds1")

    # The grace ends: the meeting at the workplace stands.
    clock.set(clock.utcnow() + timedelta(days=4))
    app[JOBS].request(END_DECLINE_GRACE, app[CONFIG].municipality.id, "test")
    await app[JOBS].wait_idle()
    _, meetings = await rows(api, "ds1")
    assert [(m.id, m.kind, m.status) for m in meetings] == [
        (proposal.id, "workplace_meeting", "confirmed")]
