"""Staff confirm a meeting on the employer's behalf (after a phone call): the same booking as
the employer's page — database-enforced, with the confirmation mails and the citizen's letter."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from sqlalchemy import select

from service import audit
from service.api.openapi import Operation, document
from service.api.schemas import CaseOut
from service.app import CONFIG
from service.db.models import Case, Meeting
from service.employer_pages import ANSWERS
from service.http import DB, ApiError, field_error_response, read_json_object, require
from service.intake import INTAKE
from service.meeting_answers import Outcome, offered_slots
from service.planning_instance import ACTIVE_MEETING

LocalMinute = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")]


class MeetingConfirm(BaseModel):
    """One of the offered times (the proposal or an alternative), local `YYYY-MM-DDTHH:MM`."""

    model_config = ConfigDict(strict=True, extra="forbid")
    start: LocalMinute


async def confirm_meeting(request: web.Request) -> web.Response:
    principal = await require(request, "intake", "consultant")
    body = await read_json_object(request)
    try:
        wanted = MeetingConfirm.model_validate(body)
    except ValidationError as exc:
        from rules.facts import validation_errors

        raise field_error_response(validation_errors(exc)) from None
    try:
        datetime.fromisoformat(wanted.start)
    except ValueError:
        raise field_error_response([{"field": "start", "message": "is not a real time"}]
                                   ) from None
    municipality = request.app[CONFIG].municipality.id
    case_ref = request.match_info["case_id"]
    async with request.app[DB].read() as session:
        row = (await session.execute(
            select(Meeting).join(Case, Case.id == Meeting.case_id).where(
                Case.municipality_id == municipality, Case.case_ref == case_ref,
                Meeting.status.in_(ACTIVE_MEETING)))).unique().scalar_one_or_none()
    if row is None:
        raise ApiError(404, f"case {case_ref!r} has no proposed meeting")
    offered = [s.key for s in offered_slots(row)]
    outcome = await request.app[ANSWERS].confirm(row.id, wanted.start)
    if outcome == Outcome.UNKNOWN_SLOT:
        raise field_error_response([{"field": "start", "message":
                                     f"must be one of the offered times: {', '.join(offered)}"}])
    if outcome == Outcome.TOO_LATE:
        raise field_error_response([{"field": "start", "message": "is in the past"}])
    if outcome == Outcome.TAKEN:
        raise ApiError(409, "the consultant was booked at that time meanwhile; choose another")
    if outcome == Outcome.CLOSED:
        raise ApiError(409, "the meeting was changed meanwhile; reload the case")
    async with request.app[DB].write() as session:
        audit.record(session, principal, municipality, "meeting.confirm_by_staff", row.case_id,
                     {"start": wanted.start, "outcome": outcome})
    return web.json_response(await request.app[INTAKE].get(case_ref, principal))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases/{case_id}/meeting/confirm", confirm_meeting,
                        name="confirm_meeting")


document(
    Operation("post", "/api/cases/{case_id}/meeting/confirm",
              "Confirm the proposed meeting (or an alternative) for the employer, e.g. after "
              "a phone call", roles=("intake", "consultant"), request=MeetingConfirm,
              responses={200: CaseOut}),
)
