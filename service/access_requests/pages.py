"""Access requests over HTTP (admin only): `/admin/indsigt` (the CPR number in a form, the
report as a printable page or a JSON file) and `POST /api/access-requests`. The CPR number
travels in a POST body, never in an address (addresses end up in logs and histories)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from service.access_requests.report_models import AccessReportOut
from service.intake.schemas import CPR_PATTERN, normalise_cpr
from service.keys import ACCESS_REQUESTS
from service.platform.errors import Invalid
from service.platform.http import json_response, parse_model, read_json_object, require
from service.platform.inputs import validated
from service.platform.openapi import Operation, document
from service.platform.pages import add_nav, page_principal, read_form, render
from service.text.errors import danish_field_errors

TEMPLATES = Path(__file__).resolve().parent / "templates"
LABELS = {"cpr": "CPR-nummeret"}


class AccessRequestIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    cpr: Annotated[str, AfterValidator(normalise_cpr)] = Field(
        description="The citizen's CPR number, 10 digits (DDMMYY-SSSS or without the hyphen)",
        json_schema_extra={"pattern": CPR_PATTERN})


async def form_page(request: web.Request) -> web.Response:
    await page_principal(request, "admin")
    return render(request, "access_requests/access_request.html", values={}, errors={},
                  report=None)


async def submit(request: web.Request) -> web.Response:
    principal = await page_principal(request, "admin")
    form = await read_form(request)
    raw = form.get("cpr")
    cpr = raw.strip() if isinstance(raw, str) else ""
    try:
        wanted = validated(AccessRequestIn, {"cpr": cpr})
    except Invalid as exc:
        return render(request, "access_requests/access_request.html", status=422,
                      values={"cpr": cpr}, errors=danish_field_errors(exc.errors, LABELS),
                      report=None)
    report = await request.app[ACCESS_REQUESTS].report(wanted.cpr, principal)
    if form.get("format") == "json":
        return web.Response(
            body=report.model_dump_json(indent=2).encode("utf-8"),
            content_type="application/json", charset="utf-8", headers={
                "Content-Disposition": 'attachment; filename="indsigt.json"'})
    return render(request, "access_requests/access_request.html", values={"cpr": cpr},
                  errors={}, report=report)


async def api(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    wanted = parse_model(AccessRequestIn, await read_json_object(request))
    report = await request.app[ACCESS_REQUESTS].report(wanted.cpr, principal)
    return json_response(report.model_dump(mode="json"))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/indsigt", form_page, name="access_request_form")
    app.router.add_post("/admin/indsigt", submit, name="access_request")
    app.router.add_post("/api/access-requests", api, name="access_requests")
    add_nav(app, "Indsigt", "/admin/indsigt", ["admin"], order=920)


document(
    Operation("post", "/api/access-requests", "A citizen's request for access (GDPR article "
              "15): every case of the CPR number with all that is held on it — the citizen's "
              "details, facts, decisions, meetings with their minutes, interventions, the "
              "messages sent and the look-ups of the case (when, by which role, what) — and "
              "the general information the article asks for. Audited (access_request.made, "
              "case.access_request per case); no case is an empty list",
              roles=("admin",), request=AccessRequestIn, responses={200: AccessReportOut}),
)
