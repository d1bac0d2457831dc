"""Closing and reopening a case, and registering what the consultant did, over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from service.intake.schemas import CaseOut
from service.keys import CASE_CLOSING, OUTCOMES
from service.platform.http import json_response, parse_model, read_json_object, require
from service.platform.openapi import Operation, document

ROLES = ("intake", "manager", "consultant")
REGISTERING = ("consultant", "manager", "admin")
# Need to know: another consultant's case is answered exactly as an unknown one (audited).
NOT_THEIRS = "no case with this case_id, or another consultant's case (the attempt is audited)"


class Reopened(BaseModel):
    owner_kept: bool = Field(description="the case went back to its owner (they have room)")
    reason: str = Field(description="why not, in Danish words (empty when kept)")
    previous_owner: str | None = Field(default=None, description="the owner it had, when "
                                       "not kept")


class ReopenOut(CaseOut):
    reopened: Reopened | None = Field(default=None, description="absent when the case was "
                                      "not closed (nothing changed)")


class CaseClose(BaseModel):
    """How the case ended and on which day (not in the future, not before the absence)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    outcome: Literal["recovered", "partly_recovered", "dismissed", "moved", "other"]
    on: date = Field(description="YYYY-MM-DD; not in the future, not before the case's first "
                     "absence day")
    note: str = Field(default="", max_length=1000)


async def close_case(request: web.Request) -> web.Response:
    principal = await require(request, *ROLES)
    body = await read_json_object(request)
    # Dates arrive as strings in JSON: strict mode takes them only in JSON mode.
    closing = parse_model(CaseClose, body, json_mode=True)
    return json_response(await request.app[CASE_CLOSING].close(
        request.match_info["case_id"], closing.outcome, closing.on, closing.note, principal))


class ContactIn(BaseModel):
    """Who the consultant has called (registered with the time of the call: now)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    who: Literal["citizen", "employer"]


class MeetingOutcomeIn(BaseModel):
    """How the case's meeting went: held at the workplace, at the jobcentre or by phone (and
    whether the employer took part), or not held (a new time is planned)."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
        # employer_took_part (true or false) unless the meeting was not held.
        "if": {"properties": {"place": {"const": "not_held"}}},
        "else": {"required": ["employer_took_part"],
                 "properties": {"employer_took_part": {"type": "boolean"}}}})
    place: Literal["workplace", "jobcentre", "phone", "not_held"]
    employer_took_part: bool | None = Field(
        default=None, description="required unless place is not_held")


class InterventionIn(BaseModel):
    """The day a workplace-oriented intervention started (not in the future)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    started_on: date = Field(description="YYYY-MM-DD; not in the future, not before the "
                             "case's first absence day")


async def register_contact(request: web.Request) -> web.Response:
    principal = await require(request, *REGISTERING)
    contact = parse_model(ContactIn, await read_json_object(request))
    return json_response(await request.app[OUTCOMES].register_contact(
        request.match_info["case_id"], contact.who, principal))


async def register_meeting(request: web.Request) -> web.Response:
    principal = await require(request, *REGISTERING)
    outcome = parse_model(MeetingOutcomeIn, await read_json_object(request))
    return json_response(await request.app[OUTCOMES].register_meeting(
        request.match_info["case_id"], outcome.place, outcome.employer_took_part, principal))


async def register_intervention(request: web.Request) -> web.Response:
    principal = await require(request, *REGISTERING)
    body = parse_model(InterventionIn, await read_json_object(request), json_mode=True)
    return json_response(await request.app[OUTCOMES].register_intervention(
        request.match_info["case_id"], body.started_on, principal))


async def reopen_case(request: web.Request) -> web.Response:
    principal = await require(request, *ROLES)
    return json_response(await request.app[CASE_CLOSING].reopen(
        request.match_info["case_id"], principal))


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
              "freed; closing again changes nothing", roles=ROLES, request=CaseClose,
              responses={200: CaseOut},
              rules={"on": "not in the future (the municipality's today), not before the "
                     "case's first absence day"}),
    Operation("post", "/api/cases/{case_id}/reopen",
              "Reopen a closed case; it is planned again — with its owner if they have room "
              "(`reopened.owner_kept`), otherwise planning gives it to a consultant who has "
              "(`reopened.reason` says why)", roles=ROLES, responses={200: ReopenOut}),
    Operation("post", "/api/cases/{case_id}/contacts",
              "Register a call to the citizen or the employer (the case's owner, a manager)",
              roles=REGISTERING, request=ContactIn, responses={200: CaseOut},
              errors={404: NOT_THEIRS, 409: "the case is closed"}),
    Operation("post", "/api/cases/{case_id}/meeting-outcome",
              "Register how the case's meeting went; not held: a new time is planned",
              roles=REGISTERING, request=MeetingOutcomeIn, responses={200: CaseOut},
              errors={404: NOT_THEIRS, 409: "the case is closed, its meeting has "
                      "not begun, or there is no meeting to register as not held"}),
    Operation("post", "/api/cases/{case_id}/intervention",
              "Register the start of a workplace-oriented intervention",
              roles=REGISTERING, request=InterventionIn, responses={200: CaseOut},
              errors={404: NOT_THEIRS, 409: "the case is closed"},
              rules={"started_on": "not in the future (the municipality's today), not before "
                     "the case's first absence day"}),
)
