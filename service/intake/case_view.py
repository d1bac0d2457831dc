"""The API's read of one case (`GET /api/cases/{case_id}`), in plain Core statements.

The hot read of the service: the case with its employer, owner and active meeting in one
statement, then its decision history (and, through `CaseRecords`, its minutes and
interventions) — the columns shown, no ORM entities. The whole read is one synchronous
function, `Database.run_read` runs it in one go (on a SQLite file in a thread: one hand-over
from the event loop instead of one per statement). What it returns is what `case_out` makes of
the ORM objects: the rows stand in for them, attribute for attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select

from service.intake.signals import same_citizen_open
from service.platform.db.models import (
    ACTIVE_MEETING,
    Case,
    Consultant,
    DecisionRecord,
    Employer,
    Meeting,
)

_CASE = Case.__table__
_EMPLOYER = Employer.__table__
_OWNER = Consultant.__table__.alias("owner")
_MEETING = Meeting.__table__
_MEETING_CONSULTANT = Consultant.__table__.alias("meeting_consultant")
_DECISIONS = DecisionRecord.__table__

# What `meeting_out` reads of a meeting (its consultant's key comes from the join).
_MEETING_COLUMNS = ("id", "status", "kind", "start", "end", "on_time", "travel_minutes",
                    "alternatives", "invited_at", "purpose")
_CASE_COLUMNS = tuple(c.name for c in _CASE.columns)

# The case, its employer's shared record (CVR, name, unavailable times: the rest of what is
# shown is the case's own), its owner and its active meeting (at most one), in one statement.
CASE_VIEW = (
    select(*_CASE.columns,
           _EMPLOYER.c.cvr.label("employer_cvr"), _EMPLOYER.c.name.label("employer_name"),
           _EMPLOYER.c.unavailable.label("employer_unavailable"),
           _OWNER.c.key.label("owner_key"), _OWNER.c.name.label("owner_name"),
           _OWNER.c.workplace_meetings.label("owner_workplace_meetings"),
           _OWNER.c.workplace_meetings_from.label("owner_workplace_meetings_from"),
           *(_MEETING.c[name].label(f"meeting_{name}") for name in _MEETING_COLUMNS),
           _MEETING_CONSULTANT.c.key.label("meeting_consultant_key"))
    .select_from(
        _CASE.outerjoin(_EMPLOYER, _EMPLOYER.c.id == _CASE.c.employer_id)
        .outerjoin(_OWNER, _OWNER.c.id == _CASE.c.owner_id)
        .outerjoin(_MEETING, and_(_MEETING.c.case_id == _CASE.c.id,
                                  _MEETING.c.status.in_(ACTIVE_MEETING)))
        .outerjoin(_MEETING_CONSULTANT, _MEETING_CONSULTANT.c.id == _MEETING.c.consultant_id))
    .where(_CASE.c.municipality_id == bindparam("municipality"),
           _CASE.c.case_ref == bindparam("ref"))
    .limit(1))
# The citizen's other open cases (`signals.same_citizen_open`), with their owners' keys.
_MINE = Case.__table__.alias("mine")
_OTHER_OWNER = Consultant.__table__.alias("other_owner")
SAME_CITIZEN = (
    select(_CASE.c.case_ref, _OTHER_OWNER.c.key.label("owner_key"))
    .select_from(_MINE.join(_CASE, same_citizen_open(_MINE.c, _CASE.c))
                 .outerjoin(_OTHER_OWNER, _OTHER_OWNER.c.id == _CASE.c.owner_id))
    .where(_MINE.c.id == bindparam("case")))  # (no ORDER BY: SQLite would walk every case
# of the municipality in case_ref order instead of using the CPR hash's index; sorted after)
HISTORY = (select(_DECISIONS.c.at, _DECISIONS.c.trigger, _DECISIONS.c.actor,
                  _DECISIONS.c.changed_facts, _DECISIONS.c.before, _DECISIONS.c.after)
           .where(_DECISIONS.c.case_id == bindparam("case")).order_by(_DECISIONS.c.id))


@dataclass
class CaseRead:
    """What one read found: the case (None: no such case), its active meeting, and — when
    the caller may see it — its history and progress records."""

    case: Any = None  # a stand-in for `Case` (attributes as case_out reads them)
    meeting: Any = None  # a stand-in for `Meeting`, or None
    visible: bool = False
    history: list[Any] | None = None
    progress: dict[str, Any] | None = None
    # the citizen's other open cases: (case_ref, owner's key)
    same_citizen: list[tuple[str, str | None]] | None = None


def read_case(connection: Connection, municipality: str, case_ref: str,
              visible: Callable[[str | None], bool],
              records: Callable[[Connection, int], dict[str, Any]] | None) -> CaseRead:
    """The case `case_ref` of `municipality`; history and records only if `visible(owner's
    key)` (need to know: nothing more is read of a case the caller may not see)."""
    row = connection.execute(CASE_VIEW, {"municipality": municipality, "ref": case_ref}
                             ).first()
    if row is None:
        return CaseRead()
    values = row._mapping
    case = SimpleNamespace(**{name: values[name] for name in _CASE_COLUMNS})
    case.employer = None if values["employer_cvr"] is None else SimpleNamespace(
        cvr=values["employer_cvr"], name=values["employer_name"],
        unavailable=values["employer_unavailable"])
    case.owner = None if values["owner_key"] is None else SimpleNamespace(
        key=values["owner_key"], name=values["owner_name"],
        workplace_meetings=values["owner_workplace_meetings"],
        workplace_meetings_from=values["owner_workplace_meetings_from"])
    meeting = None
    if values["meeting_id"] is not None:
        meeting = SimpleNamespace(**{name: values[f"meeting_{name}"]
                                     for name in _MEETING_COLUMNS})
        meeting.consultant = SimpleNamespace(key=values["meeting_consultant_key"])
    found = CaseRead(case, meeting)
    if not visible(values["owner_key"]):
        return found
    found.visible = True
    found.history = list(connection.execute(HISTORY, {"case": case.id}))
    found.same_citizen = sorted((row.case_ref, row.owner_key)
                                for row in connection.execute(SAME_CITIZEN, {"case": case.id}))
    found.progress = records(connection, case.id) if records is not None else None
    return found
