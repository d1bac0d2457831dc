"""Follow-ups until recovery (issue 20 item 4): after the first meeting is held, the case's next
follow-up is due every `[followup] every_weeks` weeks after the last meeting held. Its kind is
the case's follow-up as the rules decide it: by telephone while a firm plan for full recovery
within 4 weeks holds, else a meeting at the workplace (or the jobcentre) again — so registering
a changed plan (the case's facts, which re-runs the rules) changes the kind.

Planning schedules a follow-up meeting like a first one from `[followup] plan_days_before`
days before it is due (`service.planning.instance`: the due date is the deadline, first
meetings keep priority); a telephone follow-up is a task for the
owner, "Ring til borgeren", due on that day (`service.planning.store`). Registering a meeting
held sets the next one; closing the case stops them.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_

# `{"due", "kind"}` as the API shows it and the day a meeting is on time by live with the
# case's view (intake, which the meetings area reads too), re-exported here
from service.intake.views import (  # noqa: F401
    FIRST_MEETING,
    FOLLOW_UP,
    FOLLOW_UP_KINDS,
    deadline_of,
    follow_up_kind,
    follow_up_overdue,
    next_follow_up,
    planned_follow_up_kind,
)
from service.platform.db.models import Case

PURPOSES = (FIRST_MEETING, FOLLOW_UP)
# The consultant's task for a telephone follow-up (its due date is the follow-up's).
FOLLOW_UP_CALL = "follow_up_call"
FOLLOW_UP_CALL_TEXT = "Ring til borgeren (opfølgning)"


def next_follow_up_due(held_on: date, every_weeks: int) -> date:
    """The next follow-up after a meeting held on `held_on`."""
    return held_on + timedelta(weeks=every_weeks)


def overdue_condition(today: date) -> ColumnElement[bool]:
    """`follow_up_overdue` as a condition on open target cases (SQL)."""
    return and_(Case.status == "target", Case.closed_on.is_(None),
                Case.next_follow_up_due.is_not(None), Case.next_follow_up_due < today)


def follow_up_to_plan(due: date, as_of: date, days_before: int) -> bool:
    """Whether a planning run on `as_of` proposes the follow-up meeting due on `due`: from
    `days_before` days before it is due. The planner places a meeting as early as it can, so
    a follow-up given to it at once — when it came within the horizon, 35 days, longer than
    the 4 weeks of the rhythm — was held a week or two after the last meeting: every case
    met two or three times as often as the rhythm says, its employer invited as often, and
    the consultants' time gone from first meetings (Herning's 4 simulated months: one case's
    employer had 13 invitations)."""
    return due - timedelta(days=days_before) <= as_of
