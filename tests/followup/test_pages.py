"""The consultant's pages through the HTTP client: "Mine sager" with deadlines and the next
action, one case's registration forms (the Slack buttons' outcomes, through the same use
cases), the week as a calendar. Roles: consultant (own cases), manager/admin (any
consultant's); intake 403; no session → login. Forms need the CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import ANSWERS, DB, JOBS
from service.platform.db.models import (
    AuditEntry,
    CalendarEntry,
    Case,
    Consultant,
    ConsultantTask,
    Meeting,
)
from tests.meetings.email_cases import body, intake
from tests.support import Staff, make_secrets, start_api, start_staff

# A Tuesday; the case's absence began 10 days before (body()'s default is relative to the
# real today, so the tests give first_absence_day themselves).
TODAY = date(2026, 12, 1)
OWNER = "anna"  # the test consultant user's consultant


def case_body(ref: str, **overrides: object) -> dict[str, object]:
    return body(ref, first_absence_day=(TODAY - timedelta(days=10)).isoformat(), **overrides)


@pytest.fixture
async def clock() -> SettableClock:
    return SettableClock(datetime.combine(TODAY, time(9, 0)))


@pytest.fixture
async def staff(demo_config: MunicipalityConfig, sqlite_url: str,
                clock: SettableClock) -> AsyncIterator[Staff]:
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await intake(api, case_body("mine-1"), case_body("other-1", employer={
            "cvr": "55667788", "name": "Brande Byg", "contact_email": "byg@brande.example",
            "location": {"lat": 55.94, "lon": 9.12}}))
        for ref, owner in (("mine-1", OWNER), ("other-1", "bo")):
            resp = await api.client.put(f"/api/cases/{ref}/owner", json={
                "consultant_id": owner, "reason": "test"}, headers=api.auth("intake"))
            assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        async for running in start_staff(api):
            yield running


async def _meeting(staff: Staff, ref: str) -> Meeting:
    async with staff.api.client.app[DB].read() as session:
        return (await session.execute(select(Meeting).join(Case).where(
            Case.case_ref == ref, Meeting.status.in_(("proposed", "confirmed")))
        )).unique().scalar_one()


def _action(html: str, ref: str) -> str:
    row = re.search(rf'<tr[^>]*data-case="{ref}">(.*?)</tr>', html, flags=re.S)
    assert row is not None, f"no row for {ref}"
    found = re.search(r'data-action="([a-z_]+)"', row.group(1))
    assert found is not None
    return found.group(1)


async def test_my_cases_shows_own_cases_with_next_action(staff: Staff) -> None:
    consultant = await staff.login("consultant")
    resp, html = await consultant.get("/my-cases")
    assert resp.status == 200, html
    assert "mine-1" in html and "other-1" not in html  # need to know
    assert _action(html, "mine-1") == "call_citizen"
    assert "Mads Madsen" in html and "Sunds Træ ApS" in html
    # The deadline (first absence + 55 days) in Danish words.
    assert "fredag den 15. januar 2027" in html
    # Calls registered: the next action moves on to the employer, then the answer.
    for who, code in (("citizen", "call_employer"), ("employer", "await_employer")):
        resp, html = await consultant.post("/my-cases/mine-1/contacts", {"who": who})
        assert resp.status == 200 and resp.url.path == "/my-cases/mine-1", html
        assert "er registreret" in html
        _, html = await consultant.get("/my-cases")
        assert _action(html, "mine-1") == code, code
    async with staff.api.client.app[DB].read() as session:
        actions = list((await session.execute(select(AuditEntry.action))).scalars())
    assert {"case.called_citizen", "case.called_employer", "case.list", "case.read"} <= set(
        actions)


async def test_my_cases_marks_the_deadline_at_risk(staff: Staff, clock: SettableClock
                                                   ) -> None:
    """The marker says what the dashboard and the case list say (`intake.signals`): no
    meeting confirmed or held and the deadline at most 7 days away."""
    consultant = await staff.login("consultant")
    _, html = await consultant.get("/my-cases")
    assert "frist i fare" not in _row(html, "mine-1")
    assert "haster" not in _row(html, "mine-1")
    # The next step's link names its case (to a screen reader; the column says the rest).
    assert '<span class="visually-hidden"> – sag mine-1</span></a>' in _row(html, "mine-1")
    _, html = await consultant.get("/my-cases/mine-1")
    assert "<strong>Næste skridt:</strong>" in html and "haster" not in html
    deadline = TODAY + timedelta(days=45)  # first absence + 55
    clock.set(datetime.combine(deadline - timedelta(days=7), time(9)))
    consultant = await staff.login("consultant")
    _, html = await consultant.get("/my-cases")
    assert "frist i fare" in _row(html, "mine-1")
    # Urgent is said in words, not by colour only: on the list and on the case page.
    assert '<span class="badge bad">haster</span>' in _row(html, "mine-1")
    _, html = await consultant.get("/my-cases/mine-1")
    assert re.search(r'id="next-action"[^>]*><strong>Næste skridt – haster:</strong>', html)
    assert "fristen for første samtale er i fare" in html


def _summary_links(html: str) -> list[str]:
    """The fields the error summary at the top of the page links to, in its order."""
    summary = re.search(r'<div class="notice warn" role="alert" tabindex="-1" id="fejl">'
                        r'(.*?)</div>', html, flags=re.S)
    assert summary is not None, "no error summary"
    return re.findall(r'<a href="#([^"]+)"', summary.group(1))


def _tag(html: str, attribute: str) -> str:
    """The (first) start tag with `attribute`."""
    found = re.search(rf'<[a-z]+ [^>]*{re.escape(attribute)}[^>]*>', html)
    assert found is not None, attribute
    return found.group(0)


def _row(html: str, ref: str) -> str:
    row = re.search(rf'<tr[^>]*data-case="{ref}">(.*?)</tr>', html, flags=re.S)
    assert row is not None, f"no row for {ref}"
    return row.group(1)


async def test_another_consultants_case_is_not_found(staff: Staff) -> None:
    consultant = await staff.login("consultant")
    resp, html = await consultant.get("/my-cases/other-1")
    assert resp.status == 404 and "findes ikke" in html
    resp, _ = await consultant.post("/my-cases/other-1/contacts", {"who": "citizen"})
    assert resp.status == 404
    # A form's URL opened with GET leads on only to a case page they may see.
    resp, _ = await consultant.get("/my-cases/other-1/close", allow_redirects=False)
    assert resp.status == 404
    resp, _ = await (await staff.login("intake")).get("/my-cases/mine-1/close",
                                                      allow_redirects=False)
    assert resp.status == 403
    for odd in ("x%00y", "x" * 65, "%ED%A0%80"):
        assert (await consultant.get(f"/my-cases/{odd}"))[0].status == 404, odd
    async with staff.api.client.app[DB].read() as session:
        refused = (await session.execute(select(AuditEntry).where(
            AuditEntry.action == "case.read_refused"))).scalars().all()
        called = (await session.execute(select(Case.citizen_called_at).where(
            Case.case_ref == "other-1"))).scalar_one()
    assert refused and called is None
    # A manager may open it, and choose whose cases to see.
    manager = await staff.login("manager")
    assert (await manager.get("/my-cases/other-1"))[0].status == 200
    resp, html = await manager.get("/my-cases?konsulent=bo")
    assert resp.status == 200 and "other-1" in html and "mine-1" not in html
    assert (await manager.get("/my-cases?konsulent=nobody"))[0].status == 404


async def test_meeting_outcome_intervention_and_closing(staff: Staff,
                                                        clock: SettableClock) -> None:
    consultant = await staff.login("consultant")
    # Not begun yet: the page says so (409), nothing registered.
    resp, html = await consultant.post("/my-cases/mine-1/meeting-outcome",
                                       {"place": "workplace", "employer_took_part": "ja"})
    assert resp.status == 409 and "ikke begyndt endnu" in html
    # Missing answers are named next to their fields.
    resp, html = await consultant.post("/my-cases/mine-1/meeting-outcome",
                                       {"place": "workplace"})
    assert resp.status == 422 and "Svar, om arbejdsgiveren deltog." in html
    # ... and listed at the top (role="alert"), each a link to its field; the radios say
    # they are wrong and why.
    assert _summary_links(html) == ["took-ja"]
    for answer in ("ja", "nej"):
        radio = _tag(html, f'id="took-{answer}"')
        assert 'aria-invalid="true"' in radio
        assert 'aria-describedby="e-employer_took_part h-took"' in radio
    resp, html = await consultant.post("/my-cases/mine-1/meeting-outcome", {"place": "garden"})
    assert resp.status == 422 and "Vælg, hvor samtalen blev holdt" in html
    assert _summary_links(html)[0] == "place-workplace"
    radio = _tag(html, 'id="place-phone"')
    assert 'aria-invalid="true"' in radio and 'aria-describedby="e-place"' in radio
    # A form's URL opened with GET (reloaded) leads to the case page, not a 405.
    for form in ("meeting-outcome", "intervention", "close"):
        resp = await consultant.session.get(consultant.url(f"/my-cases/mine-1/{form}"),
                                            allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/my-cases/mine-1", form
    meeting = await _meeting(staff, "mine-1")
    clock.set(meeting.end + timedelta(minutes=5))
    consultant = await staff.login("consultant")  # days later: a new session
    _, html = await consultant.get("/my-cases")
    assert _action(html, "mine-1") == "register_outcome"
    resp, html = await consultant.post("/my-cases/mine-1/meeting-outcome",
                                       {"place": "workplace", "employer_took_part": "ja"})
    assert resp.status == 200 and "registreret som holdt" in html, html
    _, html = await consultant.get("/my-cases")
    assert _action(html, "mine-1") == "register_intervention"
    async with staff.api.client.app[DB].read() as session:
        held = (await session.execute(select(Meeting).where(Meeting.id == meeting.id))
                ).unique().scalar_one()
    assert (held.status, held.place, held.employer_took_part) == ("held", "workplace", True)
    # The intervention: a date in the future or before the absence is refused in Danish.
    future = (clock.today() + timedelta(days=1)).isoformat()
    resp, html = await consultant.post("/my-cases/mine-1/intervention",
                                       {"started_on": future, "kind": "work_trial"})
    assert resp.status == 422 and "må ikke ligge i fremtiden" in html
    assert _summary_links(html) == ["f-started_on"]
    resp, html = await consultant.post("/my-cases/mine-1/intervention",
                                       {"started_on": "2026-11-01", "kind": "work_trial"})
    assert resp.status == 422 and "før første fraværsdag (21.11.2026)" in html
    resp, html = await consultant.post("/my-cases/mine-1/intervention",
                                       {"started_on": "1. december", "kind": "work_trial"})
    assert resp.status == 422 and "ÅÅÅÅ-MM-DD" in html
    resp, html = await consultant.post("/my-cases/mine-1/intervention",
                                       {"started_on": clock.today().isoformat(),
                                        "kind": "work_trial"})
    assert resp.status == 200 and "indsats er registreret" in html
    # The intervention registered, the next follow-up is the step (its meeting is proposed
    # two weeks before it is due, the employer's answer awaited then).
    await staff.api.client.app[JOBS].wait_idle()
    _, html = await consultant.get("/my-cases")
    assert _action(html, "mine-1") == "follow_up_due"
    # Closing: through the case-closing use case; the case leaves "Mine sager".
    resp, html = await consultant.post("/my-cases/mine-1/close", {"outcome": "healed",
                                                                  "on": "2026-12-01"})
    assert resp.status == 422 and "Vælg, hvordan sagen sluttede." in html
    assert _summary_links(html) == ["f-outcome"]
    # The note's hint ("no health details") is read with the field.
    assert 'aria-describedby="h-note"' in _tag(html, 'id="f-note"')
    assert 'id="h-note">Skriv ikke helbredsoplysninger her.' in html
    resp, html = await consultant.post("/my-cases/mine-1/close", {
        "outcome": "recovered", "on": clock.today().isoformat(), "note": "raskmeldt"})
    assert resp.status == 200 and "Sagen er afsluttet" in html
    _, html = await consultant.get("/my-cases")
    assert "mine-1" not in html
    async with staff.api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "mine-1"))
                ).unique().scalar_one()
    assert case.close_outcome == "recovered" and case.intervention_started_on == clock.today()


async def test_not_held_plans_a_new_time(staff: Staff, clock: SettableClock) -> None:
    meeting = await _meeting(staff, "mine-1")
    clock.set(meeting.end + timedelta(minutes=5))
    consultant = await staff.login("consultant")
    await consultant.get("/my-cases/mine-1")
    resp, html = await consultant.post("/my-cases/mine-1/meeting-outcome",
                                       {"place": "not_held"})
    assert resp.status == 200 and "ikke holdt" in html
    await staff.api.client.app[JOBS].wait_idle()
    fresh = await _meeting(staff, "mine-1")
    assert fresh.id != meeting.id and fresh.start > meeting.start


async def test_forms_need_the_csrf_token(staff: Staff) -> None:
    consultant = await staff.login("consultant")
    await consultant.get("/my-cases/mine-1")
    for path, data in (("/my-cases/mine-1/contacts", {"who": "citizen"}),
                       ("/my-cases/mine-1/close", {"outcome": "other", "on": "2026-12-01"})):
        resp, html = await consultant.post(path, data, csrf=False)
        assert resp.status == 403 and "afvist" in html, path
        resp, _ = await consultant.post(path, {**data, "csrf_token": "forkert"}, csrf=False)
        assert resp.status == 403, path
    async with staff.api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "mine-1"))
                ).unique().scalar_one()
    assert case.citizen_called_at is None and case.closed_on is None


async def test_week_shows_meetings_travel_and_busy_time(staff: Staff) -> None:
    meeting = await _meeting(staff, "mine-1")
    async with staff.api.client.app[DB].write() as session:
        anna = (await session.execute(select(Consultant).where(Consultant.key == OWNER))
                ).scalar_one()
        day = meeting.start.date()
        session.add(CalendarEntry(municipality_id="demo", consultant_id=anna.id,
                                  start=datetime.combine(day, time(8, 0)),
                                  end=datetime.combine(day, time(8, 30)),
                                  title="Teammøde"))
    consultant = await staff.login("consultant")
    year, week, _ = meeting.start.isocalendar()
    resp, html = await consultant.get(f"/week?uge={year}-W{week:02d}")
    assert resp.status == 200, html
    assert "Samtale på arbejdspladsen" in html and "Sag mine-1" in html
    assert "Teammøde" in html and "foreslået" in html
    if meeting.travel_minutes:
        assert f"{meeting.travel_minutes} min. til sag mine-1" in html
        assert f"{meeting.travel_minutes} min. fra sag mine-1" in html
    assert f"{meeting.start:%H.%M}–{meeting.end:%H.%M}" in html
    assert 'rel="prev"' in html and 'rel="next"' in html
    assert "other-1" not in html
    # Another week is empty; a bad week is named and this week shown instead.
    _, html = await consultant.get("/week?uge=2030-W01")
    assert "Ingen samtaler eller aftaler i denne uge." in html
    resp, html = await consultant.get("/week?uge=2026-W99")
    assert resp.status == 400 and "Skriv en uge som" in html
    assert "Viser denne uge." in html and ">Denne uge</a>" in html


async def test_on_a_sunday_the_week_is_the_coming_one(staff: Staff, clock: SettableClock
                                                      ) -> None:
    clock.set(datetime(2026, 12, 6, 19, 0))  # Sunday evening, week 49
    consultant = await staff.login("consultant")
    resp, html = await consultant.get("/week")
    assert resp.status == 200, html
    assert 'name="uge" type="week" value="2026-W50"' in html
    assert ">Kommende uge</a>" in html and ">Denne uge</a>" not in html
    _, html = await consultant.get("/week?uge=2026-W49")  # the week ended, when asked for
    assert 'value="2026-W49"' in html
    resp, html = await consultant.get("/week?uge=2026-W99")
    assert resp.status == 400 and "Viser kommende uge." in html
    assert 'value="2026-W50"' in html


async def test_pages_need_a_login_and_the_right_role(staff: Staff) -> None:
    anonymous = await staff.browser()
    intake_user = await staff.login("intake")
    manager = await staff.login("manager")
    admin = await staff.login("admin")
    for path in ("/my-cases", "/my-cases/mine-1", "/week", "/calendar"):
        resp, _ = await anonymous.get(path, allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/login?next="), path
        resp, html = await intake_user.get(path)
        assert resp.status == 403 and "ikke adgang" in html, path
        # The calendar feed is a consultant's own; the rest managers and admins may see.
        assert (await manager.get(path))[0].status == (403 if path == "/calendar" else 200)
        assert (await admin.get(path))[0].status == 200, path


async def test_posts_need_a_login_and_the_right_role(staff: Staff) -> None:
    anonymous = await staff.browser()
    resp, _ = await anonymous.post("/my-cases/mine-1/contacts", {"who": "citizen"},
                                   allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/login")
    intake_user = await staff.login("intake")
    await intake_user.get("/cases")
    resp, _ = await intake_user.post("/my-cases/mine-1/contacts", {"who": "citizen"})
    assert resp.status == 403


async def _confirm(staff: Staff, ref: str) -> Meeting:
    meeting = await _meeting(staff, ref)
    api = staff.api
    resp = await api.client.post(f"/api/cases/{ref}/meeting/confirm", json={
        "start": meeting.start.isoformat(timespec="minutes")}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    return meeting


async def _tasks(staff: Staff, ref: str) -> list[tuple[int, str, bool]]:
    """The case's tasks: id, kind, done."""
    async with staff.api.client.app[DB].read() as session:
        return [(i, kind, done is not None) for i, kind, done in (await session.execute(
            select(ConsultantTask.id, ConsultantTask.kind, ConsultantTask.done_at)
            .join(Case, Case.id == ConsultantTask.case_id).where(Case.case_ref == ref)
            .order_by(ConsultantTask.id))).all()]


async def test_tasks_are_marked_done_on_the_consultants_pages(staff: Staff) -> None:
    await _confirm(staff, "mine-1")
    await _confirm(staff, "other-1")
    (task_id, kind, done), = await _tasks(staff, "mine-1")
    assert kind == "meeting_confirmed" and not done
    (theirs, _, _), = await _tasks(staff, "other-1")
    consultant = await staff.login("consultant")
    _, html = await consultant.get("/my-cases")
    done_path = f"/my-cases/mine-1/tasks/{task_id}/done"
    assert f'action="{done_path}"' in html and "Arbejdsgiveren har bekræftet mødet" in html
    _, html = await consultant.get("/my-cases/mine-1")
    assert f'action="{done_path}"' in html
    # Without the CSRF token: refused, nothing done.
    resp, _ = await consultant.post(done_path, {}, csrf=False)
    assert resp.status == 403 and not (await _tasks(staff, "mine-1"))[0][2]
    # Another consultant's task, or this task under another case: not found.
    for path in (f"/my-cases/other-1/tasks/{theirs}/done",
                 f"/my-cases/mine-1/tasks/{theirs}/done", "/my-cases/mine-1/tasks/999999/done"):
        resp, html = await consultant.post(path)
        assert resp.status == 404, path
        assert "Opgaven findes ikke" in html or "Sagen findes ikke" in html, path
    assert not (await _tasks(staff, "other-1"))[0][2]
    # Done from the list: back on the list, the task gone from it.
    resp, html = await consultant.post(done_path, {"back": "mine-sager"})
    assert resp.status == 200 and resp.url.path == "/my-cases"
    assert "Opgaven er markeret som udført" in html and done_path not in html
    assert (await _tasks(staff, "mine-1"))[0][2]
    # Sent again (a double click): still done, back on the case page.
    resp, html = await consultant.post(done_path)
    assert resp.status == 200 and resp.url.path == "/my-cases/mine-1"
    # A manager marks another consultant's task done and returns to that consultant's list.
    manager = await staff.login("manager")
    await manager.get("/my-cases?konsulent=bo")
    resp, html = await manager.post(f"/my-cases/other-1/tasks/{theirs}/done",
                                    {"back": "mine-sager"})
    assert resp.status == 200 and resp.url.query.get("konsulent") == "bo"
    async with staff.api.client.app[DB].read() as session:
        actions = [(a, actor) for a, actor in (await session.execute(
            select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.action == "task.done"))
        ).all()]
    assert actions == [("task.done", "consultant:test-consultant"),
                       ("task.done", "manager:test-manager")]


async def test_tasks_about_a_cancelled_or_moved_meeting_close_themselves(
        staff: Staff) -> None:
    api = staff.api
    answers = api.client.app[ANSWERS]
    # The employer cancels the confirmed meeting: "it is confirmed" is moot, the news stays.
    meeting = await _confirm(staff, "mine-1")
    assert await answers.cancel(meeting.id) == "done"
    assert [(k, d) for _, k, d in await _tasks(staff, "mine-1")] == [
        ("meeting_confirmed", True), ("employer_cancelled", False)]
    # The employer moves the other confirmed meeting (asks for other times): the same.
    meeting = await _confirm(staff, "other-1")
    assert await answers.other_times(meeting.id, {"weekdays": ["mon"], "parts_of_day": [],
                                                  "text": ""}) == "done"
    assert [(k, d) for _, k, d in await _tasks(staff, "other-1")] == [
        ("meeting_confirmed", True), ("employer_other_times", False)]
    consultant = await staff.login("consultant")
    _, html = await consultant.get("/my-cases/mine-1")
    assert "Arbejdsgiveren har bekræftet mødet" not in html
    assert "Arbejdsgiveren har aflyst det bekræftede møde" in html


async def _case_reads(staff: Staff) -> int:
    async with staff.api.client.app[DB].read() as session:
        return len((await session.execute(select(AuditEntry.id).where(
            AuditEntry.action == "case.read"))).all())


async def test_a_page_post_is_no_read_and_keeps_the_close_notes_limit(staff: Staff) -> None:
    """A form posted on the consultant's or the intake page is audited as what it did and
    redirects; it writes no `case.read` nobody made (the page it redirects to is the read).
    The close note keeps to the use case's limit (1000 characters) on both pages, as in the
    API and Slack."""
    consultant = await staff.login("consultant")
    await consultant.get("/my-cases/mine-1")
    before = await _case_reads(staff)
    resp, _ = await consultant.post("/my-cases/mine-1/contacts", {"who": "citizen"},
                                    allow_redirects=False)
    assert resp.status == 303
    assert await _case_reads(staff) == before
    on = TODAY.isoformat()
    resp, html = await consultant.post("/my-cases/mine-1/close", {
        "outcome": "other", "on": on, "note": "x" * 1001})
    assert resp.status == 422 and "højst være 1000 tegn" in html
    assert 'maxlength="1000"' in html
    intake_user = await staff.login("intake")
    _, html = await intake_user.get("/cases/mine-1")
    assert 'maxlength="1000"' in html
    resp, html = await intake_user.post("/cases/mine-1/close", {
        "outcome": "other", "on": on, "note": "x" * 1001})
    assert resp.status == 422 and "højst være 1000 tegn" in html  # one text for every channel
    before = await _case_reads(staff)
    resp, _ = await consultant.post("/my-cases/mine-1/close", {
        "outcome": "other", "on": on, "note": "x" * 1000}, allow_redirects=False)
    assert resp.status == 303
    resp, _ = await intake_user.post("/cases/mine-1/reopen", {}, allow_redirects=False)
    assert resp.status == 303
    resp, _ = await intake_user.post("/cases/mine-1/close", {
        "outcome": "other_municipality", "on": on, "note": "flyttet"}, allow_redirects=False)
    assert resp.status == 303
    assert await _case_reads(staff) == before
    async with staff.api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "mine-1"))
                ).unique().scalar_one()
    assert (case.close_outcome, case.close_note) == ("other_municipality", "flyttet")
