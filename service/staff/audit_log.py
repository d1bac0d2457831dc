"""The audit log searched (admin): who read or changed what, and when — for the
municipality's control of its staff's look-ups (who read this citizen's case? what did this
user do last month?) and for a citizen's request to know who saw their case.

Entries are filtered by period (local days, both included), by who (`actor`: `role:name`, as
stored, or only a name), by case id and by action (a code, or its first part: `case` finds
every `case.*`), newest first, a page at a time; the CSV has them all (up to `CSV_MAX`). The
search itself is an audited read (`audit.read`, its filters and count). Entries hold no CPR
or health data (`service.platform.audit`): what is shown is what was stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from service.clock import Clock
from service.platform.audit import ReadAudit
from service.platform.auth import Principal
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import AuditEntry, Case
from service.platform.errors import FieldError, Invalid, field_error
from service.platform.http import query_date, text_problem

PER_PAGE = 100
CSV_MAX = 50_000
# At most this many days at a time (a year and a day: "the last year").
MAX_DAYS = 366
_ACTION = re.compile(r"[a-z_]{1,32}(\.[a-z_]{1,32})?")
FILTERS = ("from", "to", "actor", "case_id", "action")


@dataclass(frozen=True)
class AuditFilters:
    first: date
    last: date
    actor: str = ""
    case_id: str = ""
    action: str = ""

    def as_details(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(),
                "actor": self.actor, "case_id": self.case_id, "action": self.action}


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    role: str
    action: str
    case_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    filters: AuditFilters


# The days a search may name: an audit log older than the service or past this millennium
# holds nothing.
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


def _day(values: dict[str, str], name: str, errors: list[FieldError]) -> date | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    day = query_date(raw)
    if day is None:
        errors.append(field_error(name, "must be a date YYYY-MM-DD", "date_format"))
    elif not EARLIEST <= day <= LATEST:
        # (the calendar's edges: a period around 0001-01-01 or 9999-12-31 was a 500)
        errors.append(field_error(name, f"must lie between {EARLIEST} and {LATEST}",
                                  "date_out_of_range", {"first": str(EARLIEST),
                                                        "last": str(LATEST)}))
        return None
    return day


def read_filters(values: dict[str, str], today: date) -> AuditFilters:
    """The filters from a query (`from`, `to`: YYYY-MM-DD, default the last 30 days up to
    today; `actor`, `case_id`: text; `action`: a code or its first part). `Invalid` names
    each wrong parameter."""
    errors: list[FieldError] = []
    for name in sorted(set(values) - set(FILTERS)):
        errors.append(field_error(name, "unknown query parameter", "unknown_parameter"))
    first, last = _day(values, "from", errors), _day(values, "to", errors)
    last = last or today
    first = first or last - timedelta(days=29)
    texts: dict[str, str] = {}
    for name, longest in (("actor", 200), ("case_id", 64), ("action", 65)):
        value = values.get(name, "").strip()
        problem = text_problem(value) if value else None
        if problem:
            errors.append(field_error(name, problem, "not_storable"))
        elif len(value) > longest:
            errors.append(field_error(name, f"at most {longest} characters", "string_too_long",
                                      {"max_length": longest}))
        texts[name] = value
    if texts["action"] and not _ACTION.fullmatch(texts["action"]):
        errors.append(field_error("action", "an action code such as case.read, or its first "
                                  "part such as case", "action_format"))
    if not errors and last < first:
        errors.append(field_error("to", "must not be before from", "before_from"))
    if not errors and (last - first).days >= MAX_DAYS:
        errors.append(field_error("to", f"at most {MAX_DAYS} days from from", "too_many_days",
                                  {"max": MAX_DAYS}))
    if errors:
        raise Invalid(errors)
    return AuditFilters(first, last, texts["actor"], texts["case_id"], texts["action"])


class AuditLog:
    """Searches one municipality's audit log."""

    def __init__(self, db: Database, clock: Clock, reads: ReadAudit,
                 municipality_id: str) -> None:
        self.db = db
        self.clock = clock
        self.reads = reads
        self.municipality = municipality_id

    def _conditions(self, filters: AuditFilters) -> list[ColumnElement[bool]]:
        tz = self.clock.tz
        start = datetime.combine(filters.first, time(0, 0), tzinfo=tz)
        end = datetime.combine(filters.last + timedelta(days=1), time(0, 0), tzinfo=tz)
        out: list[ColumnElement[bool]] = [
            AuditEntry.municipality_id == self.municipality,
            AuditEntry.at >= start.astimezone(UTC), AuditEntry.at < end.astimezone(UTC)]
        if filters.actor:
            # as stored ("role:name"), or the name alone
            out.append(or_(AuditEntry.actor == filters.actor,
                           AuditEntry.actor.like("%:" + _escaped(filters.actor), escape="\\")))
        if filters.case_id:
            out.append(AuditEntry.case_id.in_(select(Case.id).where(
                Case.municipality_id == self.municipality, Case.case_ref == filters.case_id)))
        if filters.action:
            out.append(AuditEntry.action == filters.action if "." in filters.action
                       else AuditEntry.action.like(filters.action + ".%"))
        return out

    async def search(self, filters: AuditFilters, principal: Principal, *, offset: int = 0,
                     limit: int = PER_PAGE, last_page: bool = False) -> AuditPage:
        """`limit` entries that match from the `offset`-th, newest first, and how many
        match. `last_page`: an offset past the last entry reads the last page (the page's
        `?side=` beyond the last), else nothing."""
        conditions = self._conditions(filters)
        async with self.db.read() as session:
            total = int((await session.execute(select(func.count()).select_from(AuditEntry)
                                               .where(*conditions))).scalar_one())
            if last_page and offset >= total:
                offset = max(total - 1, 0) // limit * limit
            rows = (await session.execute(
                select(AuditEntry.at, AuditEntry.actor, AuditEntry.role, AuditEntry.action,
                       Case.case_ref, AuditEntry.details)
                .outerjoin(Case, Case.id == AuditEntry.case_id).where(*conditions)
                .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                .limit(limit).offset(offset))).all()
        await self.reads.record(principal, self.municipality, "audit.read", None,
                                {**filters.as_details(), "count": total})
        return AuditPage([AuditRow(as_utc(r.at), r.actor, r.role, r.action, r.case_ref,
                                   dict(r.details or {})) for r in rows], total, filters)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
