"""Closing and reopening a case over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from service.intake.schemas import CaseOut
from service.keys import CASE_CLOSING
from service.platform.http import json_response, parse_model, read_json_object, require
from service.platform.openapi import Operation, document

ROLES = ("intake", "manager", "consultant")


class CaseClose(BaseModel):
    """How the case ended and on which day (not in the future, not before the absence)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    outcome: Literal["recovered", "partly_recovered", "dismissed", "moved", "other"]
    on: date = Field(description="YYYY-MM-DD")
    note: str = Field(default="", max_length=1000)


async def close_case(request: web.Request) -> web.Response:
    principal = await require(request, *ROLES)
    body = await read_json_object(request)
    # Dates arrive as strings in JSON: strict mode takes them only in JSON mode.
    closing = parse_model(CaseClose, body, json_mode=True)
    return json_response(await request.app[CASE_CLOSING].close(
        request.match_info["case_id"], closing.outcome, closing.on, closing.note, principal))


async def reopen_case(request: web.Request) -> web.Response:
    principal = await require(request, *ROLES)
    return json_response(await request.app[CASE_CLOSING].reopen(
        request.match_info["case_id"], principal))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases/{case_id}/close", close_case, name="close_case")
    app.router.add_post("/api/cases/{case_id}/reopen", reopen_case, name="reopen_case")


document(
    Operation("post", "/api/cases/{case_id}/close",
              "Close a case (it ended): its meetings are cancelled, its consultant's room "
              "freed; closing again changes nothing", roles=ROLES, request=CaseClose,
              responses={200: CaseOut}),
    Operation("post", "/api/cases/{case_id}/reopen", "Reopen a closed case; it is planned again",
              roles=ROLES, responses={200: CaseOut}),
)
