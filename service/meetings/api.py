"""Staff confirm a meeting on the employer's behalf (after a phone call): the same booking as
the employer's page — database-enforced, with the confirmation mails and the citizen's letter."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from service.intake.schemas import CaseOut
from service.keys import INTAKE, STAFF_MEETINGS
from service.platform.http import json_response, parse_model, read_json_object, require
from service.platform.openapi import Operation, document
from service.platform.policies import CONFIRM_MEETING

LocalMinute = Annotated[str, StringConstraints(
    pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]$")]


class MeetingConfirm(BaseModel):
    """One of the offered times (the proposal or an alternative), local `YYYY-MM-DDTHH:MM`."""

    model_config = ConfigDict(strict=True, extra="forbid")
    start: LocalMinute


async def confirm_meeting(request: web.Request) -> web.Response:
    principal = await require(request, *CONFIRM_MEETING.roles)
    wanted = parse_model(MeetingConfirm, await read_json_object(request))
    confirmed = await request.app[STAFF_MEETINGS].confirm(request.match_info["case_id"],
                                                          wanted.start, principal)
    # The answer is the case as the caller now sees it: the confirmation is audited, and
    # this is no `case.read` of theirs.
    return json_response(await request.app[INTAKE].after_change(confirmed.case_ref,
                                                                principal))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases/{case_id}/meeting/confirm", confirm_meeting,
                        name="confirm_meeting")


document(
    Operation("post", "/api/cases/{case_id}/meeting/confirm",
              "Confirm the proposed meeting (or an alternative) for the employer, e.g. after "
              "a phone call", roles=CONFIRM_MEETING.roles, request=MeetingConfirm,
              responses={200: CaseOut},
              errors={409: "the time was booked meanwhile, the meeting changed, or it is "
                           "already confirmed for another time"},
              rules={"start": "one of the meeting's offered times (`meeting.start` or one of "
                     "`meeting.alternatives` of the case), a real time not in the past"}),
)
