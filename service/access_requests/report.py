"""The access request (GDPR article 15) as a use case: every case of a CPR number with all
fasthold holds on it, and the record of the request in the audit log.

Found by the CPR number's keyed hash under the current and the previous data keys (no row is
decrypted to search). Read in one go of plain Core statements (`Database.run_read`); each
case found gets an audit entry `case.access_request`, and the request itself one
`access_request.made` with the number of cases (never the CPR number). An erased case
(`service.retention`) has no CPR number left, so it is not found: fasthold no longer holds
the citizen's data in it.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from service.access_requests.about import about_processing
from service.access_requests.report_models import (
    AccessCaseReportOut,
    AccessDecisionOut,
    AccessInterventionOut,
    AccessLabelledValue,
    AccessLookupOut,
    AccessMeetingOut,
    AccessMessageOut,
    AccessReportOut,
    AccessTaskOut,
)
from service.clock import Clock
from service.config import MunicipalityConfig
from service.intake.form import BY_PATH, CHOICES
from service.meetings.decline_reasons import DECLINE_REASONS
from service.platform.audit import ReadAudit
from service.platform.auth import Principal
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import (
    AuditEntry,
    Case,
    Consultant,
    ConsultantTask,
    DecisionRecord,
    Employer,
    Intervention,
    Meeting,
    OutboxMessage,
)
from service.text.case_words import (
    ACTOR_ROLE,
    AUDIT_ACTION,
    CHANNEL,
    CLOSED_AS,
    EMPLOYER_ANSWER,
    FOLLOW_UP,
    MEETING_KIND,
    MEETING_PURPOSE,
    MEETING_STATUS,
    MESSAGE_KIND,
    MESSAGE_STATUS,
    PLACE,
    STATUS,
    TRIGGER,
    word,
)
from service.text.minutes_words import INTERVENTION_KIND, WHO
from service.text.reasons import decision_reason_in_words

# Facts shown elsewhere in the report (the citizen's and the workplace's details) or not facts
# of the citizen (the case's own number, the date the rules read them).
_NOT_FACTS = ("case_id", "as_of", "cpr")
# A message's links that act for their recipient without a login: the employer's meeting
# page (`/m/<token>`, its answers under it) and the citizen's talk page (`/samtale/<token>`,
# the letter's `/samtale/k/<code>`). A printed report handed to the citizen must not carry
# them working (whoever holds the employer's link answers for the employer).
_LIVE_LINK = re.compile(r"(/(?:m|samtale/k|samtale)/)[^\s<>\"')\]]+")
LINK_REMOVED = "[link fjernet]"
_TRUTH = {True: "Ja", False: "Nej"}
# Who looked the case up, by role (the system's own work too).
ROLE = {**ACTOR_ROLE, "system": "fasthold"}


@dataclass
class _Found:
    """What one read found, row by row, per case id."""

    cases: list[Any]
    decisions: dict[int, list[Any]]
    meetings: dict[int, list[Any]]
    interventions: dict[int, list[Any]]
    messages: dict[int, list[Any]]
    tasks: dict[int, list[Any]]
    lookups: dict[int, list[Any]]


def _by_case(rows: Any) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.case_id].append(row)
    return out


def _read(connection: Connection, municipality: str, hashes: list[str]) -> _Found:
    owner, held_by = Consultant.__table__.alias("owner"), Consultant.__table__.alias("held_by")
    cases = list(connection.execute(
        select(*Case.__table__.columns, Employer.cvr.label("employer_cvr"),
               Employer.name.label("employer_name"), owner.c.name.label("owner_name"))
        .select_from(Case.__table__.outerjoin(Employer.__table__,
                                              Employer.id == Case.employer_id)
                     .outerjoin(owner, owner.c.id == Case.owner_id))
        .where(Case.municipality_id == municipality, Case.cpr_hash.in_(hashes))
        .order_by(Case.created_at, Case.id)))
    ids = [row.id for row in cases]
    if not ids:
        return _Found([], {}, {}, {}, {}, {}, {})
    return _Found(
        cases,
        _by_case(connection.execute(select(DecisionRecord.__table__).where(
            DecisionRecord.case_id.in_(ids)).order_by(DecisionRecord.id))),
        _by_case(connection.execute(
            select(*Meeting.__table__.columns, held_by.c.name.label("consultant_name"))
            .select_from(Meeting.__table__.outerjoin(held_by,
                                                     held_by.c.id == Meeting.consultant_id))
            .where(Meeting.case_id.in_(ids)).order_by(Meeting.start, Meeting.id))),
        _by_case(connection.execute(select(Intervention.__table__).where(
            Intervention.case_id.in_(ids)).order_by(Intervention.started_on,
                                                    Intervention.id))),
        _by_case(connection.execute(
            select(OutboxMessage.case_id, OutboxMessage.created_at, OutboxMessage.channel,
                   OutboxMessage.kind, OutboxMessage.recipient, OutboxMessage.subject,
                   OutboxMessage.status, OutboxMessage.sent_at, OutboxMessage.body_text)
            .where(OutboxMessage.case_id.in_(ids)).order_by(OutboxMessage.id))),
        _by_case(connection.execute(
            select(ConsultantTask.case_id, ConsultantTask.created_at, ConsultantTask.text,
                   ConsultantTask.due_on, ConsultantTask.done_at)
            .where(ConsultantTask.case_id.in_(ids)).order_by(ConsultantTask.id))),
        _by_case(connection.execute(
            select(AuditEntry.case_id, AuditEntry.at, AuditEntry.role, AuditEntry.action)
            .where(AuditEntry.case_id.in_(ids)).order_by(AuditEntry.at, AuditEntry.id))))


class AccessRequests:
    """One municipality's access requests."""

    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 cipher: DataCipher, reads: ReadAudit) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.cipher = cipher
        self.reads = reads
        self.municipality = config.municipality.id

    async def report(self, cpr: str, principal: Principal) -> AccessReportOut:
        """Everything held on the citizen with this CPR number (10 digits, as
        `normalise_cpr` makes them); audited before it is returned."""
        hashes = self.cipher.lookup_hashes(cpr)
        found = await self.db.run_read(lambda connection: _read(connection, self.municipality,
                                                                hashes))
        # one transaction for all the entries (the read audit's batch), not one per case
        await asyncio.gather(
            *(self.reads.record(principal, self.municipality, "case.access_request", row.id)
              for row in found.cases),
            self.reads.record(principal, self.municipality, "access_request.made", None,
                              {"cases": len(found.cases)}))
        return AccessReportOut(
            made_at=self._local(self.clock.utcnow()), municipality=self.config.municipality.name,
            cpr=f"{cpr[:6]}-{cpr[6:]}",
            cases=[self._case(row, found) for row in found.cases],
            about=about_processing(self.config.municipality.name, self.config.retention))

    def _local(self, moment: datetime) -> str:
        return as_utc(moment).astimezone(self.clock.tz).isoformat(timespec="minutes")

    def _local_or_none(self, moment: datetime | None) -> str | None:
        return None if moment is None else self._local(moment)

    def _case(self, row: Any, found: _Found) -> AccessCaseReportOut:
        facts = dict(row.facts or {})
        return AccessCaseReportOut(
            case_id=row.case_ref, registered_at=self._local(row.created_at),
            status=word(STATUS, row.status),
            follow_up=None if row.follow_up is None else word(FOLLOW_UP, row.follow_up),
            first_meeting_deadline=row.first_meeting_deadline.isoformat(),
            intervention_deadline=row.intervention_deadline.isoformat(),
            reasons=[decision_reason_in_words(code) for code in row.reasons or []]
            + [str(reason) for reason in row.owner_reasons or []],
            consultant=row.owner_name,
            employer=None if row.employer_cvr is None
            else f"{row.employer_name or ''} (CVR {row.employer_cvr})".strip(),
            citizen=_present([("Navn", row.citizen_name), ("E-mail", row.citizen_email),
                              ("Telefon", row.citizen_phone),
                              ("Postadresse", row.citizen_address)]),
            workplace=_present([("Arbejdspladsens adresse", row.workplace_address),
                                ("Kontaktperson", row.contact_name),
                                ("Kontaktpersonens e-mail", row.contact_email),
                                ("Kontaktpersonens telefon", row.contact_phone)]),
            facts=_facts(facts),
            closed_on=None if row.closed_on is None else row.closed_on.isoformat(),
            close_outcome=None if row.close_outcome is None
            else word(CLOSED_AS, row.close_outcome),
            close_note=row.close_note,
            decisions=[self._decision(d) for d in found.decisions.get(row.id, [])],
            meetings=[self._meeting(m) for m in found.meetings.get(row.id, [])],
            interventions=[AccessInterventionOut(
                kind=word(INTERVENTION_KIND, i.kind), started_on=i.started_on.isoformat(),
                ends_on=None if i.ends_on is None else i.ends_on.isoformat(),
                hours_per_week=i.hours_per_week) for i in found.interventions.get(row.id, [])],
            messages=[AccessMessageOut(
                created_at=self._local(m.created_at), channel=word(CHANNEL, m.channel),
                kind=word(MESSAGE_KIND, m.kind), recipient=m.recipient, subject=m.subject,
                status=word(MESSAGE_STATUS, m.status), sent_at=self._local_or_none(m.sent_at),
                body_text=without_live_links(m.body_text))
                for m in found.messages.get(row.id, [])],
            tasks=[AccessTaskOut(created_at=self._local(t.created_at), text=t.text,
                           due_on=None if t.due_on is None else t.due_on.isoformat(),
                           done_at=self._local_or_none(t.done_at))
                   for t in found.tasks.get(row.id, [])],
            lookups=[AccessLookupOut(at=self._local(a.at), role=word(ROLE, a.role),
                               action=word(AUDIT_ACTION, a.action, a.action))
                     for a in found.lookups.get(row.id, [])])

    def _decision(self, row: Any) -> AccessDecisionOut:
        before, after = row.before or {}, row.after or {}
        return AccessDecisionOut(
            at=self._local(row.at), trigger=word(TRIGGER, row.trigger, row.trigger),
            status_before=None if not before else word(STATUS, before.get("status")),
            status_after=word(STATUS, after.get("status")),
            changed_facts=[_fact_label(str(name)) for name in row.changed_facts or []],
            reasons=[decision_reason_in_words(str(code)) for code in after.get("reasons", [])])

    def _meeting(self, row: Any) -> AccessMeetingOut:
        return AccessMeetingOut(
            kind=word(MEETING_KIND, row.kind), purpose=word(MEETING_PURPOSE, row.purpose),
            status=word(MEETING_STATUS, row.status),
            start=row.start.isoformat(timespec="minutes"),
            end=row.end.isoformat(timespec="minutes"), consultant=row.consultant_name,
            place=None if row.place is None else word(PLACE, row.place),
            employer_took_part=row.employer_took_part,
            employer_answer=None if row.employer_answer is None
            else word(EMPLOYER_ANSWER, row.employer_answer),
            held_at=None if row.held_at is None else row.held_at.isoformat(timespec="minutes"),
            agreements=[_agreement(item) for item in row.agreements or []
                        if isinstance(item, dict)],
            return_plan=_return_plan(row.return_plan),
            retention_plan_requested=row.retention_plan_requested,
            minutes_note=row.minutes_note,
            decline_reason=None if row.decline_reason is None
            else word(DECLINE_REASONS, row.decline_reason),
            decline_note=row.decline_note, cancel_reason=row.cancel_reason)


def _present(pairs: list[tuple[str, str | None]]) -> list[AccessLabelledValue]:
    return [AccessLabelledValue(label=label, value=value) for label, value in pairs if value]


# Changed facts name a whole group by its first part.
_GROUPS = {"employer": "Arbejdsgiveren", "citizen": "Borgerens oplysninger",
           "cpr": "CPR-nummer"}


def _fact_label(path: str) -> str:
    field = BY_PATH.get(path)
    return field.label if field is not None else _GROUPS.get(path, path)


def _fact_value(path: str, value: Any) -> str:
    if isinstance(value, bool):
        return _TRUTH[value]
    choices = CHOICES.get(path.rsplit(".", 1)[-1])
    if choices is not None:
        return dict(choices).get(str(value), str(value))
    return str(value)


def without_live_links(text: str) -> str:
    """`text` with each live link's token replaced by `LINK_REMOVED` (the address before it
    kept, so the reader sees which page it was)."""
    return _LIVE_LINK.sub(lambda m: m.group(1) + LINK_REMOVED, text)


def _facts(facts: dict[str, Any], prefix: str = "") -> list[AccessLabelledValue]:
    """The case's facts as the intake form names them, nested ones by their dotted path;
    empty ones left out."""
    out: list[AccessLabelledValue] = []
    for name, value in facts.items():
        path = prefix + name
        if path in _NOT_FACTS or value is None or value == "":
            continue
        if isinstance(value, dict):
            out += _facts(value, path + ".")
        else:
            out.append(AccessLabelledValue(label=_fact_label(path), value=_fact_value(path, value)))
    return out


def _agreement(item: dict[str, Any]) -> AccessLabelledValue:
    who = word(WHO, item.get("who"), str(item.get("who") or ""))
    due = item.get("due")
    return AccessLabelledValue(label=f"{who}{f' (senest {due})' if due else ''}",
                         value=str(item.get("what") or ""))


def _return_plan(plan: dict[str, Any] | None) -> list[AccessLabelledValue]:
    if not plan:
        return []
    out = [AccessLabelledValue(label=f"Fra {step.get('from')}",
                         value=f"{step.get('hours_per_week')} timer om ugen")
           for step in plan.get("steps", []) if isinstance(step, dict)]
    if plan.get("full_time_from"):
        out.append(AccessLabelledValue(label="Fuld tid fra", value=str(plan["full_time_from"])))
    return out

