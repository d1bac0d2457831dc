"""Closing and reopening a case, and registering what the consultant did, over HTTP."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web
from pydantic import BaseModel, Field

from service.followup.closing import CaseClose, Reopened
from service.followup.outcomes import ContactIn, InterventionIn, MeetingOutcomeIn
from service.intake.schemas import CaseOut
from service.keys import CASE_CLOSING, INTAKE, OUTCOMES
from service.platform.auth import Principal
from service.platform.http import json_response, parse_model, read_json_object, require
from service.platform.openapi import Operation, document
from service.platform.policies import (
    CLOSE_CASE,
    REGISTER_CONTACT,
    REGISTER_INTERVENTION,
    REGISTER_MEETING,
    REOPEN_CASE,
)

# Need to know: another consultant's case is answered exactly as an unknown one (audited).
NOT_THEIRS = "no case with this case_id, or another consultant's case (the attempt is audited)"


class ReopenedOut(BaseModel):
    owner_kept: bool = Field(description="the case went back to its owner (they have room)")
    reason: str = Field(description="why not, in Danish words (empty when kept)")
    previous_owner: str | None = Field(default=None, description="the owner it had, when "
                                       "not kept")


class ReopenOut(CaseOut):
    reopened: ReopenedOut | None = Field(default=None, description="absent when the case was "
                                         "not closed (nothing changed)")


async def _changed(request: web.Request, principal: Principal) -> web.Response:
    """The answer to a write: the case as the caller now sees it (the write is audited; this
    is no `case.read` of theirs)."""
    return json_response(await request.app[INTAKE].after_change(
        request.match_info["case_id"], principal))


async def close_case(request: web.Request) -> web.Response:
    principal = await require(request, *CLOSE_CASE.roles)
    body = await read_json_object(request)
    # Dates arrive as strings in JSON: strict mode takes them only in JSON mode.
    closing = parse_model(CaseClose, body, json_mode=True)
    await request.app[CASE_CLOSING].close(request.match_info["case_id"], closing.outcome,
                                          closing.on, closing.note, principal)
    return await _changed(request, principal)


async def register_contact(request: web.Request) -> web.Response:
    principal = await require(request, *REGISTER_CONTACT.roles)
    contact = parse_model(ContactIn, await read_json_object(request))
    await request.app[OUTCOMES].register_contact(request.match_info["case_id"], contact.who,
                                                 principal)
    return await _changed(request, principal)


async def register_meeting(request: web.Request) -> web.Response:
    principal = await require(request, *REGISTER_MEETING.roles)
    # Dates arrive as strings in JSON: strict mode takes them only in JSON mode.
    outcome = parse_model(MeetingOutcomeIn, await read_json_object(request), json_mode=True)
    await request.app[OUTCOMES].register_meeting(
        request.match_info["case_id"], outcome.place, outcome.employer_took_part, principal,
        held_at=outcome.held_at, minutes=outcome.minutes())
    return await _changed(request, principal)


async def register_intervention(request: web.Request) -> web.Response:
    principal = await require(request, *REGISTER_INTERVENTION.roles)
    body = parse_model(InterventionIn, await read_json_object(request), json_mode=True)
    await request.app[OUTCOMES].register_intervention(
        request.match_info["case_id"], body.started_on, principal, kind=body.kind,
        hours_per_week=body.hours_per_week, ends_on=body.ends_on)
    return await _changed(request, principal)


def _reopened(result: Reopened) -> dict[str, object]:
    out = {k: v for k, v in asdict(result).items()
           if k in ReopenedOut.model_fields and v is not None}
    return out


async def reopen_case(request: web.Request) -> web.Response:
    principal = await require(request, *REOPEN_CASE.roles)
    result = await request.app[CASE_CLOSING].reopen(request.match_info["case_id"], principal)
    out = await request.app[INTAKE].after_change(result.case_ref, principal)
    if result.reopened:
        out["reopened"] = _reopened(result)
    return json_response(out)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases/{case_id}/close", close_case, name="close_case")
    app.router.add_post("/api/cases/{case_id}/reopen", reopen_case, name="reopen_case")
    app.router.add_post("/api/cases/{case_id}/contacts", register_contact,
                        name="register_contact")
    app.router.add_post("/api/cases/{case_id}/meeting-outcome", register_meeting,
                        name="register_meeting_outcome")
    app.router.add_post("/api/cases/{case_id}/intervention", register_intervention,
                        name="register_intervention")


document(
    Operation("post", "/api/cases/{case_id}/close",
              "Close a case (it ended): its meetings are cancelled, its consultant's room "
              "freed; closing again changes nothing", roles=CLOSE_CASE.roles, request=CaseClose,
              responses={200: CaseOut},
              rules={"on": "not in the future (the municipality's today), not before the "
                     "case's first absence day"}),
    Operation("post", "/api/cases/{case_id}/reopen",
              "Reopen a closed case; it is planned again — with its owner if they have room "
              "(`reopened.owner_kept`), otherwise planning gives it to a consultant who has "
              "(`reopened.reason` says why)", roles=REOPEN_CASE.roles, responses={200: ReopenOut}),
    Operation("post", "/api/cases/{case_id}/contacts",
              "Register a call to the citizen or the employer (the case's owner, a manager)",
              roles=REGISTER_CONTACT.roles, request=ContactIn, responses={200: CaseOut},
              errors={404: NOT_THEIRS, 409: "the case is closed"}),
    Operation("post", "/api/cases/{case_id}/meeting-outcome",
              "Register how the case's meeting went, when it was held and its minutes "
              "(agreements — the consultant's become their tasks —, the plan back to work, "
              "a retention plan asked for, a staff-only note; `send_to` mails the citizen "
              "and/or employer what concerns them); not held: a new time is planned. A "
              "meeting held in a month that has ended is listed as a correction",
              roles=REGISTER_MEETING.roles, request=MeetingOutcomeIn, responses={200: CaseOut},
              errors={404: NOT_THEIRS, 409: "the case is closed, its meeting has "
                      "not begun, or there is no meeting to register as not held"},
              rules={"held_at": "not in the future (the municipality's local time), not "
                     "before the case's first absence day",
                     "return_plan": "steps ascending by `from`; full_time_from after the "
                     "last step",
                     "*": "with place not_held, none of held_at and the minutes' fields"}),
    Operation("post", "/api/cases/{case_id}/intervention",
              "Register a workplace-oriented intervention (its kind; several per case; a "
              "partial return keeps the case open with its owner)",
              roles=REGISTER_INTERVENTION.roles, request=InterventionIn, responses={200: CaseOut},
              errors={404: NOT_THEIRS, 409: "the case is closed"},
              rules={"started_on": "not in the future (the municipality's today), not before "
                     "the case's first absence day", "ends_on": "not before started_on"}),
)
