"""Storage limitation (`[retention]`, service.retention): a case that ended `erase_after_days`
ago — closed that long ago, or outside the target group and unchanged since — loses its CPR,
the citizen's and the contact person's details, its health facts, its decisions' history, the
minutes' texts, its mails and its tasks; it keeps what the register and the figures count;
it takes no more changes. The job runs as `erase_ended_cases`, once per case."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from service.clock import SettableClock
from service.config import MunicipalityConfig, RetentionConfig
from service.keys import DB, JOBS
from service.platform.db.engine import Database
from service.platform.db.models import (
    AuditEntry,
    Case,
    ConsultantTask,
    DecisionRecord,
    Meeting,
    OutboxMessage,
)
from service.platform.jobqueue import ERASE_ENDED_CASES
from service.retention.erasure import HOLD_UNSENT_DAYS, CaseErasure, Erased, kept_facts
from tests.followup.test_minutes import NOTE, _confirm, _setup
from tests.meetings.email_cases import body, intake
from tests.support import Api, make_secrets, start_api, start_staff, today_local


async def _held_and_closed(api: Api, clock: SettableClock, case_id: str, meeting: Meeting
                           ) -> date:
    """Confirm the meeting, hold it with minutes mailed to both parties, close the case."""
    await _confirm(api, case_id, meeting)
    clock.set(meeting.start + timedelta(minutes=90))
    today = clock.today()
    resp = await api.client.post(f"/api/cases/{case_id}/meeting-outcome", json={
        "place": "workplace", "employer_took_part": True,
        "agreements": [{"what": "Tal med lægen om skånehensyn", "who": "citizen",
                        "due": (today + timedelta(days=7)).isoformat()},
                       {"what": "Ring til arbejdsgiveren", "who": "consultant",
                        "due": (today + timedelta(days=9)).isoformat()}],
        "return_plan": {"steps": [{"from": (today + timedelta(days=7)).isoformat(),
                                   "hours_per_week": 20}],
                        "full_time_from": (today + timedelta(days=28)).isoformat()},
        "note": NOTE, "send_to": ["citizen", "employer"]}, headers=api.auth("consultant"))
    assert resp.status == 200, await resp.text()
    resp = await api.client.post(f"/api/cases/{case_id}/close", json={
        "outcome": "recovered", "on": today.isoformat(), "note": "Raskmeldt efter forløbet"},
        headers=api.auth("consultant"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    return today


async def _row(api: Api, case_id: str) -> Case:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(Case).where(Case.case_ref == case_id))
                ).unique().scalar_one()


async def _count(api: Api, model: Any, case_pk: int) -> int:
    async with api.client.app[DB].read() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(
            model.case_id == case_pk))).scalar_one())


async def _register(api: Api, month: str) -> str:
    resp = await api.client.get(f"/api/register.csv?from={month}&to={month}",
                                headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def _kpis(api: Api, month: str) -> Any:
    resp = await api.client.get(f"/api/kpis?from={month}&to={month}",
                                headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["months"]


async def _erase_on(api: Api, clock: SettableClock, day: date) -> Erased:
    clock.set(datetime.combine(day, time(3, 0)))
    result = await api.client.app[JOBS].run_now(ERASE_ENDED_CASES, "demo")
    assert isinstance(result, Erased)
    return result


async def test_an_ended_case_keeps_what_is_counted_and_loses_who_it_was_and_why(
        demo_config: MunicipalityConfig, database_url: str) -> None:
    assert demo_config.retention.enabled and demo_config.retention.erase_after_days == 365
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(database_url), clock=clock):
        ended = await _setup(api, "er-closed")
        await intake(api, body("er-outside", visitation_category=1))  # not in the target group
        await _setup(api, "er-open")  # a target case that goes on
        closed_on = await _held_and_closed(api, clock, "er-closed", ended)
        case = await _row(api, "er-closed")
        assert case.cpr_encrypted and case.citizen_name and case.facts["diagnosis_group"]
        assert await _count(api, DecisionRecord, case.id) > 0
        assert await _count(api, OutboxMessage, case.id) > 0
        assert await _count(api, ConsultantTask, case.id) > 0
        month = case.facts["first_absence_day"][:7]
        register = await _register(api, month)

        # The day the period ends, nothing of the closed case goes yet.
        assert (await _erase_on(api, clock, closed_on + timedelta(days=365))).cases == 1
        assert (await _row(api, "er-closed")).erased_at is None
        # The next day it goes: the case outside the target group (unchanged since its
        # intake) went already; the open case stays.
        clock.set(datetime.combine(closed_on + timedelta(days=366), time(3, 0)))
        figures = await _kpis(api, month)
        result = await _erase_on(api, clock, closed_on + timedelta(days=366))
        assert result == Erased(1, closed_on + timedelta(days=1))
        # The dashboard's figures of its month are the same.
        assert await _kpis(api, month) == figures
        case = await _row(api, "er-closed")
        assert case.erased_at is not None
        assert (case.cpr_encrypted, case.cpr_hash, case.citizen_name, case.citizen_email,
                case.citizen_phone, case.citizen_address, case.contact_name,
                case.contact_email, case.contact_phone, case.close_note) == (None,) * 10
        assert case.reasons == [] and case.owner_reasons == []
        assert case.facts == {
            "case_id": "er-closed", "as_of": None,
            "first_absence_day": body("x")["first_absence_day"], "employment": "employed",
            "employer": {"cvr": "12345678", "name": "Sunds Træ ApS"}}
        # What the figures count stays.
        assert (case.status, case.follow_up, case.closed_on, case.close_outcome) == (
            "target", "workplace_meeting", closed_on, "recovered")
        async with api.client.app[DB].read() as session:
            (held,) = (await session.execute(select(Meeting).where(
                Meeting.case_id == case.id, Meeting.status == "held"))).unique().scalars()
        assert (held.place, held.employer_took_part, held.agreements, held.minutes_note) == (
            "workplace", True, None, None)
        assert held.return_plan is not None and held.return_plan["full_time_from"]
        for model in (DecisionRecord, OutboxMessage, ConsultantTask):
            assert await _count(api, model, case.id) == 0, model
        assert await _register(api, month) == register
        async with api.client.app[DB].read() as session:
            erased = list(await session.execute(select(AuditEntry.case_id, AuditEntry.actor)
                                                  .where(AuditEntry.action == "case.erased")))
        outside = await _row(api, "er-outside")
        assert sorted(erased) == sorted([(case.id, "system"), (outside.id, "system")])
        assert outside.erased_at is not None and outside.cpr_encrypted is None
        assert "diagnosis_group" not in outside.facts and outside.status == "not_target"
        still = await _row(api, "er-open")
        assert still.erased_at is None and still.citizen_name == "Mads Madsen"

        # The operator sees it (counts and ages only).
        resp = await api.client.get("/api/operations", headers=api.auth("admin"))
        cases = (await resp.json())["cases"]
        assert (cases["erased"], cases["last_erasure_age_s"]) == (2, 0)
        # Once only: a second run finds nothing.
        assert (await _erase_on(api, clock, closed_on + timedelta(days=367))).cases == 0

        # Shown, and no change is taken any more: a new sick leave is a new case.
        resp = await api.client.get("/api/cases/er-closed", headers=api.auth("manager"))
        shown = await resp.json()
        assert shown["erased_at"] and shown["cpr"] is None and shown["citizen"] is None
        for method, path, payload in (
                ("patch", "/api/cases/er-closed", {"serious_illness": True}),
                ("post", "/api/cases/er-closed/reopen", None),
                ("post", "/api/cases", body("er-closed"))):
            resp = await api.client.request(method, path, json=payload,
                                            headers=api.auth("intake"))
            assert resp.status == 409 and "case_erased" in await resp.text(), path
        assert (await _row(api, "er-closed")).citizen_name is None
        async for staff in start_staff(api):
            browser = await staff.login("manager")
            response, page = await browser.get("/cases/er-closed")
            assert response.status == 200
            assert 'id="erased"' in page and "opbevaringsperioden" in page
            assert "Genåbn sagen" not in page and "Mads Madsen" not in page
            # A page's form posted anyway (a page left open): the case page says why.
            response, page = await browser.post("/cases/er-closed/reopen")
            assert response.status == 409 and "personoplysninger er slettet" in page
            response, page = await browser.post("/cases/er-closed/close", {
                "outcome": "recovered", "on": closed_on.isoformat()})
            assert response.status == 409 and "personoplysninger er slettet" in page
            consultant = await staff.login("consultant")
            response, page = await consultant.get("/my-cases/er-closed")
            assert response.status == 200 and 'id="erased"' in page


def test_the_kept_facts_are_the_counted_ones_only() -> None:
    facts = {"case_id": "a", "as_of": "2026-01-02", "first_absence_day": "2026-01-01",
             "handed_over_on": "2026-01-10", "employment": "employed",
             "employer": {"cvr": "12345678", "name": "X", "contact_name": "Lone Berg"},
             "diagnosis_group": "mental", "serious_illness": True, "workplace_cause": False,
             "full_recovery_plan_date": "2026-03-01", "citizen_wants_private_talk": True,
             "visitation_category": 3}
    assert kept_facts(facts) == {
        "case_id": "a", "as_of": "2026-01-02", "first_absence_day": "2026-01-01",
        "handed_over_on": "2026-01-10", "employment": "employed",
        "employer": {"cvr": "12345678", "name": "X"}}


def _add_closed_case(path: str, ref: str, closed_on: date) -> int:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC).isoformat(" ")
    with sqlite3.connect(path) as connection:
        return int(connection.execute(
            "INSERT INTO cases (municipality_id, case_ref, facts, cpr_encrypted, citizen_name,"
            " as_of, status, private_talk_first, first_meeting_deadline,"
            " intervention_deadline, reasons, missing, owner_reasons, owner_overridden,"
            " closed_on, created_at, updated_at) VALUES ('demo', ?, ?, 'v1.x.y', 'Ib Holm',"
            " '2020-01-01', 'target', 0, '2020-02-25', '2020-03-31', '[]', '[]', '[]', 0, ?,"
            " ?, ?)",
            (ref, json.dumps({"case_id": ref, "diagnosis_group": "mental"}),
             closed_on.isoformat(), long_ago, long_ago)).lastrowid or 0)


def _add_message(path: str, case_pk: int, channel: str, status: str, created: datetime) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO outbox (municipality_id, channel, kind, recipient, subject, body_text,"
            " payload, message_id, case_id, status, attempts, next_attempt_at, created_at)"
            " VALUES ('demo', ?, 'meeting_cancelled', 'Ib Holm', 'Aflyst', 'Kære Ib Holm',"
            " '{}', ?, ?, ?, 0, ?, ?)",
            (channel, f"<{uuid.uuid4().hex}@demo.example>", case_pk, status,
             created.isoformat(" "), created.isoformat(" ")))


def _statuses(path: str, case_pk: int) -> list[str]:
    with sqlite3.connect(path) as connection:
        return sorted(s for (s,) in connection.execute(
            "SELECT status FROM outbox WHERE case_id = ?", (case_pk,)))


async def test_a_case_with_a_message_still_to_deliver_waits_for_it(sqlite_url: str) -> None:
    """A case closed with a back-dated day queues its cancellation letter and mail today: it
    is not erased (nor its messages) until they are printed and sent — the dry run says so
    — or have waited HOLD_UNSENT_DAYS (stale: erased with the case)."""
    path = sqlite_url.partition(":///")[2]
    clock = SettableClock(datetime(2026, 11, 23, 3, 0))
    now = clock.utcnow()
    db = Database(sqlite_url, clock)
    erasure = CaseErasure(db, clock, "demo", RetentionConfig())
    back_dated = _add_closed_case(path, "back-dated", clock.today() - timedelta(days=400))
    _add_message(path, back_dated, "letter", "to_print", now)
    _add_message(path, back_dated, "email", "pending", now)
    _add_message(path, back_dated, "email", "sent", now - timedelta(days=300))
    stale = _add_closed_case(path, "stale", clock.today() - timedelta(days=400))
    _add_message(path, stale, "slack", "pending", now - timedelta(days=HOLD_UNSENT_DAYS + 1))
    try:
        dry = await erasure.count_due()
        assert (dry.cases, dry.held_back) == (1, 1)
        result = await erasure.erase_due()
        assert (result.cases, result.held_back) == (1, 1)
        assert _erased(path) == {"back-dated": False, "stale": True}
        assert _statuses(path, back_dated) == ["pending", "sent", "to_print"]  # all kept
        assert _statuses(path, stale) == []

        with sqlite3.connect(path) as connection:  # the letter printed; the mail still waits
            connection.execute("UPDATE outbox SET status = 'printed' WHERE status = 'to_print'")
        assert (await erasure.erase_due()).held_back == 1
        with sqlite3.connect(path) as connection:  # … and sent
            connection.execute("UPDATE outbox SET status = 'sent' WHERE status = 'pending'")
        assert await erasure.count_due() == Erased(1, result.ended_before, 0, 0)
        assert (await erasure.erase_due()).cases == 1
        assert _erased(path) == {"back-dated": True, "stale": True}
        assert _statuses(path, back_dated) == []

        # A message that never goes (a letter nobody prints) holds its case a month at most.
        waiting = _add_closed_case(path, "never-printed", clock.today() - timedelta(days=400))
        _add_message(path, waiting, "letter", "to_print", clock.utcnow())
        assert (await erasure.erase_due()).held_back == 1
        clock.advance(timedelta(days=HOLD_UNSENT_DAYS, minutes=1))
        assert (await erasure.erase_due()).cases == 1
        assert _statuses(path, waiting) == []
    finally:
        await db.dispose()


def _erased(path: str) -> dict[str, bool]:
    with sqlite3.connect(path) as connection:
        return {ref: erased is not None for ref, erased in connection.execute(
            "SELECT case_ref, erased_at FROM cases ORDER BY case_ref")}
