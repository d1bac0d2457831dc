"""Storing a plan: owners for new cases, new proposals (the employer invited), proposals no
longer wanted cancelled (and those told about them told) — in one transaction.

Cases that changed while the solver worked are left alone: the change asked for another run.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.meetings.notifications import MeetingNotifier
from service.planning.instance import InstanceContext
from service.planning.solver import SolveResult
from service.platform.db.models import ACTIVE_MEETING, BookedMinute, Case, Consultant, Meeting
from service.text.reasons import reason_in_words, unassigned_in_words

log = logging.getLogger("fasthold.planning")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def store_plan(session: AsyncSession, ctx: InstanceContext, result: SolveResult,
                     notifier: MeetingNotifier, clock: Clock) -> None:
    data = result.plan
    municipality = notifier.config.municipality.id
    fresh = {c.id: c for c in (await session.execute(select(Case).where(
        Case.id.in_([c.id for c in ctx.cases.values()])))).unique().scalars()}
    active = {m.case_id: m for m in (await session.execute(select(Meeting).where(
        Meeting.municipality_id == municipality,
        Meeting.status.in_(ACTIVE_MEETING)))).unique().scalars()}

    for item in data["assignments"]:
        planned = ctx.cases.get(item["case_id"])
        case = fresh.get(planned.id) if planned else None
        consultant = ctx.consultants.get(item["consultant_id"])
        if case is None or consultant is None:
            continue
        # The instance's consultant rows came from another session: use this session's.
        consultant = await session.get(Consultant, consultant.id)
        if consultant is None:
            continue
        if case.follow_up != planned.follow_up or case.status != "target":
            continue  # changed while we solved: the next run (already requested) plans it
        if case.owner_id is None:
            case.owner_id = consultant.id
            case.owner = consultant
            case.owner_reasons = [reason_in_words(r) for r in item.get("reasons") or []] \
                or ["laveste belastning"]
        meeting = active.get(case.id)
        wanted = item.get("meeting")
        if meeting is not None and meeting.status == "confirmed":
            continue
        if meeting is not None and item["case_id"] in ctx.pinned_invitations and wanted \
                and _dt(wanted["start"]) == meeting.start:
            continue  # the invitation already sent stays as it is
        if wanted is None:
            continue
        if meeting is not None and meeting.start == _dt(wanted["start"]) and \
                meeting.consultant_id == consultant.id and meeting.kind == wanted["kind"]:
            continue
        if meeting is not None:
            meeting.status = "cancelled"
            meeting.cancelled_at = clock.utcnow()
            meeting.cancel_reason = "planlagt om"
            if meeting.invited_at is not None:
                await notifier.cancelled(session, meeting, "mødet er flyttet")
            await session.flush()
        new = Meeting(
            municipality_id=municipality, case_id=case.id,
            consultant_id=consultant.id, kind=wanted["kind"], start=_dt(wanted["start"]),
            end=_dt(wanted["end"]), travel_minutes=wanted.get("travel_minutes", 0),
            on_time=bool(item["on_time"]), status="proposed",
            alternatives=result.alternatives.get(item["case_id"], []))
        new.case = case
        new.consultant = consultant
        session.add(new)
        await session.flush()
        try:
            await notifier.invite(session, new)
        except Exception:
            # One case's invitation must not cost the others their plan: keep the
            # proposal, and ask the consultant to contact the employer instead.
            log.exception("invitation for case %s could not be made", case.case_ref)
            await notifier.invitation_failed(session, new)

    for item in data.get("unassigned", []):
        planned = ctx.cases.get(item["case_id"])
        case = fresh.get(planned.id) if planned else None
        if case is not None and case.owner_id is None:
            case.owner_reasons = [f"ikke fordelt: {unassigned_in_words(item)}"]

    # Meetings no longer wanted: the follow-up changed (telephone, standard, declined, …).
    planned_kind = {c.id: c.follow_up for c in fresh.values() if c.status == "target"}
    for case_id, meeting in active.items():
        kind = planned_kind.get(case_id)
        if kind == meeting.kind:
            continue
        case = meeting.case
        if case.status == "target" and case.follow_up == meeting.kind:
            continue
        meeting.status = "cancelled"
        meeting.cancelled_at = clock.utcnow()
        meeting.cancel_reason = "opfølgningen er ændret"
        await session.execute(delete(BookedMinute).where(BookedMinute.meeting_id == meeting.id))
        await notifier.cancelled(session, meeting, "opfølgningen er ændret", follows=False)
