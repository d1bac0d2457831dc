"""Storing a plan: owners for new cases, new proposals (the employer invited), proposals no
longer wanted cancelled (and those told about them told).

The plan is stored in chunks of cases, one transaction each, so that a large plan never holds
the database's write lock (SQLite) or the event loop for long: a chunk is complete in itself
(owner, proposal and invitation together), and a stop between chunks leaves the rest for the
next run, which plans whatever is still open.

Cases that changed while the solver worked are left alone: the change asked for another run.
Each chunk re-reads its cases and their active meetings in its own transaction, locked (on
PostgreSQL; SQLite has one writer), and skips a case that was closed, left the target group,
got another follow-up or another owner, or whose active meeting changed (confirmed, moved,
answered, cancelled or replaced) since the instance was built — a plan made for the old state
must not give a closed case a new meeting, nor the old owner a meeting of a case handed on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.followup.follow_ups import (
    FIRST_MEETING,
    FOLLOW_UP,
    FOLLOW_UP_CALL,
    FOLLOW_UP_CALL_TEXT,
)
from service.meetings.booking import cancel, series_of
from service.meetings.notifications import MeetingNotifier
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_CANCELLED, TALK_PLANNED
from service.planning.instance import InstanceContext, PlannedMeeting, meeting_state
from service.planning.solver import SolveResult
from service.platform.db.engine import Database
from service.platform.db.models import (
    ACTIVE_MEETING,
    Case,
    Consultant,
    ConsultantTask,
    Meeting,
)
from service.platform.db.plain_writes import write_changes
from service.text.reasons import reason_in_words, unassigned_in_words

log = logging.getLogger("fasthold.planning")

# Said about a meeting cancelled because its case was closed (as closing itself says it).
CLOSED_REASON = "sagen er afsluttet"

# Cases stored per transaction: small enough that intake waits at most a moment.
STORE_CHUNK = 50


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _meeting_stays(ctx: InstanceContext, item: dict[str, Any],
                   meeting: Meeting | PlannedMeeting | None, consultant: Consultant) -> bool:
    """Whether the case's active `meeting` stays as it is under the plan's `item`: the plan
    has no meeting for it, it is confirmed, it is the invitation already sent at the same
    time, or it has the plan's time, consultant and kind."""
    wanted = item.get("meeting")
    if wanted is None or (meeting is not None and meeting.status == "confirmed"):
        return True
    if meeting is None:
        return False
    start = _dt(wanted["start"])
    if item["case_id"] in ctx.pinned_invitations and start == meeting.start:
        return True
    return meeting.start == start and meeting.consultant_id == consultant.id \
        and meeting.kind == wanted["kind"]


class UnassignedListener(Protocol):
    """Told, in the transaction that stores the plan, that a case still has no owner and why
    (the Slack notices: a post in the intake channel, once per case and reason)."""

    async def unassigned(self, session: AsyncSession, case: Case, reason: str) -> None:
        """`reason`: the planner's reason in Danish words."""
        ...


# Said to the consultant when planning moved a proposal the employer already had (rule 11).
MOVED_WORDS = {
    "proposal_moved:impossible": "Det foreslåede tidspunkt kan ikke længere lade sig gøre "
                                 "(kalender, fravær eller arbejdsgiverens ønsker).",
    "proposal_moved:on_time": "Forslaget er flyttet, så et andet møde kan holdes inden "
                              "fristen.",
}


class PlanStore:
    def __init__(self, db: Database, notifier: MeetingNotifier, clock: Clock,
                 unassigned: UnassignedListener | None = None) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.listener = unassigned
        self.municipality = notifier.config.municipality.id

    async def store(self, ctx: InstanceContext, result: SolveResult) -> None:
        # Most of a plan repeats what is stored (owned cases keeping their meeting): those
        # are not read again — storing them would change nothing.
        assignments = [a for a in result.plan["assignments"] if self._may_change(ctx, a)]
        for start in range(0, len(assignments), STORE_CHUNK):
            async with self.db.write() as session:
                await self._assignments(session, ctx, result,
                                        assignments[start:start + STORE_CHUNK])
            await asyncio.sleep(0)  # let waiting requests in between chunks
        # The cases left without an owner in chunks too: a municipality short of room has
        # thousands, and one transaction for them all held the write lock (and every read's
        # audit entry behind it) for over a second.
        unassigned = result.plan.get("unassigned", [])
        for start in range(0, len(unassigned), STORE_CHUNK):
            async with self.db.write() as session:
                await self._unassigned(session, ctx, unassigned[start:start + STORE_CHUNK])
            await asyncio.sleep(0)
        async with self.db.write() as session:
            await self._no_longer_wanted(session, ctx)
            await self._follow_up_calls(session, ctx)

    async def _fresh(self, session: AsyncSession, ctx: InstanceContext, refs: list[str]
                     ) -> dict[int, Case]:
        """The cases as they are now, row-locked until the chunk commits (closing, an owner
        override and the employer's answers lock the same rows)."""
        ids = [ctx.cases[r].id for r in refs if r in ctx.cases]
        return {c.id: c for c in (await session.execute(
            select(Case).where(Case.id.in_(ids)).order_by(Case.id)
            .with_for_update(of=Case, key_share=True))).unique().scalars()}

    @staticmethod
    def _may_change(ctx: InstanceContext, item: dict[str, Any]) -> bool:
        """Whether storing the plan's `item` can change anything, judged from the case as
        the instance saw it: False when the case has its owner, the plan's private talk (if
        any) is the kept one and the plan's meeting is none, the confirmed one, the invitation
        already sent at the same time, or the same time, consultant and kind. If the case
        changed since, `_assignments` would skip it anyway (`_changed`); so skipping these
        here changes nothing."""
        planned = ctx.cases.get(item["case_id"])
        if planned is None:
            return False
        seen = ctx.seen.get(planned.id)
        consultant = ctx.consultants.get(item["consultant_id"])
        if seen is None or seen.owner_id is None or consultant is None:
            return True
        talk = item.get("private_talk")
        if talk is not None:
            kept = ctx.talks.get(planned.id)
            if kept is None or kept.start != _dt(talk["start"]) \
                    or kept.consultant_id != consultant.id:
                return True
        return not _meeting_stays(ctx, item, ctx.active_meetings.get(planned.id), consultant)

    @staticmethod
    def _changed(ctx: InstanceContext, case: Case, meeting: Meeting | None) -> bool:
        """Whether the case changed since the instance was built (see the module's doc)."""
        seen = ctx.seen.get(case.id)
        return (seen is None or case.closed_on is not None or case.status != "target"
                or case.status != seen.status or case.follow_up != seen.follow_up
                or case.owner_id != seen.owner_id or meeting_state(meeting) != seen.meeting)

    async def _assignments(self, session: AsyncSession, ctx: InstanceContext,
                           result: SolveResult, items: list[dict[str, Any]]) -> None:
        fresh = await self._fresh(session, ctx, [i["case_id"] for i in items])
        active = {m.case_id: m for m in (await session.execute(select(Meeting).where(
            Meeting.case_id.in_(list(fresh)), Meeting.status.in_(ACTIVE_MEETING))
            .order_by(Meeting.id).with_for_update(of=Meeting, key_share=True))).unique().scalars()}
        consultants = {c.key: c for c in (await session.execute(select(Consultant).where(
            Consultant.municipality_id == self.municipality))).scalars()}
        proposals: list[dict[str, Any]] = []  # the new proposals' rows
        talks: list[Meeting] = []
        moved_talks: dict[int, Meeting] = {}  # case id -> the talk the citizen was told of
        moved: dict[int, str] = {}  # case id -> why a proposal the employer had was moved
        assigned: list[Case] = []  # cases that got their first owner in this chunk
        for item in items:
            planned = ctx.cases.get(item["case_id"])
            case = fresh.get(planned.id) if planned else None
            consultant = consultants.get(item["consultant_id"])
            if case is None or consultant is None:
                continue
            if self._changed(ctx, case, active.get(case.id)):
                continue  # changed while we solved: the next run (already requested) plans it
            if case.owner_id is None:
                case.owner_id = consultant.id
                case.owner = consultant
                case.owner_reasons = [reason_in_words(r) for r in item.get("reasons") or []] \
                    or ["laveste belastning"]
                assigned.append(case)
            talk = await self._talk(session, ctx, case, consultant, item.get("private_talk"))
            if talk is not None:
                talks.append(talk[0])
                if talk[1] is not None:
                    moved_talks[talk[0].case_id] = talk[1]
            meeting = active.get(case.id)
            if _meeting_stays(ctx, item, meeting, consultant):
                continue
            wanted = item["meeting"]
            if meeting is not None:
                await cancel(session, meeting, "planlagt om", self.clock.utcnow())
                if meeting.invited_at is not None:
                    await self.notifier.cancelled(session, meeting, "mødet er flyttet",
                                                  cause="moved")
                    why = next((r for r in item.get("reasons") or [] if r in MOVED_WORDS),
                               "proposal_moved:impossible")
                    moved[case.id] = MOVED_WORDS[why]
            proposals.append({
                "municipality_id": self.municipality, "case_id": case.id,
                "consultant_id": consultant.id, "kind": wanted["kind"],
                "start": _dt(wanted["start"]), "end": _dt(wanted["end"]),
                "travel_minutes": wanted.get("travel_minutes", 0),
                "on_time": bool(item["on_time"]), "status": "proposed",
                "purpose": FOLLOW_UP if item["case_id"] in ctx.follow_ups else FIRST_MEETING,
                "alternatives": result.alternatives.get(item["case_id"], [])})
        for case in assigned:
            # The citizen's first message: who their consultant is, the right to a talk first.
            if case.owner is not None:
                await self.notifier.first_contact(session, case, case.owner)
        if talks:
            session.add_all(talks)
            await session.flush()
            for talk in talks:
                await self.notifier.talk_planned(
                    session, talk, moved_talks.get(talk.case_id),
                    tell_owner=talk.case not in assigned)
        if not proposals:
            await self.notifier.assigned(session, assigned, [])
            return
        await session.flush()  # cancelled meetings first: one active meeting per case
        new_meetings = await self._insert(session, proposals)
        for new in new_meetings:
            try:
                await self.notifier.invite(session, new)
            except Exception:
                # One case's invitation must not cost the others their plan: keep the
                # proposal, and ask the consultant to contact the employer instead.
                log.exception("invitation for case %s could not be made", new.case.case_ref)
                await self.notifier.invitation_failed(session, new)
            # what the invitation changed (invited, or confirmed by the citizen's letter)
            # written now: the next jobcentre meeting's savepoint then has nothing to flush
            await write_changes(session, self.clock.utcnow(), new)
            if new.case_id in moved and self.notifier.consultants is not None:
                # rule 11: the consultant hears of every move of a proposal the employer had
                await self.notifier.consultants.tell_owner(
                    session, "proposal_moved", new.case_id, new.id, note=moved[new.case_id])
        # The owners told (Slack: the consultant and the intake channel), with the proposals.
        await self.notifier.assigned(session, assigned, new_meetings)

    async def _insert(self, session: AsyncSession, proposals: list[dict[str, Any]]
                      ) -> list[Meeting]:
        """The chunk's new proposals written in one statement (the ORM wrote them one row at
        a time: it needs each new id back in order, which SQLite's RETURNING does not
        promise), stamped as a flush stamps them, then read back as rows — with their case
        and consultant, already in the session — in the plan's order. A case has one active
        meeting, so its id finds its new proposal."""
        now = self.clock.utcnow()
        # a follow-up's place in its case's series (its calendar event's own UID)
        series = await series_of(session, [row["case_id"] for row in proposals
                                           if row["purpose"] == FOLLOW_UP])
        connection = await session.connection()
        ids = dict((await connection.execute(
            insert(Meeting).returning(Meeting.case_id, Meeting.id),
            [{**row, "series": series.get(row["case_id"], 0) if row["purpose"] == FOLLOW_UP
              else 0, "created_at": now, "updated_at": now} for row in proposals])).all())
        rows = {m.case_id: m for m in (await session.execute(select(Meeting).where(
            Meeting.id.in_(list(ids.values()))))).unique().scalars()}
        return [rows[row["case_id"]] for row in proposals]

    async def _talk(self, session: AsyncSession, ctx: InstanceContext, case: Case,
                    consultant: Consultant, wanted: dict[str, Any] | None
                    ) -> tuple[Meeting, Meeting | None] | None:
        """The plan's private talk (rule 10) for the case, with the planned one it replaces
        (at another time or with another consultant: cancelled, the citizen told of the
        move by the new talk's message); the kept talk stays."""
        if wanted is None:
            return None
        start, end = _dt(wanted["start"]), _dt(wanted["end"])
        planned = list((await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.kind == PRIVATE_TALK,
            Meeting.status == TALK_PLANNED))).unique().scalars())
        kept = ctx.talks.get(case.id)
        if kept is not None and kept.start == start and kept.consultant_id == consultant.id:
            return None  # the agreed talk stays as it is
        replaced: Meeting | None = None
        for old in planned:
            if old.start == start and old.consultant_id == consultant.id:
                return None
            old.status, old.cancelled_at = TALK_CANCELLED, self.clock.utcnow()
            old.cancel_reason = "planlagt om"
            replaced = old
        talk = Meeting(municipality_id=self.municipality, case_id=case.id,
                       consultant_id=consultant.id, kind=PRIVATE_TALK, start=start, end=end,
                       travel_minutes=0, on_time=True, status=TALK_PLANNED, alternatives=[])
        talk.case, talk.consultant = case, consultant
        return talk, replaced

    async def _unassigned(self, session: AsyncSession, ctx: InstanceContext,
                          items: list[dict[str, Any]]) -> None:
        fresh = await self._fresh(session, ctx, [i["case_id"] for i in items])
        for item in items:
            planned = ctx.cases.get(item["case_id"])
            case = fresh.get(planned.id) if planned else None
            if case is not None and case.owner_id is None and case.closed_on is None \
                    and case.status == "target":
                reason = unassigned_in_words(item)
                case.owner_reasons = [f"ikke fordelt: {reason}"]
                if self.listener is not None:
                    # the intake channel hears of it (once per case and reason)
                    await self.listener.unassigned(session, case, reason)

    async def _follow_up_calls(self, session: AsyncSession, ctx: InstanceContext) -> None:
        """Telephone follow-ups due within the horizon are a task for the case's owner, "Ring
        til borgeren", due on that day (its Slack reminder is the tasks' own); one open task
        per case, moved when the due date moves, done when the follow-up is no longer by
        telephone (the plan changed) or the case was closed."""
        as_of = date.fromisoformat(ctx.instance["as_of"])
        horizon_end = as_of + timedelta(days=int(ctx.instance["horizon_days"]))
        now = self.clock.utcnow()
        open_calls = {t.case_id: t for t in (await session.execute(select(ConsultantTask).where(
            ConsultantTask.municipality_id == self.municipality,
            ConsultantTask.kind == FOLLOW_UP_CALL, ConsultantTask.done_at.is_(None))
            .order_by(ConsultantTask.id))).scalars()}
        # The cases read as the four columns used (not as whole rows with their employer and
        # owner joined: a municipality has hundreds of telephone follow-ups, read every run).
        due_cases = (await session.execute(select(
            Case.id, Case.owner_id, Case.next_follow_up_due).where(
            Case.municipality_id == self.municipality, Case.status == "target",
            Case.follow_up == "telephone", Case.closed_on.is_(None),
            Case.owner_id.is_not(None), Case.next_follow_up_due.is_not(None),
            Case.next_follow_up_due < horizon_end).order_by(Case.id))).all()
        wanted = {case_id for case_id, _, _ in due_cases}
        for case_id, owner_id, due in due_cases:
            task = open_calls.get(case_id)
            if task is None:
                session.add(ConsultantTask(
                    municipality_id=self.municipality, consultant_id=owner_id,
                    case_id=case_id, kind=FOLLOW_UP_CALL, text=FOLLOW_UP_CALL_TEXT,
                    due_on=due))
            else:
                task.due_on, task.consultant_id = due, owner_id
        others = [case_id for case_id in open_calls if case_id not in wanted]
        # Their cases as they are now, in one read (a case gone has no row: its task is done).
        still: set[int] = set()
        if others:
            still = {case_id for case_id, follow_up, closed_on, status, due in (
                await session.execute(select(Case.id, Case.follow_up, Case.closed_on,
                                             Case.status, Case.next_follow_up_due)
                                      .where(Case.id.in_(others))))
                     if follow_up == "telephone" and closed_on is None and status == "target"
                     and due is not None}
        for case_id in others:
            if case_id not in still:
                open_calls[case_id].done_at = now

    async def _no_longer_wanted(self, session: AsyncSession, ctx: InstanceContext) -> None:
        """Meetings whose case's follow-up changed (telephone, standard, declined, …), and any
        left standing on a closed case. Only those are read (and locked): the database
        picks them from the active meetings (a run's handful of the hundreds that stay);
        the loop below checks each one as before."""
        active = (await session.execute(select(Meeting).join(
            Case, Case.id == Meeting.case_id).where(
            Meeting.municipality_id == self.municipality,
            Meeting.status.in_(ACTIVE_MEETING),
            Case.closed_on.is_not(None) | Case.status.is_distinct_from("target")
            | Case.follow_up.is_distinct_from(Meeting.kind)).order_by(Meeting.id)
            .with_for_update(of=Meeting, key_share=True))).unique().scalars().all()
        # Planned talks of cases that no longer have a workplace meeting to come (closed,
        # another follow-up, the wish withdrawn) are cancelled; nobody else was told of them.
        for talk in (await session.execute(select(Meeting).where(
                Meeting.municipality_id == self.municipality, Meeting.kind == PRIVATE_TALK,
                Meeting.status == TALK_PLANNED).order_by(Meeting.id))).unique().scalars():
            case = talk.case
            if case.closed_on is not None or case.status != "target" \
                    or case.follow_up != "workplace_meeting" or not case.private_talk_first:
                talk.status, talk.cancelled_at = TALK_CANCELLED, self.clock.utcnow()
                talk.cancel_reason = "samtalen er ikke længere ønsket"
                # The citizen is told (a wish withdrawn through `PrivateTalks.register`
                # cancelled its talk there, and told them there).
                await self.notifier.talk_cancelled(
                    session, talk, "closed" if case.closed_on is not None
                    else "no_meeting" if case.private_talk_first else "not_wanted")
        for meeting in active:
            case = meeting.case
            if case.closed_on is not None:
                # Told as closing tells it (before the status changes: a confirmed meeting's
                # citizen is told too).
                await self.notifier.cancelled(session, meeting, CLOSED_REASON, follows=False)
                await cancel(session, meeting, CLOSED_REASON, self.clock.utcnow())
                continue
            if case.status == "target" and (case.follow_up == meeting.kind or (
                    case.id in ctx.at_the_jobcentre and meeting.kind == "jobcenter_meeting")):
                continue
            await cancel(session, meeting, "opfølgningen er ændret", self.clock.utcnow())
            await self.notifier.cancelled(session, meeting, "opfølgningen er ændret",
                                          follows=False, cause="follow_up_changed")
