"""The audit log for admins: `/admin/audit` (Revisionslog: the filters, a page of entries),
`/admin/audit.csv` (every entry that matches) and `GET /api/audit` (the same as JSON).
The search is `service.staff.audit_log`; each view of it is itself in the log."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel

from service.keys import AUDIT_LOG, CLOCK
from service.platform.errors import FieldError, Invalid
from service.platform.http import json_response, paging, require
from service.platform.openapi import Operation, document
from service.platform.pages import add_nav, page_number, page_principal, render
from service.platform.paging import page_count
from service.staff.audit_log import (
    CSV_MAX,
    FILTERS,
    MAX_DAYS,
    PER_PAGE,
    AuditFilters,
    read_filters,
)
from service.text.case_words import AUDIT_ACTION, actor_in_words, word
from service.text.errors import danish_field_errors

# The page's Danish names of the filters (errors name them).
LABELS = {"from": "Fra-datoen", "to": "Til-datoen", "actor": "Hvem", "case_id": "Sags-id",
          "action": "Handlingen"}
# The page's choice of action: every action of a kind, then each action in words.
ACTION_GROUPS = (("case", "Alt om sager"), ("meeting", "Alt om møder"),
                 ("staff", "Log ind, log ud og brugere"), ("consultant", "Alt om konsulenter"),
                 ("audit", "Søgninger i revisionsloggen"), ("access_request", "Indsigter"))
API_LIMIT = 1000
MAX_OFFSET = 1_000_000


def _danish(errors: list[FieldError]) -> dict[str, str]:
    """The filters' errors in the page's words: its from and to are days, not months."""
    return danish_field_errors([{**e, "code": "before_from_day"} if e.get("code") ==
                                "before_from" else dict(e) for e in errors], LABELS)


def _filter_values(request: web.Request, names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.query[name] for name in request.query if name in names}


def _query(filters: AuditFilters, **extra: Any) -> str:
    values = {key: value for key, value in filters.as_details().items() if value}
    return urlencode({**values, **extra})


async def page(request: web.Request) -> web.Response:
    principal = await page_principal(request, "admin")
    today = request.app[CLOCK].today()
    values = {name: request.query.get(name, "") for name in FILTERS}
    try:
        filters = read_filters({k: v for k, v in values.items() if v}, today)
    except Invalid as exc:
        return render(request, "staff/audit.html", status=422, values=values, rows=[],
                      total=0, errors=_danish(list(exc.errors)), page=1, pages=1,
                      page_link=lambda n: "", csv_link="", max_days=MAX_DAYS,
                      actions=_action_choices(values["action"]))
    number = page_number(request)
    found = await request.app[AUDIT_LOG].search(filters, principal,
                                                offset=(number - 1) * PER_PAGE, last_page=True)
    pages = page_count(found.total, PER_PAGE)  # past the last page, the last is read
    return render(request, "staff/audit.html", values=filters.as_details(), rows=found.rows,
                  total=found.total, errors={}, page=min(number, pages), pages=pages,
                  page_link=lambda n: "/admin/audit?" + _query(filters, side=n),
                  csv_link="/admin/audit.csv?" + _query(filters), max_days=MAX_DAYS,
                  actions=_action_choices(filters.action),
                  action_words=AUDIT_ACTION, actor_words=actor_in_words, word=word,
                  details_text=_details_text)


def _action_choices(current: str) -> list[tuple[str, str]]:
    """"Alle handlinger", the groups, then every action in words (and one typed in a link
    that is none of them, so the form shows what is searched)."""
    choices = [("", "Alle handlinger")] + [(key, f"{words} ({key}.…)")
                                           for key, words in ACTION_GROUPS]
    choices += sorted(((code, f"{words} ({code})") for code, words in AUDIT_ACTION.items()),
                      key=lambda choice: choice[1])
    if current and current not in {key for key, _ in choices}:
        choices.append((current, current))
    return choices


def _details_text(details: dict[str, Any]) -> str:
    return ", ".join(f"{key}: {json.dumps(value, ensure_ascii=False)}"
                     for key, value in sorted(details.items()))


async def csv_file(request: web.Request) -> web.Response:
    principal = await page_principal(request, "admin")
    try:
        filters = read_filters(_filter_values(request, FILTERS), request.app[CLOCK].today())
    except Invalid as exc:
        raise web.HTTPUnprocessableEntity(text="; ".join(
            _danish(list(exc.errors)).values())) from None
    found = await request.app[AUDIT_LOG].search(filters, principal, limit=CSV_MAX)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Tidspunkt (UTC)", "Hvem", "Rolle", "Handling", "Sags-id", "Detaljer"])
    for row in found.rows:
        writer.writerow([row.at.isoformat(timespec="seconds"), row.actor, row.role,
                         row.action, row.case_id or "", _details_text(row.details)])
    name = f"revisionslog-{filters.first}-{filters.last}.csv"
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


class AuditEntryOut(BaseModel):
    at: str
    actor: str
    role: str
    action: str
    case_id: str | None
    details: dict[str, object]


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]
    total: int
    limit: int
    offset: int


async def api(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    values = {name: request.query[name] for name in request.query
              if name not in ("limit", "offset")}  # an unknown one is named by read_filters
    problems: list[FieldError] = []
    try:
        filters = read_filters(values, request.app[CLOCK].today())
    except Invalid as exc:
        problems = list(exc.errors)
    pages = paging(request.query, problems, default_limit=100, max_limit=API_LIMIT,
                   max_offset=MAX_OFFSET)
    if problems:
        raise Invalid(problems)
    found = await request.app[AUDIT_LOG].search(filters, principal, offset=pages["offset"],
                                                limit=pages["limit"])
    return json_response({"entries": [
        {"at": r.at.isoformat(), "actor": r.actor, "role": r.role, "action": r.action,
         "case_id": r.case_id, "details": r.details} for r in found.rows],
        "total": found.total, **pages})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/audit", page, name="admin_audit")
    app.router.add_get("/admin/audit.csv", csv_file, name="admin_audit_csv")
    app.router.add_get("/api/audit", api, name="audit")
    add_nav(app, "Revisionslog", "/admin/audit", ["admin"], order=910)


document(
    Operation("get", "/api/audit", "The audit log: who read or changed what, and when, newest "
              "first (from, to: YYYY-MM-DD, local days, both included, default the last 30 "
              f"days, at most {MAX_DAYS}; actor: role:name or a name; case_id; action: a code "
              "such as case.read or its first part such as case). The search is itself "
              "audited (audit.read)", roles=("admin",), responses={200: AuditOut},
              query={"from": ("date", None), "to": ("date", None), "actor": ("string", None),
                     "case_id": ("string", None), "action": ("string", None),
                     "limit": ("integer", None), "offset": ("integer", None)},
              limits={"limit": (1, API_LIMIT), "offset": (0, MAX_OFFSET)},
              patterns={"actor": "^[^\\u0000]{0,200}$", "case_id": "^[^\\u0000]{0,64}$",
                        "action": "^[a-z_]{1,32}([.][a-z_]{1,32})?$"},
              rules={"to": f"not before from, at most {MAX_DAYS} days from it",
                     "actor": "storable text (no half surrogate pair)",
                     "case_id": "storable text (no half surrogate pair)"}),
)
