"""The register (issue 20 item 6): one row per case for the municipality's case system and
its reports to STAR, as CSV like the dashboard's (`;`, decimal comma, UTF-8 with a byte order
mark). No CPR, no names, no health data: the case's id, dates, places, the decision and what
was registered after the first meeting.

Which cases: those whose first absence day lies in the months asked for (whatever the
decision: the decision is a column). Every cell a spreadsheet would read as a formula (it
starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a `'` in front.

The columns, in order: `COLUMNS` (README, "The register", says each one's meaning).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.followup.follow_ups import FOLLOW_UP, next_follow_up
from service.kpis.figures import month_start, next_month
from service.platform.db.engine import Database
from service.platform.db.models import (
    ACTIVE_MEETING,
    Case,
    Consultant,
    Intervention,
    Meeting,
)

# A request may ask for at most this many months.
MAX_REGISTER_MONTHS = 36
COLUMNS = (
    ("case_id", "Sags-id"),
    ("first_absence_day", "Første fraværsdag"),
    ("handed_over_on", "Overdraget fra ydelseskontoret"),
    ("decision", "Afgørelse"),
    ("follow_up", "Opfølgning"),
    ("owner", "Konsulent"),
    ("expected_place", "Forventet mødested ved invitation"),
    ("first_meeting_on", "Første møde, dato"),
    ("first_meeting_place", "Første møde, sted"),
    ("employer_took_part", "Arbejdsgiver deltog"),
    ("days_to_first_meeting", "Dage til første møde"),
    # The case's own first-meeting deadline (a fast-track one can be earlier than the end of
    # week 8): not the dashboard's week-8 figures.
    ("on_time", "Inden sagens frist"),
    ("intervention_kinds", "Indsatser"),
    ("intervention_started_on", "Første virksomhedsrettede indsats startede"),
    ("full_time_from", "Fuld tid fra (plan)"),
    ("ended_on", "Afsluttet"),
    ("outcome", "Afslutningsårsag"),
    ("duration_days", "Varighed (dage)"),
    ("next_follow_up_due", "Næste opfølgning"),
    ("next_follow_up_kind", "Næste opfølgning, form"),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Where a meeting of a kind is held (the place expected when the employer was invited).
_PLACE_OF_KIND = {"workplace_meeting": "workplace", "jobcenter_meeting": "jobcentre",
                  "telephone": "phone"}


def neutralised(value: str) -> str:
    """A cell a spreadsheet would read as a formula gets a `'` in front."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("ja" if value else "nej")


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:g}".replace(".", ",") if isinstance(value, float) else str(value)


# The columns of a case and of its meetings that a row is made of.
_CASE_COLUMNS = (Case.id, Case.case_ref, Case.facts, Case.status, Case.follow_up,
                 Case.intervention_started_on, Case.closed_on, Case.close_outcome,
                 Case.first_meeting_deadline, Case.next_follow_up_due)
_MEETING_COLUMNS = (Meeting.case_id, Meeting.kind, Meeting.status, Meeting.start,
                    Meeting.invited_at, Meeting.place, Meeting.employer_took_part,
                    Meeting.return_plan, Meeting.purpose)


class Register:
    def __init__(self, db: Database, clock: Clock, municipality: str) -> None:
        self.db = db
        self.clock = clock
        self.municipality = municipality

    async def rows(self, first: date, last: date) -> list[dict[str, str]]:
        """The cases whose first absence day lies in the months `first`..`last` (first
        days of months, inclusive), by first absence day and id. Read as the columns the
        register shows (a year's cases with their meetings as ORM objects held the event
        loop for most of a second)."""
        start, end = month_start(first).isoformat(), next_month(last).isoformat()
        absence = Case.facts["first_absence_day"].as_string()
        async with self.db.read() as session:
            cases = (await session.execute(
                select(*_CASE_COLUMNS, Consultant.key.label("owner"),
                       Consultant.workplace_meetings, Consultant.workplace_meetings_from)
                .outerjoin(Consultant, Consultant.id == Case.owner_id)
                .where(Case.municipality_id == self.municipality, absence >= start,
                       absence < end).order_by(absence, Case.id))).all()
            ids = [case.id for case in cases]
            meetings = await self._meetings(session, ids)
            kinds = await self._kinds(session, ids)
        today = self.clock.today()
        return [self._row(case, meetings.get(case.id, []), kinds.get(case.id, []), today)
                for case in cases]

    @staticmethod
    async def _meetings(session: AsyncSession, ids: list[int]) -> dict[int, list[Row[Any]]]:
        out: dict[int, list[Row[Any]]] = {}
        if not ids:
            return out
        for meeting in (await session.execute(select(*_MEETING_COLUMNS).where(
                Meeting.case_id.in_(ids)).order_by(Meeting.case_id, Meeting.id))):
            out.setdefault(meeting.case_id, []).append(meeting)
        return out

    @staticmethod
    async def _kinds(session: AsyncSession, ids: list[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        if not ids:
            return out
        for case_id, kind in (await session.execute(
                select(Intervention.case_id, Intervention.kind).where(
                    Intervention.case_id.in_(ids))
                .order_by(Intervention.case_id, Intervention.started_on, Intervention.id))):
            if kind not in out.setdefault(case_id, []):
                out[case_id].append(kind)
        return out

    def _row(self, case: Row[Any], meetings: list[Row[Any]], kinds: list[str], today: date
             ) -> dict[str, str]:
        first_absence = date.fromisoformat(case.facts["first_absence_day"])
        invited = [m for m in meetings if m.invited_at is not None] or meetings
        held = sorted((m for m in meetings if m.status == "held"), key=lambda m: m.start)
        first = held[0] if held else None
        plans = [m.return_plan for m in held if m.return_plan]
        row: dict[str, Any] = {
            "case_id": case.case_ref,
            "first_absence_day": first_absence.isoformat(),
            "handed_over_on": str(case.facts.get("handed_over_on") or ""),
            "decision": case.status,
            "follow_up": case.follow_up or "",
            "owner": case.owner or "",
            "expected_place": _PLACE_OF_KIND.get(invited[0].kind, "") if invited else "",
            "first_meeting_on": first.start.date().isoformat() if first else "",
            "first_meeting_place": (first.place or "") if first else "",
            "employer_took_part": _yes_no(first.employer_took_part) if first else "",
            "days_to_first_meeting": _number((first.start.date() - first_absence).days)
            if first else "",
            "on_time": _yes_no(first.start.date() <= case.first_meeting_deadline)
            if first else "",
            "intervention_kinds": ",".join(kinds),
            "intervention_started_on": case.intervention_started_on.isoformat()
            if case.intervention_started_on else "",
            "full_time_from": str(plans[-1]["full_time_from"]) if plans else "",
            "ended_on": case.closed_on.isoformat() if case.closed_on else "",
            "outcome": case.close_outcome or "",
            "duration_days": _number((case.closed_on - first_absence).days + 1)
            if case.closed_on else "",
        }
        planned = next((m.kind for m in meetings if m.status in ACTIVE_MEETING
                        and m.purpose == FOLLOW_UP), None)
        follow_up = next_follow_up(case, owner=case if case.owner is not None else None,
                                   today=today, planned_kind=planned)
        row["next_follow_up_due"] = follow_up["due"] if follow_up else ""
        row["next_follow_up_kind"] = follow_up["kind"] if follow_up else ""
        return {key: neutralised(str(value)) for key, value in row.items()}


def register_csv(rows: list[dict[str, str]]) -> str:
    """`;`-separated with Danish headers, a byte order mark for Excel."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        writer.writerow([row[key] for key, _ in COLUMNS])
    return "\ufeff" + out.getvalue()
