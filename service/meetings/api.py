"""Staff confirm a meeting on the employer's behalf (after a phone call): the same booking as
the employer's page — database-enforced, with the confirmation mails and the citizen's letter."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.intake.schemas import CaseOut
from service.keys import (
    ANSWERS,
    EMPLOYER_DECLINES,
    HELD_INVITATIONS,
    INTAKE,
    MEETING_CONFLICTS,
    MEETING_MOVES,
    PRIVATE_TALKS,
    STAFF_MEETINGS,
)
from service.meetings.decline_reasons import DeclineReason
from service.meetings.staff_moves import MAX_REASON
from service.platform.errors import Invalid
from service.platform.http import json_response, parse_model, read_json_object, require
from service.platform.inputs import LOCAL_MINUTE_PATTERN
from service.platform.openapi import Operation, document
from service.platform.policies import (
    CANCEL_MEETING,
    CONFIRM_MEETING,
    MOVE_MEETING,
    REGISTER_CONTACT,
    REGISTER_MEETING,
    REGISTER_TALK,
    RESOLVE_CONFLICT,
)

LocalMinute = Annotated[str, StringConstraints(pattern=LOCAL_MINUTE_PATTERN)]


class MeetingConfirm(BaseModel):
    """One of the offered times (the proposal or an alternative), local `YYYY-MM-DDTHH:MM`."""

    model_config = ConfigDict(strict=True, extra="forbid")
    start: LocalMinute


class MeetingMove(BaseModel):
    """Either `start` (a time the consultant has free, local `YYYY-MM-DDTHH:MM`: the meeting
    is confirmed there, as agreed with the employer) or `new_proposals: true` (the employer
    gets new proposals)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    start: LocalMinute | None = None
    new_proposals: bool = False


class MeetingCancel(BaseModel):
    """Why the meeting is cancelled: told to the employer and the citizen (no health data)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=MAX_REASON)]


class PrivateTalkOutcome(BaseModel):
    """How the citizen's private talk went: `held`, `not_held`, or `not_wanted` (the citizen
    does not want it after all: the wish is cleared, the talk cancelled, planning runs)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    outcome: Literal["held", "not_held", "not_wanted"]


class FreeTime(BaseModel):
    start: str
    end: str
    travel_minutes: int


class FreeTimesOut(BaseModel):
    times: list[FreeTime]


class MeetingToMove(BaseModel):
    case_id: str
    start: str
    end: str
    kind: str
    consultant: str
    reason: Annotated[str, Field(description="why the consultant cannot hold it, in words")]
    substitute: str | None
    substitute_id: str | None
    found_at: str


class HandOverCase(BaseModel):
    case_id: str
    deadline: str
    deadline_in_absence: bool
    meeting_before_absence: Annotated[str | None, Field(
        description="the day of the case's confirmed meeting before the absence, which keeps "
                    "the deadline (YYYY-MM-DD), or null")]
    needs_hand_over: Annotated[bool, Field(
        description="the deadline falls in the absence and no meeting before it keeps it")]
    deadline_kind: Annotated[Literal["first_meeting", "follow_up"], Field(
        description="what the deadline is for: the first meeting, or the next follow-up")]
    suggested: str | None
    suggested_id: str | None
    reasons: list[str]


class LongAbsenceOut(BaseModel):
    consultant: str
    consultant_id: str
    first_day: str
    last_day: str
    working_days: int
    reason: str
    cases: list[HandOverCase]


class ToMoveOut(BaseModel):
    meetings: list[MeetingToMove]
    long_absences: list[LongAbsenceOut]


class HandOver(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    consultant_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


async def move_meeting(request: web.Request) -> web.Response:
    principal = await require(request, *MOVE_MEETING.roles)
    wanted = parse_model(MeetingMove, await read_json_object(request))
    case_ref = request.match_info["case_id"]
    if (wanted.start is None) == (not wanted.new_proposals):
        raise Invalid.field("start", "give either start or new_proposals: true",
                            "one_of_start_or_new_proposals")
    moves = request.app[MEETING_MOVES]
    if wanted.start is not None:
        await moves.move(case_ref, wanted.start, principal)
    else:
        await moves.new_proposals(case_ref, principal)
    return json_response(await request.app[INTAKE].after_change(case_ref, principal))


async def cancel_meeting(request: web.Request) -> web.Response:
    principal = await require(request, *CANCEL_MEETING.roles)
    wanted = parse_model(MeetingCancel, await read_json_object(request))
    case_ref = request.match_info["case_id"]
    await request.app[MEETING_MOVES].cancel(case_ref, wanted.reason, principal)
    return json_response(await request.app[INTAKE].after_change(case_ref, principal))


async def free_times(request: web.Request) -> web.Response:
    principal = await require(request, *MOVE_MEETING.roles)
    slots = await request.app[MEETING_MOVES].free_times(request.match_info["case_id"],
                                                        principal)
    return json_response({"times": [{"start": s.start.isoformat(timespec="minutes"),
                                     "end": s.end.isoformat(timespec="minutes"),
                                     "travel_minutes": s.travel_minutes} for s in slots]})


async def meetings_to_move(request: web.Request) -> web.Response:
    principal = await require(request, *RESOLVE_CONFLICT.roles)
    conflicts = request.app[MEETING_CONFLICTS]
    meetings = await conflicts.to_move(principal)
    absences = await conflicts.long_absences(principal)
    return json_response({
        "meetings": [{"case_id": m.case_ref, "start": m.start.isoformat(timespec="minutes"),
                      "end": m.end.isoformat(timespec="minutes"), "kind": m.kind,
                      "consultant": m.consultant, "reason": m.reason,
                      "substitute": m.substitute, "substitute_id": m.substitute_key,
                      "found_at": m.found_at.isoformat()} for m in meetings],
        "long_absences": [{
            "consultant": a.consultant, "consultant_id": a.consultant_key,
            "first_day": a.first_day.isoformat(), "last_day": a.last_day.isoformat(),
            "working_days": a.working_days, "reason": a.reason,
            "cases": [{"case_id": c["case_ref"], "deadline": c["deadline"].isoformat(),
                       "deadline_in_absence": c["deadline_in_absence"],
                       "meeting_before_absence": c["meeting_before_absence"].isoformat()
                       if c["meeting_before_absence"] else None,
                       "needs_hand_over": c["needs_hand_over"],
                       "deadline_kind": c["deadline_kind"],
                       "suggested": c["suggested"], "suggested_id": c["suggested_key"],
                       "reasons": c["reasons"]} for c in a.cases]} for a in absences]})


async def accept_substitute(request: web.Request) -> web.Response:
    principal = await require(request, *RESOLVE_CONFLICT.roles)
    case_ref = request.match_info["case_id"]
    await request.app[MEETING_CONFLICTS].accept_substitute(case_ref, principal)
    return json_response(await request.app[INTAKE].after_change(case_ref, principal))


async def ask_new_times(request: web.Request) -> web.Response:
    principal = await require(request, *RESOLVE_CONFLICT.roles)
    case_ref = request.match_info["case_id"]
    await request.app[MEETING_CONFLICTS].ask_new_times(case_ref, principal)
    return json_response(await request.app[INTAKE].after_change(case_ref, principal))


async def hand_over(request: web.Request) -> web.Response:
    principal = await require(request, *RESOLVE_CONFLICT.roles)
    wanted = parse_model(HandOver, await read_json_object(request))
    case_ref = request.match_info["case_id"]
    await request.app[MEETING_CONFLICTS].hand_over(case_ref, wanted.consultant_id, principal)
    return json_response(await request.app[INTAKE].after_change(case_ref, principal))


async def confirm_meeting(request: web.Request) -> web.Response:
    principal = await require(request, *CONFIRM_MEETING.roles)
    wanted = parse_model(MeetingConfirm, await read_json_object(request))
    confirmed = await request.app[STAFF_MEETINGS].confirm(request.match_info["case_id"],
                                                          wanted.start, principal)
    # The answer is the case as the caller now sees it: the confirmation is audited, and
    # this is no `case.read` of theirs.
    return json_response(await request.app[INTAKE].after_change(confirmed.case_ref,
                                                                principal))


async def register_private_talk(request: web.Request) -> web.Response:
    principal = await require(request, *REGISTER_TALK.roles)
    wanted = parse_model(PrivateTalkOutcome, await read_json_object(request))
    case_ref = request.match_info["case_id"]
    await request.app[PRIVATE_TALKS].register(case_ref, wanted.outcome, principal)
    return json_response(await request.app[INTAKE].after_change(case_ref, principal))


async def calls_done(request: web.Request) -> web.Response:
    """The owner (or a manager) has called citizen and employer: the held invitation goes."""
    principal = await require(request, *REGISTER_CONTACT.roles)
    case_ref = request.match_info["case_id"]
    await request.app[HELD_INVITATIONS].calls_done(case_ref, principal)
    return json_response(await request.app[INTAKE].after_change(case_ref, principal))


class EmployerDecline(BaseModel):
    """The employer's "cannot be held at the workplace", phoned in: one of the fixed reasons,
    and their own words (kept in fasthold, never sent on)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    reason: DeclineReason
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""


async def register_decline(request: web.Request) -> web.Response:
    principal = await require(request, *CANCEL_MEETING.roles)
    wanted = parse_model(EmployerDecline, await read_json_object(request))
    case_ref = request.match_info["case_id"]
    meeting_id = await request.app[EMPLOYER_DECLINES].declined_by_phone(case_ref, principal)
    await request.app[ANSWERS].decline(meeting_id, wanted.reason, wanted.note)
    return json_response(await request.app[INTAKE].after_change(case_ref, principal))


async def restore_decline(request: web.Request) -> web.Response:
    """After the call: the employer's declined workplace meeting stands."""
    principal = await require(request, *REGISTER_MEETING.roles)
    case_ref = request.match_info["case_id"]
    await request.app[EMPLOYER_DECLINES].restore(case_ref, principal)
    return json_response(await request.app[INTAKE].after_change(case_ref, principal))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases/{case_id}/calls-done", calls_done)
    app.router.add_post("/api/cases/{case_id}/decline", register_decline)
    app.router.add_post("/api/cases/{case_id}/decline/restore", restore_decline)
    app.router.add_post("/api/cases/{case_id}/private-talk", register_private_talk)
    app.router.add_post("/api/cases/{case_id}/meeting/confirm", confirm_meeting,
                        name="confirm_meeting")
    app.router.add_post("/api/cases/{case_id}/meeting/move", move_meeting)
    app.router.add_post("/api/cases/{case_id}/meeting/cancel", cancel_meeting)
    app.router.add_get("/api/cases/{case_id}/meeting/free-times", free_times)
    app.router.add_post("/api/cases/{case_id}/meeting/accept-substitute", accept_substitute)
    app.router.add_post("/api/cases/{case_id}/meeting/ask-new-times", ask_new_times)
    app.router.add_post("/api/cases/{case_id}/hand-over", hand_over)
    app.router.add_get("/api/meetings/to-move", meetings_to_move)


document(
    Operation("post", "/api/cases/{case_id}/calls-done",
              "The consultant has called citizen and employer (both calls registered): with "
              "`[meetings] invitation = \"after_calls\"` the employer's held invitation for "
              "the current proposal goes out now, and the case's later ones at once",
              roles=REGISTER_CONTACT.roles, responses={200: CaseOut},
              errors={409: "the case is closed"}),
    Operation("post", "/api/cases/{case_id}/decline",
              "Register the employer's \"cannot be held at the workplace\" (phoned in), as "
              "their link page does: the owner is asked to call, and the case moves to a "
              "jobcentre meeting after `[meetings] decline_grace_working_days`",
              roles=CANCEL_MEETING.roles, request=EmployerDecline, responses={200: CaseOut},
              errors={409: "the case has no workplace meeting"},
              rules={"reason": "no_rooms, no_sickness_talk, employee_unwilling or other",
                     "note": "at most 1000 characters; kept in fasthold, never sent on"}),
    Operation("post", "/api/cases/{case_id}/decline/restore",
              "After calling the employer who declined the workplace meeting: within the "
              "grace period the workplace meeting stands (the employer is told, with their "
              "link)", roles=REGISTER_MEETING.roles, responses={200: CaseOut},
              errors={409: "no decline waits (none, or the grace is over)"}),
    Operation("post", "/api/cases/{case_id}/private-talk",
              "Register the citizen's private talk with the consultant: held (it counts as "
              "kept), not held, or not wanted after all (the wish cleared, the talk "
              "cancelled, planning runs again)", roles=REGISTER_TALK.roles,
              request=PrivateTalkOutcome, responses={200: CaseOut},
              errors={409: "held or not_held, but the case has no planned talk"},
              rules={"outcome": "held, not_held or not_wanted"}),
    Operation("post", "/api/cases/{case_id}/meeting/confirm",
              "Confirm the proposed meeting (or an alternative) for the employer, e.g. after "
              "a phone call", roles=CONFIRM_MEETING.roles, request=MeetingConfirm,
              responses={200: CaseOut},
              errors={409: "the time was booked meanwhile, the meeting changed, or it is "
                           "already confirmed for another time"},
              rules={"start": "one of the meeting's offered times (`meeting.start` or one of "
                     "`meeting.alternatives` of the case), a real time not in the past"}),
    Operation("post", "/api/cases/{case_id}/meeting/move",
              "Move the case's meeting (the employer phoned): to a time its consultant has "
              "free (confirmed there), or send the employer new proposals",
              roles=MOVE_MEETING.roles, request=MeetingMove, responses={200: CaseOut},
              errors={409: "the time was booked meanwhile"},
              rules={"start": "a future time on the planning grid, within the planning "
                     "horizon (`[planning] horizon_days`), that the meeting's consultant has "
                     "free (see `meeting/free-times`); give either `start` or "
                     "`new_proposals: true`"}),
    Operation("post", "/api/cases/{case_id}/meeting/cancel",
              "Cancel the case's meeting; employer (METHOD:CANCEL) and citizen are told the "
              "reason, and planning proposes a new time", roles=CANCEL_MEETING.roles,
              request=MeetingCancel, responses={200: CaseOut},
              rules={"reason": "not blank; plain text"}),
    Operation("get", "/api/cases/{case_id}/meeting/free-times",
              "Times the meeting's consultant has free for it (the next two weeks)",
              roles=MOVE_MEETING.roles, responses={200: FreeTimesOut}),
    Operation("get", "/api/meetings/to-move",
              "Møder der skal flyttes: confirmed meetings whose consultant can no longer hold "
              "them (with a colleague free then), and long absences with the consultant's "
              "open cases to hand over", roles=RESOLVE_CONFLICT.roles,
              responses={200: ToMoveOut}),
    Operation("post", "/api/cases/{case_id}/meeting/accept-substitute",
              "Give the case and its confirmed meeting to the colleague proposed (employer's "
              "calendar updated, same UID)", roles=RESOLVE_CONFLICT.roles,
              responses={200: CaseOut},
              errors={409: "the colleague is no longer free at the meeting's time"}),
    Operation("post", "/api/cases/{case_id}/meeting/ask-new-times",
              "Ask the employer for new times for a meeting the consultant cannot hold",
              roles=RESOLVE_CONFLICT.roles, responses={200: CaseOut}),
    Operation("post", "/api/cases/{case_id}/hand-over",
              "Hand a long-absent consultant's case to a colleague", roles=RESOLVE_CONFLICT.roles,
              request=HandOver, responses={200: CaseOut},
              rules={"consultant_id": "an active consultant"}),
)
