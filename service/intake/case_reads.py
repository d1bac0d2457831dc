"""What the staff pages read about cases beyond the API's case view: the case list with its
filters, search, sorting and paging, and a case's meetings, messages and audit trail.

Need to know applies as in the API (a consultant reads only the cases they own) and every
list is in the audit log (`case.list`); a case's page is audited by `IntakeService.get`. A
search by CPR number (exact, by the number's keyed hash; the number itself is never stored
in the log) is also in the trail of every case it found (`case.search`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from service.clock import Clock
from service.consultants.choices import OwnerChoice, owner_choices
from service.intake.signals import at_risk_condition, same_citizen_open
from service.platform.audit import ReadAudit
from service.platform.auth import Principal, need_to_know
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import (
    AuditEntry,
    Case,
    Consultant,
    Employer,
    Meeting,
    OutboxMessage,
)
from service.platform.paging import page_count
from service.text.case_words import CANCELLED_KINDS, cancelled_by

PER_PAGE = 50
NO_OWNER = "none"

# Open cases before closed ones in every order (a closed case's old deadline never leads).
_OPEN_FIRST = Case.closed_on.is_(None).desc()
# By deadline, the cases still waiting for their first meeting before those that have held it
# (its deadline no longer matters: after a year, a municipality's oldest open cases would
# otherwise fill the first pages), as Mine sager orders them.
_HELD_LAST = exists().where(Meeting.case_id == Case.id, Meeting.status == "held").asc()
# The cases that are work before those fasthold only keeps: missing facts (intake's to get),
# then the target group; the excluded and those outside the target group last (no meeting is
# planned for them — by deadline they filled the first pages with months-old cases).
_WORK_FIRST = sql_case((Case.status == "incomplete", 0), (Case.status == "target", 1),
                       else_=2).asc()
SORTS: dict[str, tuple[Any, ...]] = {
    "frist": (_OPEN_FIRST, _WORK_FIRST, _HELD_LAST, Case.first_meeting_deadline.asc(),
              Case.id.asc()),
    "-frist": (_OPEN_FIRST, _WORK_FIRST, _HELD_LAST, Case.first_meeting_deadline.desc(),
               Case.id.desc()),
    "sag": (Case.case_ref.asc(),),
    "-sag": (Case.case_ref.desc(),),
    "oprettet": (Case.created_at.asc(), Case.id.asc()),
    "-oprettet": (Case.created_at.desc(), Case.id.desc()),
    "status": (Case.status.asc(), Case.first_meeting_deadline.asc(), Case.id.asc()),
    "-status": (Case.status.desc(), Case.first_meeting_deadline.asc(), Case.id.asc()),
}


SHOWN = ("open", "closed", "all")  # which cases: open (the default), closed, or all


@dataclass(frozen=True)
class ListFilters:
    status: str | None = None
    follow_up: str | None = None
    owner: str | None = None  # a consultant's key, or "none"
    at_risk: bool = False
    # only open cases whose citizen (the same CPR number) has another open case
    same_citizen: bool = False
    shown: str = "open"
    sort: str = "frist"
    page: int = 1
    # Case number, citizen's name, employer's name (parts, any case) or CVR (exact).
    search: str = ""
    # A CPR search: the number's lookup hashes under every data key (exact match only).
    cpr_hashes: tuple[str, ...] = ()


# SQLite's lower() folds only A-Z; these it is told (the letters of Danish names).
_FOLD = (("Æ", "æ"), ("Ø", "ø"), ("Å", "å"), ("Ä", "ä"), ("Ö", "ö"), ("Ü", "ü"), ("É", "é"))


def _contains(column: Any, text: str, sqlite: bool) -> ColumnElement[bool]:
    """`column` holds `text` anywhere, in any case (LIKE's wildcards in `text` escaped)."""
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
        "_", "\\_") + "%"
    if not sqlite:
        return column.ilike(pattern, escape="\\")  # PostgreSQL folds every letter
    folded = func.lower(column)
    for upper, lower in _FOLD:
        folded = func.replace(folded, upper, lower)
    return folded.like(pattern, escape="\\")


@dataclass(frozen=True)
class CaseRow:
    case_ref: str
    status: str
    follow_up: str | None
    first_absence_day: str | None
    deadline: date
    owner_name: str | None
    employer_name: str | None
    meeting_status: str | None
    meeting_start: datetime | None
    at_risk: bool
    closed_on: date | None


class CaseReads:
    """The staff pages' reads of one municipality's cases."""

    def __init__(self, db: Database, reads: ReadAudit, clock: Clock, municipality_id: str
                 ) -> None:
        self.db = db
        self.reads = reads
        self.clock = clock
        self.municipality_id = municipality_id

    async def page(self, principal: Principal, filters: ListFilters
                   ) -> tuple[list[CaseRow], int]:
        """One page of the list (PER_PAGE rows; past the last page, the last) and the number
        of matching cases."""
        conditions: list[ColumnElement[bool]] = [Case.municipality_id == self.municipality_id]
        if filters.status:
            conditions.append(Case.status == filters.status)
        if filters.follow_up:
            conditions.append(Case.follow_up == filters.follow_up)
        if filters.owner == NO_OWNER:
            conditions.append(Case.owner_id.is_(None))
        elif filters.owner:
            conditions.append(Case.owner.has(Consultant.key == filters.owner))
        if filters.shown == "open":
            conditions.append(Case.closed_on.is_(None))
        elif filters.shown == "closed":
            conditions.append(Case.closed_on.is_not(None))
        if filters.cpr_hashes:  # a number like a CPR number may also be a case number
            conditions.append(or_(Case.cpr_hash.in_(filters.cpr_hashes),
                                  Case.case_ref == filters.search))
        elif filters.search:
            text, sqlite = filters.search, self.db.is_sqlite
            conditions.append(or_(
                _contains(Case.case_ref, text, sqlite),
                _contains(Case.citizen_name, text, sqlite),
                Case.employer.has(or_(_contains(Employer.name, text, sqlite),
                                      Employer.cvr == text))))
        at_risk = at_risk_condition(self.clock.today())
        if filters.at_risk:
            conditions.append(at_risk)
        only = need_to_know(principal)
        if filters.same_citizen:
            other = aliased(Case)
            conditions.append(exists().where(
                same_citizen_open(Case, other),
                # need to know: a consultant's other case must be theirs too
                *(() if only is None else (other.owner_id == Case.owner_id,))))
        if only is not None:
            conditions.append(Case.owner.has(Consultant.key == only))
        order = SORTS.get(filters.sort, SORTS["frist"])
        async with self.db.read() as session:
            total = (await session.execute(select(func.count(Case.id)).where(*conditions))
                     ).scalar_one()
            page = min(max(filters.page, 1), page_count(total, PER_PAGE))
            offset = (page - 1) * PER_PAGE
            found = (await session.execute(
                select(Case, at_risk.label("at_risk")).where(*conditions).order_by(*order)
                .limit(PER_PAGE).offset(offset))).unique().all()
            ids = [case.id for case, _ in found]
            found_ids = [(case.id, case.case_ref) for case, _ in found]
            meetings: dict[int, Meeting] = {}
            if ids:
                for meeting in (await session.execute(select(Meeting).where(
                        Meeting.case_id.in_(ids), Meeting.status.in_(("proposed", "confirmed",
                                                                      "held")))
                        .order_by(Meeting.id))).unique().scalars():
                    meetings[meeting.case_id] = meeting
            rows = [CaseRow(
                case_ref=case.case_ref, status=case.status, follow_up=case.follow_up,
                first_absence_day=(case.facts or {}).get("first_absence_day"),
                deadline=case.first_meeting_deadline,
                owner_name=case.owner.name if case.owner else None,
                employer_name=case.employer.name if case.employer else None,
                meeting_status=meetings[case.id].status if case.id in meetings else None,
                meeting_start=meetings[case.id].start if case.id in meetings else None,
                at_risk=bool(risky), closed_on=case.closed_on) for case, risky in found]
        details: dict[str, Any] = {
            "filters": {"status": filters.status, "follow_up": filters.follow_up,
                        "owner": filters.owner, "at_risk": filters.at_risk,
                        "same_citizen": filters.same_citizen, "shown": filters.shown},
            "page": page, "returned": len(rows), "via": "page"}
        if filters.cpr_hashes or filters.search:
            # What was searched for is not kept (a name or a CPR number), only what was found.
            details["search"] = "cpr" if filters.cpr_hashes else "text"
            details["found"] = [ref for _, ref in found_ids]
        entries = [self.reads.record(principal, self.municipality_id, "case.list", None,
                                     details)]
        if filters.cpr_hashes:
            entries += [self.reads.record(principal, self.municipality_id, "case.search", id_,
                                          {"by": "cpr", "via": "page"})
                        for id_, _ in found_ids]
        await asyncio.gather(*entries)
        return rows, total

    async def exists(self, case_ref: str) -> bool:
        async with self.db.read() as session:
            return (await session.execute(select(Case.id).where(
                Case.municipality_id == self.municipality_id, Case.case_ref == case_ref))
            ).first() is not None

    async def created(self, case_ref: str) -> tuple[str, datetime] | None:
        """Who created the case and when (its `case.create` audit entry), if it exists."""
        async with self.db.read() as session:
            row = (await session.execute(
                select(AuditEntry.actor, AuditEntry.at).join(Case, Case.id == AuditEntry.case_id)
                .where(Case.municipality_id == self.municipality_id,
                       Case.case_ref == case_ref, AuditEntry.action == "case.create")
                .order_by(AuditEntry.id).limit(1))).first()
        return (row[0], as_utc(row[1])) if row is not None else None

    async def existing(self, case_refs: list[str]) -> set[str]:
        """Which of these case ids exist (in chunks: a query takes a bounded list)."""
        found: set[str] = set()
        async with self.db.read() as session:
            for start in range(0, len(case_refs), 500):
                chunk = case_refs[start:start + 500]
                found.update((await session.execute(select(Case.case_ref).where(
                    Case.municipality_id == self.municipality_id,
                    Case.case_ref.in_(chunk)))).scalars())
        return found

    async def owner_choices(self, case_ref: str) -> list[OwnerChoice]:
        """Whom intake may make the case's owner (`service.consultants.choices`: the case
        page and Slack's "Skift konsulent" offer the same); [] for an unknown case. Call only
        after the caller was allowed to act on the case."""
        async with self.db.read() as session:
            case = (await session.execute(select(Case).where(
                Case.municipality_id == self.municipality_id, Case.case_ref == case_ref))
            ).unique().scalar_one_or_none()
            if case is None:
                return []
            return await owner_choices(session, self.municipality_id, case,
                                       self.clock.today())

    async def details(self, case_ref: str) -> dict[str, Any]:
        """A case's meetings (every one, newest first), the messages sent about it (channel,
        kind, status; never a body) and its audit trail. Call only after the caller was
        allowed to read the case (`IntakeService.get`)."""
        async with self.db.read() as session:
            case_id = (await session.execute(select(Case.id).where(
                Case.municipality_id == self.municipality_id, Case.case_ref == case_ref))
            ).scalar_one_or_none()
            if case_id is None:
                return {"meetings": [], "messages": [], "audit": []}
            meetings = (await session.execute(select(Meeting).where(
                Meeting.case_id == case_id).order_by(Meeting.id.desc()))).unique().scalars().all()
            cancel_reasons = {m.id: m.cancel_reason for m in meetings}
            messages = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.case_id == case_id).order_by(OutboxMessage.id.desc()))
            ).scalars()
            trail = (await session.execute(select(AuditEntry).where(
                AuditEntry.case_id == case_id).order_by(AuditEntry.id.desc()).limit(200))
            ).scalars()
            return {
                "meetings": [{
                    "status": m.status, "kind": m.kind, "start": m.start, "end": m.end,
                    "consultant": m.consultant.name, "on_time": m.on_time,
                    "employer_answer": m.employer_answer, "place": m.place,
                    "employer_took_part": m.employer_took_part,
                    "cancel_reason": m.cancel_reason,
                    "cancelled_by": cancelled_by(m.cancel_reason)
                    if m.status == "cancelled" else None} for m in meetings],
                "messages": [{
                    "channel": m.channel, "kind": m.kind, "status": m.status,
                    # A cancellation says who cancelled (the jobcentre, the employer) and why.
                    "cancelled_by": cancelled_by(cancel_reasons.get(m.meeting_id))
                    if m.kind in CANCELLED_KINDS and m.meeting_id in cancel_reasons else None,
                    "attempts": m.attempts, "created_at": as_utc(m.created_at),
                    "recipient": m.recipient if m.channel != "slack" else "Slack",
                    "error": m.last_error} for m in messages],
                "audit": [{
                    "at": as_utc(a.at), "actor": a.actor, "action": a.action,
                    "details": a.details} for a in trail],
            }
