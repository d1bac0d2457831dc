"""Erasing ended cases' personal and health data (`[retention]`): storage limitation.

fasthold is not the case's record — the municipality's case system is —, so an ended case
keeps its personal data only `erase_after_days` (a municipality's choice, 365 by default).
A case has ended when it was closed that long ago, or — outside the target group (excluded,
not in it, facts missing), never closed — when nothing changed in it for that long.

What goes:
- the CPR (encrypted and its hash), the citizen's name, e-mail, phone and address, and the
  workplace's contact person;
- the health facts: of the facts only the case's id, its dates, the employment and the
  employer's CVR and name stay; the decision's reasons and the owner's reasons (which name
  exclusions and skills) are emptied; the decisions' history (every version of the facts) is
  deleted;
- the meetings' agreements, staff notes, decline notes, cancel reasons and employers'
  wishes, the closing note;
- the case's messages in the outbox (their bodies name the citizen) with their Slack post
  records, and its tasks.

A case with a message still to be delivered — waiting to be sent (`pending`, `sending`) or a
letter waiting to be printed (`to_print`), queued less than `HOLD_UNSENT_DAYS` ago — is not
erased yet: a case closed with a back-dated day must not lose the cancellation letter it has
just queued. It is erased on the first run after its messages are settled (sent, failed,
printed, obsolete) or have waited that long (a message never sent in a month — a channel
never set up, a letter nobody printed — is stale, and erased with the case). The cases held
back are counted (`Erased.held_back`, the run's log line, `fasthold erase --dry-run`).

The consultants' own absences (their reason may be "sygdom": their health) are deleted once
they were over as long ago.

What stays: what the dashboard, the milestones and the register count — the decision, the
follow-up kind, the deadlines, the meetings' kinds, times, places and whether the employer
took part, the return plan (hours a week, the day of full time), the interventions, the
outcome — and the audit log (who did what, when; it holds no CPR or health data). Each erased
case gets an audit entry `case.erased`, and `erased_at`; from then on it takes no change
(`service.intake.service`: a change is a conflict; a new sick leave is a new case).

Run as the daily `erase_ended_cases` job: idempotent (a case is erased once; a run that stops
half-way leaves whole batches erased and the rest for the next run), in batches of `BATCH`
cases per transaction so no write holds the database long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from service.clock import Clock
from service.config import RetentionConfig
from service.platform import audit
from service.platform.db.engine import Database
from service.platform.db.models import (
    AuditEntry,
    Case,
    ConsultantAbsence,
    ConsultantTask,
    DecisionRecord,
    Meeting,
    OutboxMessage,
    SlackPost,
)

log = logging.getLogger("fasthold.retention")

# Cases erased in one transaction.
BATCH = 200
# A case with a message queued less than this long ago and not yet delivered (waiting to be
# sent or printed) waits for it before its erasure.
HOLD_UNSENT_DAYS = 30
UNSENT = ("pending", "sending", "to_print")
# The facts an erased case keeps: what the figures read (the month of the first absence day,
# the hand-over) and what says which case it was (its id, employment, the employer).
KEPT_FACTS = ("case_id", "as_of", "first_absence_day", "handed_over_on", "employment")
KEPT_EMPLOYER_FACTS = ("cvr", "name")

_PERSONAL_NULLED = {
    "cpr_encrypted": None, "cpr_hash": None, "citizen_name": None, "citizen_email": None,
    "citizen_phone": None, "citizen_address": None, "contact_name": None,
    "contact_email": None, "contact_phone": None, "close_note": None,
    "reasons": [], "owner_reasons": []}
_ERASE_CASE = update(Case.__table__).where(Case.__table__.c.id == bindparam("case_pk")).values(
    facts=bindparam("kept_facts"), erased_at=bindparam("erased_now"),
    updated_at=bindparam("erased_now"), **_PERSONAL_NULLED)
_ERASE_MINUTES = update(Meeting).where(Meeting.case_id.in_(bindparam("ids", expanding=True))
                                       ).values(agreements=None, minutes_note=None,
                                                decline_note=None, employer_preferences=None,
                                                cancel_reason=None)


@dataclass(frozen=True)
class Erased:
    """One run: how many cases were erased, the day before which they had ended, and how
    many consultants' absences over before that day were deleted."""

    cases: int
    ended_before: date
    absences: int = 0
    held_back: int = 0  # ended, but with a message still to deliver: erased once settled


def kept_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts an erased case keeps (`KEPT_FACTS`, the employer's CVR and name)."""
    kept = {key: facts[key] for key in KEPT_FACTS if key in facts}
    employer = facts.get("employer")
    if isinstance(employer, dict):
        kept["employer"] = {key: employer[key] for key in KEPT_EMPLOYER_FACTS
                            if key in employer}
    return kept


class CaseErasure:
    """Erases the personal and health data of the cases that ended `erase_after_days` ago."""

    def __init__(self, db: Database, clock: Clock, municipality_id: str,
                 retention: RetentionConfig) -> None:
        self.db = db
        self.clock = clock
        self.municipality = municipality_id
        self.retention = retention

    def ended_before(self) -> date:
        """A case that ended before this day is erased (today minus `erase_after_days`)."""
        return self.clock.today() - timedelta(days=self.retention.erase_after_days)

    def _ended_condition(self, ended_before: date) -> ColumnElement[bool]:
        # Outside the target group and never closed: ended when it last changed (its
        # `updated_at`, UTC) — before midnight UTC of `ended_before`, a day's margin at most.
        unchanged_since = datetime.combine(ended_before, time(0, 0), tzinfo=UTC)
        return and_(
            Case.municipality_id == self.municipality, Case.erased_at.is_(None),
            or_(Case.closed_on < ended_before,
                and_(Case.closed_on.is_(None), Case.status != "target",
                     Case.updated_at < unchanged_since)))

    def _undelivered(self) -> ColumnElement[bool]:
        """The case has a message queued less than HOLD_UNSENT_DAYS ago and not delivered."""
        since = self.clock.utcnow() - timedelta(days=HOLD_UNSENT_DAYS)
        return exists().where(OutboxMessage.case_id == Case.id,
                              OutboxMessage.status.in_(UNSENT),
                              OutboxMessage.created_at >= since)

    def _due_condition(self, ended_before: date) -> ColumnElement[bool]:
        return and_(self._ended_condition(ended_before), ~self._undelivered())

    def _due(self, ended_before: date) -> Any:
        return select(Case.id, Case.facts).where(self._due_condition(ended_before)
                                                 ).order_by(Case.id).limit(BATCH)

    async def _held_back(self, ended_before: date) -> int:
        async with self.db.read() as session:
            return int((await session.execute(select(func.count()).select_from(Case).where(
                self._ended_condition(ended_before), self._undelivered()))).scalar_one())

    async def count_due(self) -> Erased:
        """How many cases a run now would erase (whether or not `[retention]` is enabled),
        and how many more have ended but wait for a message to be delivered:
        `fasthold erase --dry-run`, before a municipality turns it on."""
        ended_before = self.ended_before()
        async with self.db.read() as session:
            due = (await session.execute(select(func.count()).select_from(Case).where(
                self._due_condition(ended_before)))).scalar_one()
            absences = (await session.execute(select(func.count()).select_from(
                ConsultantAbsence).where(self._absence_over(ended_before)))).scalar_one()
        return Erased(int(due), ended_before, int(absences),
                      await self._held_back(ended_before))

    def _absence_over(self, ended_before: date) -> ColumnElement[bool]:
        return and_(ConsultantAbsence.municipality_id == self.municipality,
                    ConsultantAbsence.last_day < ended_before)

    async def erase_due(self) -> Erased:
        """Erase every case that is due, a batch per transaction; returns how many."""
        ended_before = self.ended_before()
        if not self.retention.enabled:
            return Erased(0, ended_before)
        erased = 0
        while True:
            async with self.db.write_connection() as connection:
                rows = (await connection.execute(self._due(ended_before))).all()
                if rows:
                    await self._erase(connection, rows)
            erased += len(rows)
            if len(rows) < BATCH:
                break
        # The consultants' own absences (a reason "sygdom" is their health) once over as
        # long: planning, the lists and the simulation read only those not yet over.
        async with self.db.write_connection() as connection:
            absences = (await connection.execute(delete(ConsultantAbsence).where(
                self._absence_over(ended_before)))).rowcount or 0
        held_back = await self._held_back(ended_before)
        if erased or absences or held_back:
            log.info("erased the personal data of %d cases that ended before %s and %d "
                     "consultants' absences over by then; %d ended cases wait for a message "
                     "to be delivered first", erased, ended_before.isoformat(), absences,
                     held_back)
        return Erased(erased, ended_before, absences, held_back)

    async def _erase(self, connection: AsyncConnection, rows: list[Any]) -> None:
        now = self.clock.utcnow()
        ids = [row.id for row in rows]
        await connection.execute(_ERASE_CASE, [
            {"case_pk": row.id, "kept_facts": kept_facts(row.facts or {}), "erased_now": now}
            for row in rows])
        await connection.execute(delete(DecisionRecord).where(DecisionRecord.case_id.in_(ids)))
        await connection.execute(_ERASE_MINUTES, {"ids": ids})
        await connection.execute(delete(ConsultantTask).where(ConsultantTask.case_id.in_(ids)))
        # Every message of the case: those delivered, and those still waiting after
        # HOLD_UNSENT_DAYS (Slack never configured, a letter nobody printed: stale) — a case
        # with a message waiting less long is not due (`_undelivered`). One that became due
        # again meanwhile and is being sent right now is sent, and its result finds no row.
        messages = select(OutboxMessage.id).where(OutboxMessage.case_id.in_(ids))
        await connection.execute(delete(SlackPost).where(or_(
            SlackPost.outbox_id.in_(messages), SlackPost.case_id.in_(ids))))
        await connection.execute(delete(OutboxMessage).where(OutboxMessage.case_id.in_(ids)))
        details = {"erase_after_days": self.retention.erase_after_days}
        await connection.execute(insert(AuditEntry.__table__), [
            audit.entry(None, self.municipality, "case.erased", case_id, details) | {"at": now}
            for case_id in ids])
