"""The case's signals, each defined once: **deadline at risk**, and (at the end) **one
citizen, two open cases** (`same_citizen_open`).

A case's deadline is intake's decision (the rules' `first_meeting_deadline`: the end of
absence week 8, or earlier on a fast track), so the signal lives here, where every area that
shows it — the dashboard (kpis), the case list (intake), my cases (followup), the Slack Home
tab and reminders — can import it without a circle between areas.

A case is at risk when it still needs its first follow-up meeting and may miss the deadline:

- it is an open target case (every target follow-up — workplace, jobcentre, telephone — is a
  first meeting the week-8 figures count), and
- no meeting of it is held, nor confirmed on or before its deadline (a meeting confirmed
  for a later day will be late: the case stays at risk until the meeting is moved earlier
  or held — `first_meeting_settled`), and
- its own first-meeting deadline (a fast-track deadline included) is at most
  `AT_RISK_WITHIN_DAYS` days away, or past, counted in the municipality's local dates.

`deadline_at_risk` is the rule over plain values; `at_risk_condition` is the same rule as a
SQL condition over `Case` for the lists that filter and count in the database. The tests
(tests/intake/test_signals.py) pin that both say the same.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_

from service.platform.db.models import Case, Meeting

# The deadline is this many days away (or past) and the first meeting is not settled.
AT_RISK_WITHIN_DAYS = 7


def first_meeting_settled(*, held: bool, meeting_status: str | None,
                          meeting_start: datetime | None, deadline: date | None) -> bool:
    """The first meeting needs no more: one is held, or the case's meeting is confirmed on
    or before the deadline (`meeting_start` in local time). A meeting confirmed for a later
    day settles nothing: it will be late."""
    if held:
        return True
    return (meeting_status == "confirmed" and meeting_start is not None
            and (deadline is None or meeting_start.date() <= deadline))


def deadline_at_risk(*, status: str, closed_on: date | None, deadline: date | None,
                     settled: bool, today: date, within_days: int = AT_RISK_WITHIN_DAYS
                     ) -> bool:
    """The rule: an open target case without a confirmed or held meeting whose first-meeting
    deadline is at most `within_days` days after `today` (the municipality's local date)."""
    return (status == "target" and closed_on is None and not settled
            and deadline is not None and deadline <= today + timedelta(days=within_days))


def at_risk_condition(today: date, within_days: int = AT_RISK_WITHIN_DAYS
                      ) -> ColumnElement[bool]:
    """`deadline_at_risk` as a SQL condition over `Case` (and its meetings), settled as
    `first_meeting_settled` says."""
    has_settled = exists().where(Meeting.case_id == Case.id, or_(
        Meeting.status == "held",
        and_(Meeting.status == "confirmed",
             func.date(Meeting.start) <= Case.first_meeting_deadline)))
    return and_(Case.status == "target", Case.closed_on.is_(None),
                Case.first_meeting_deadline <= today + timedelta(days=within_days),
                ~has_settled)


# The hand-over signal: the benefits office passes the case on *at the latest in week 7*
# (the model); later is late, and it is what makes the week-8 meeting hard.
LATEST_HANDOVER_WEEK = 7


def absence_week(first_absence_day: date, day: date) -> int:
    """The absence week `day` lies in: the first absence day starts week 1."""
    return (day - first_absence_day).days // 7 + 1


def may_still_be_handed_over(first_absence_day: date, today: date) -> bool:
    """A case whose absence began on `first_absence_day` may still reach intake today or
    later: absence week `LATEST_HANDOVER_WEEK` has not ended (figures counted by the first
    absence day's month still grow until then)."""
    return absence_week(first_absence_day, today) <= LATEST_HANDOVER_WEEK


def handed_over_late(first_absence_day: date, handed_over_on: date | None) -> bool:
    """The case was handed over after absence week `LATEST_HANDOVER_WEEK`."""
    return handed_over_on is not None and \
        absence_week(first_absence_day, handed_over_on) > LATEST_HANDOVER_WEEK


def same_citizen_open(case: Any, other: Any) -> ColumnElement[bool]:
    """**One citizen, two open cases**, defined once: `other` is another open case of `case`'s
    citizen — the same municipality and CPR number (its keyed hash), not the same case, both
    open (not closed) and `other` not erased. `case` and `other` are two aliases of the cases
    table (ORM or Core): the case page, the answer to an intake, the CSV import's report and
    the case list's filter all join by it."""
    return and_(case.cpr_hash.is_not(None), case.closed_on.is_(None),
                other.municipality_id == case.municipality_id,
                other.cpr_hash == case.cpr_hash, other.id != case.id,
                other.closed_on.is_(None), other.erased_at.is_(None))
