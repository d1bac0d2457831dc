"""Tables. Every row carries `municipality_id` so one database can serve several municipalities.

Timestamps (`created_at`, `updated_at`, `at`, `started_at`) are set from the injected clock
when a row is flushed (see `service.platform.db.engine`), never from the wall clock here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ApiKey(Base):
    """A staff API key; only its SHA-256 hash is stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    consultant_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Employer(Base):
    __tablename__ = "employers"
    __table_args__ = (UniqueConstraint("municipality_id", "cvr", name="uq_employers_cvr"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    cvr: Mapped[str] = mapped_column(String(8))
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # How precisely `lat`/`lon` place `address` (service.places): exact | street | postcode |
    # town; None when not placed.
    location_precision: Mapped[str | None] = mapped_column(String(16))
    # The company's default contact; each case keeps its own (the nearest manager).
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # Known unavailable times: [{"start": "YYYY-MM-DDTHH:MM", "end": ...}]
    unavailable: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Consultant(Base):
    """A retention consultant. The database is the truth: the configuration's
    `[[consultants]]` seed rows once (`source="config"`), and never overwrite a row changed
    in the app (`changed_in_app_at`)."""

    __tablename__ = "consultants"
    __table_args__ = (UniqueConstraint("municipality_id", "key", name="uq_consultants_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(String(40), default="")
    slack_user_id: Mapped[str | None] = mapped_column(String(40))
    team: Mapped[str] = mapped_column(String(64), default="default")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    skills: Mapped[list[Any]] = mapped_column(JSON, default=list)
    max_active_cases: Mapped[int] = mapped_column(Integer)
    meetings_per_day: Mapped[int] = mapped_column(Integer, default=3)
    workplace_meetings: Mapped[bool] = mapped_column(Boolean, default=True)
    workplace_meetings_from: Mapped[date | None] = mapped_column(Date)
    fixed_employers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    working_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A base address typed in the app, placed on the map (service.places) into lat/lon.
    address: Mapped[str | None] = mapped_column(String(300))
    location_precision: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8), default="config")  # config | app
    changed_in_app_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsultantAbsence(Base):
    """Whole days a consultant is away; the planner treats them as busy."""

    __tablename__ = "consultant_absences"
    __table_args__ = (Index("ix_absences_consultant", "municipality_id", "consultant_id",
                            "first_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)  # inclusive
    reason: Mapped[str] = mapped_column(String(16))  # ferie | sygdom | kursus | andet
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CalendarEntry(Base):
    """A busy interval in a consultant's calendar (local wall-clock times)."""

    __tablename__ = "calendar_entries"
    __table_args__ = (Index("ix_calendar_entries_consultant", "consultant_id", "start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"), index=True)
    start: Mapped[datetime] = mapped_column(DateTime)
    end: Mapped[datetime] = mapped_column(DateTime)
    title: Mapped[str] = mapped_column(String(200), default="optaget")
    # feed (an imported .ics) | caldav | manual; an import replaces its own source's rows.
    source: Mapped[str] = mapped_column(String(16), default="manual")
    uid: Mapped[str | None] = mapped_column(String(300))  # the event's UID
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)


class CalendarSource(Base):
    """A consultant's own calendar imported into fasthold: a published .ics URL (Outlook,
    Google) or a CalDAV calendar. URL and password are secrets, encrypted like CPR."""

    __tablename__ = "calendar_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # ics | caldav
    url_encrypted: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(200))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    events: Mapped[int] = mapped_column(Integer, default=0)  # busy intervals last imported


class Case(Base):
    """A sick-leave case: its facts, the current decision and the owning consultant."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("municipality_id", "case_ref", name="uq_cases_ref"),
        Index("ix_cases_status", "municipality_id", "status"),
        Index("ix_cases_deadline", "municipality_id", "first_meeting_deadline"),
        Index("ix_cases_cpr_hash", "municipality_id", "cpr_hash"),
        # open cases only: the reads of what is under way skip every case ever closed
        Index("ix_cases_open", "municipality_id", "status", "first_meeting_deadline",
              sqlite_where=text("closed_on IS NULL"), postgresql_where=text("closed_on IS NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    case_ref: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    # CPR number: encrypted (service.platform.crypto, never the plain digits) and its keyed
    # hash, to find a case by CPR without decrypting every row.
    cpr_encrypted: Mapped[str | None] = mapped_column(String(200))
    cpr_hash: Mapped[str | None] = mapped_column(String(64))
    citizen_name: Mapped[str | None] = mapped_column(String(200))
    citizen_email: Mapped[str | None] = mapped_column(String(320))
    citizen_phone: Mapped[str | None] = mapped_column(String(40))
    citizen_address: Mapped[str | None] = mapped_column(String(300))  # where letters go
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    follow_up: Mapped[str | None] = mapped_column(String(32))
    private_talk_first: Mapped[bool] = mapped_column(Boolean, default=False)
    first_meeting_deadline: Mapped[date] = mapped_column(Date)
    intervention_deadline: Mapped[date] = mapped_column(Date)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    missing: Mapped[list[Any]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("consultants.id"), index=True)
    owner_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    owner_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    # A closed case is done: no meetings, no reminders, no room taken in its owner's caseload.
    closed_on: Mapped[date | None] = mapped_column(Date)
    close_outcome: Mapped[str | None] = mapped_column(String(32))
    close_note: Mapped[str | None] = mapped_column(Text)
    # Registered by the consultant (service.followup.outcomes): the first calls, and the day a
    # workplace-oriented intervention started (KPI: before the end of absence week 13).
    citizen_called_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    employer_called_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    intervention_started_on: Mapped[date | None] = mapped_column(Date)
    # Follow-ups until recovery (service.followup.follow_ups): when the next one is due, every
    # `[followup] every_weeks` after the last meeting held; null before the first meeting is
    # held and once the case is closed. Its kind is the case's follow-up (the rules').
    next_follow_up_due: Mapped[date | None] = mapped_column(Date)
    # The case's own workplace and contact person (the sick employee's nearest manager):
    # invitations, reminders and .ics go here; the employer row keeps the company's defaults.
    workplace_address: Mapped[str | None] = mapped_column(String(300))
    workplace_lat: Mapped[float | None] = mapped_column(Float)
    workplace_lon: Mapped[float | None] = mapped_column(Float)
    workplace_precision: Mapped[str | None] = mapped_column(String(16))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    # `[meetings] invitation = "after_calls"` (service.meetings.invitations): when the
    # employer's held invitation was let go (the calls registered, or the wait was over);
    # from then on the case's invitations go out at once.
    invitation_released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # `[retention]` (service.retention): when the ended case's personal and health data were
    # erased; what the figures count is kept, and the case takes no more changes.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    employer: Mapped[Employer | None] = relationship(lazy="joined")
    owner: Mapped[Consultant | None] = relationship(lazy="joined")


class DecisionRecord(Base):
    """Decision history: every evaluation that changed a case's decision, with before/after."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    trigger: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    changed_facts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuditEntry(Base):
    """Append-only audit log (who, what, when); the database refuses updates and deletes."""

    __tablename__ = "audit_log"
    # the Revisionslog's search by period (service.staff.audit_log), newest first
    __table_args__ = (Index("ix_audit_log_at", "municipality_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# A meeting that still stands: proposed to the employer, or confirmed.
ACTIVE_MEETING = ("proposed", "confirmed")


class Meeting(Base):
    """A first follow-up meeting: proposed by planning, confirmed by the employer (or staff).

    Times are local Danish wall-clock times. At most one active (proposed or confirmed)
    meeting per case, enforced by a partial unique index.
    """

    __tablename__ = "meetings"
    __table_args__ = (
        Index("uq_meetings_active_case", "case_id", unique=True,
              sqlite_where=text("status IN ('proposed', 'confirmed')"),
              postgresql_where=text("status IN ('proposed', 'confirmed')")),
        Index("ix_meetings_consultant_start", "consultant_id", "start"),
        Index("ix_meetings_status", "status", "municipality_id"),
        # the employers' wishes for other times (planning reads them every run)
        Index("ix_meetings_wishes", "case_id",
              sqlite_where=text("employer_preferences IS NOT NULL"),
              postgresql_where=text("employer_preferences IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    kind: Mapped[str] = mapped_column(String(32))  # workplace_meeting | jobcenter_meeting
    start: Mapped[datetime] = mapped_column(DateTime)
    end: Mapped[datetime] = mapped_column(DateTime)
    travel_minutes: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[bool] = mapped_column(Boolean, default=True)
    # proposed -> confirmed -> held | not_held; or cancelled (by planning, staff or employer)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    # Other free slots of the same consultant offered to the employer with the proposal.
    alternatives: Mapped[list[Any]] = mapped_column(JSON, default=list)
    invited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    employer_answer: Mapped[str | None] = mapped_column(String(16))
    employer_preferences: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # After the meeting (service.followup.outcomes): where it was held (workplace | jobcentre |
    # phone; None when not held) and whether the employer took part.
    place: Mapped[str | None] = mapped_column(String(16))
    employer_took_part: Mapped[bool | None] = mapped_column(Boolean)
    outcome_registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A confirmed meeting whose consultant can no longer attend (an absence or an imported
    # event): when it was found, why (absence | calendar | inactive), and the colleague the
    # planner proposes in their place. Listed in "møder der skal flyttes" until resolved.
    conflict_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    conflict_reason: Mapped[str | None] = mapped_column(String(32))
    substitute_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The minutes of a held meeting (service.followup.outcomes, issue 20): when it was really
    # held (local wall-clock time; `start` is moved to it), the agreements
    # ([{"what", "who", "due"}]), the plan back to work ({"steps": [{"from",
    # "hours_per_week"}], "full_time_from"}), whether the employee asked for a retention
    # plan, and the consultant's note (staff only: never to Slack or the employer).
    held_at: Mapped[datetime | None] = mapped_column(DateTime)
    agreements: Mapped[list[Any] | None] = mapped_column(JSON)
    return_plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    retention_plan_requested: Mapped[bool | None] = mapped_column(Boolean)
    minutes_note: Mapped[str | None] = mapped_column(Text)
    # `after_calls` (service.meetings.invitations): the proposal is planned and reserved, its
    # employer invitation held since then (None: sent at once, or not held).
    invitation_held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The employer's "cannot be held at the workplace" (service.meetings.declines): when, the
    # fixed reason (a key of `DECLINE_REASONS`), their own words (staff only: never to Slack or
    # anywhere outside), and how it ended: "moved" (to a jobcentre meeting after the grace
    # period) or "restored" (the consultant called and the workplace meeting stands).
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(String(32))
    decline_note: Mapped[str | None] = mapped_column(Text)
    decline_outcome: Mapped[str | None] = mapped_column(String(16))
    decline_settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # "first_meeting" or "follow_up" (a meeting after the first was held, issue 20 item 4).
    purpose: Mapped[str] = mapped_column(String(16), default="first_meeting",
                                         server_default="first_meeting")
    # Its place in the case's series: 0 the first meeting, n the n-th follow-up (the held
    # meetings before it), kept when the meeting is moved — its calendar UID's (migration 0017).
    series: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    case: Mapped[Case] = relationship(lazy="joined")
    consultant: Mapped[Consultant] = relationship(lazy="joined")


class BookedMinute(Base):
    """One row per minute a confirmed meeting occupies its consultant (travel included).

    The primary key makes the database itself refuse two confirmed meetings that overlap for
    the same consultant, on SQLite and PostgreSQL alike: of two racing confirmations exactly
    one commits. Touching intervals do not share a minute.
    """

    __tablename__ = "booked_minutes"
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)


class OutboxMessage(Base):
    """A message to deliver (email, Slack, or a letter for staff to send), written in the same
    transaction as the change that caused it; a background deliverer sends and retries it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("uq_outbox_dedupe", "dedupe_key", unique=True),
                      Index("ix_outbox_meeting", "meeting_id", "kind"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))  # email | slack | letter
    kind: Mapped[str] = mapped_column(String(64))  # e.g. employer_invitation
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    # What the message is (service.outbox.store.dedupe_key): the same message again is not
    # queued a second time. None: no such check.
    dedupe_key: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    # pending -> sent | failed (permanent) ; letters: to_print -> printed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsultantTask(Base):
    """Something a consultant must do (call the employer about other times, …)."""

    __tablename__ = "consultant_tasks"
    # open tasks by kind (planning reads the open follow-up calls every run)
    __table_args__ = (Index("ix_tasks_open", "municipality_id", "kind",
                            sqlite_where=text("done_at IS NULL"),
                            postgresql_where=text("done_at IS NULL")),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When it is due (an agreement of a meeting's minutes: its date); None: no date.
    due_on: Mapped[date | None] = mapped_column(Date)


class PlanningRun(Base):
    """One planning run: which solver, how it went (a fallback to greedy is recorded here)."""

    __tablename__ = "planning_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    trigger: Mapped[str] = mapped_column(String(32))
    solver: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(String(500))


class SlackEvent(Base):
    """An Events API `event_id` already handled: Slack's retries of it do nothing."""

    __tablename__ = "slack_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SlackPost(Base):
    """Where an outbox message landed in Slack (`channel`, `ts`), to update it later."""

    __tablename__ = "slack_posts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaffUser(Base):
    """A person who logs in to the staff pages; the password only as an argon2 hash."""

    __tablename__ = "staff_users"
    __table_args__ = (
        UniqueConstraint("municipality_id", "username", name="uq_staff_users_username"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    consultant_key: Mapped[str | None] = mapped_column(String(64))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    """A logged-in browser: `id` is the SHA-256 of the cookie's value, never the value."""

    __tablename__ = "staff_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[StaffUser] = relationship(lazy="joined")


class LoginFailure(Base):
    """A failed login, counted per username and per address for the lockout."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_address", "address", "at"),
        Index("ix_login_failures_username", "municipality_id", "username", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CalendarFeed(Base):
    """A consultant's .ics subscription: a secret token (stored hashed), revocable."""

    __tablename__ = "calendar_feeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The kinds of workplace-oriented intervention (issue 20): `partial_return` keeps the case
# open with its owner until full recovery.
INTERVENTION_KINDS = ("partial_return", "work_trial", "wage_subsidy", "redeployment",
                      "aids_or_adjustments", "education", "other")


class Intervention(Base):
    """A workplace-oriented intervention of a case (several per case): its kind, when it
    started (and ends), and the weekly hours of a partial return or work trial. The case's
    `intervention_started_on` is the earliest start of a workplace-oriented kind (all but
    `education`: `service.followup.intervention_kinds`)."""

    __tablename__ = "interventions"
    __table_args__ = (Index("ix_interventions_case", "case_id", "started_on"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    started_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    hours_per_week: Mapped[float | None] = mapped_column(Float)
    registered_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KpiReport(Base):
    """A month's figures as they stood when first reported, soon after the month ended
    (`service.kpis.reports`): the dashboard names every figure that changed since — a case
    registered late, a meeting or intervention registered after the month, a back-dated
    closing, a case decided anew."""

    __tablename__ = "kpi_reports"
    __table_args__ = (UniqueConstraint("municipality_id", "month",
                                       name="uq_kpi_reports_month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[str] = mapped_column(String(32))
    month: Mapped[date] = mapped_column(Date)  # the month's first day
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
