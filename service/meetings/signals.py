"""A meeting's signals, defined once: the employer **has not answered**, the employer **can
still change** a confirmed meeting, and the meeting's **reminder is due** (the "day before"
reminders, sent on the working day before). The reminders (employer's e-mail, the
consultant's Slack message), the `/deliveries` list, my cases, the Slack Home tab and the
employer's page all ask here.

Meeting times are stored as local wall-clock times (see `service.clock`); `invited_at` is a
UTC timestamp, and which day the invitation went out is its date in the municipality's time
zone (an invitation sent at 00:30 Danish summer time went out that day, not the UTC day
before).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Protocol

from service.clock import zone
from service.config import MunicipalityConfig
from service.platform.db.engine import as_utc
from service.platform.workdays import add_working_days, count_working_days, previous_working_day

# The employer may move or cancel a confirmed meeting until this long before it begins.
CHANGE_UNTIL = timedelta(hours=24)


def can_change(start: datetime, now: datetime) -> bool:
    """The employer may still move or cancel a confirmed meeting starting at `start` (local
    wall-clock time) at `now` (the same): more than 24 hours before."""
    return start - CHANGE_UNTIL > now


def reminder_due(start: datetime, today: date, closed: frozenset[date] = frozenset()) -> bool:
    """The day-before reminder of a meeting (or talk) starting at `start` (local wall-clock
    time) is due `today`: on the last working day before the meeting's day — Friday for a
    Monday meeting, weekends, public holidays and the jobcentre's closed dates skipped: the
    employer and the consultant read their mail and Slack on working days — or on a later
    day before it (a meeting confirmed after that day's reminders still gets one)."""
    day = start.date()
    return previous_working_day(day, closed) <= today < day


def awaits_employer(kind: str, status: str, invited_at: datetime | None,
                    employer_answer: str | None) -> bool:
    """The employer was invited to a workplace meeting and has not answered yet (a jobcentre
    meeting is told to the citizen: nobody answers it)."""
    return (kind == "workplace_meeting" and status == "proposed" and invited_at is not None
            and employer_answer is None)


def invited_on(invited_at: datetime, tz: tzinfo) -> date:
    """The local date an invitation went out (`invited_at` is UTC; naive means UTC)."""
    return as_utc(invited_at).astimezone(tz).date()


def working_days_between(day: date, today: date, closed: frozenset[date] = frozenset()
                         ) -> int:
    """Working days after `day` up to and including `today` (Friday to Monday: 1)."""
    return count_working_days(day + timedelta(days=1), today, closed)


class AwaitingAnswer(Protocol):
    """What "the employer has not answered" is decided on: a stored `Meeting`, or those
    columns of one."""

    @property
    def kind(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def invited_at(self) -> datetime | None: ...

    @property
    def employer_answer(self) -> str | None: ...


@dataclass(frozen=True)
class UnansweredRule:
    """"The employer has not answered in N working days": a workplace invitation without an
    answer whose local invitation date is at least `after_working_days` Danish working days
    (weekends, public holidays and the jobcentre's closed dates skipped) before today.
    N is `[mail] reminder_after_working_days`."""

    after_working_days: int
    closed: frozenset[date]
    tz: tzinfo

    @classmethod
    def configured(cls, config: MunicipalityConfig, tz: tzinfo | None = None) -> UnansweredRule:
        """N, the closed dates and the time zone (the clock's; by default the configured
        municipality's) from the configuration."""
        return cls(config.mail.reminder_after_working_days,
                   config.planning.closed(),
                   tz if tz is not None else zone(config.municipality.timezone))

    def working_days_since(self, invited_at: datetime, today: date) -> int:
        return working_days_between(invited_on(invited_at, self.tz), today, self.closed)

    def due(self, *, kind: str, status: str, invited_at: datetime | None,
            employer_answer: str | None, today: date) -> bool:
        """The rule over plain values."""
        if invited_at is None or not awaits_employer(kind, status, invited_at,
                                                     employer_answer):
            return False
        return add_working_days(invited_on(invited_at, self.tz), self.after_working_days,
                                self.closed) <= today

    def of(self, meeting: AwaitingAnswer | None, today: date) -> bool:
        """`due` for a meeting — a stored one, or the columns a scan read of it (None: no
        meeting, nothing unanswered)."""
        return meeting is not None and self.due(
            kind=meeting.kind, status=meeting.status, invited_at=meeting.invited_at,
            employer_answer=meeting.employer_answer, today=today)
