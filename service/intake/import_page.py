"""`/import`: upload a CSV file of cases, see a preview (each row's verdict), import, and get
a report per row. Intake staff (and admins) only.

The file travels with the preview's form (base64 in a hidden field), so the import needs no
state on the server and imports exactly the file that was previewed (its SHA-256 is shown
and checked). Both forms are posted as multipart and read as a stream with our own limit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from aiohttp import BodyPartReader, web

from service.intake.csv_import import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    ImportCheck,
    example_file,
)
from service.intake.form import BY_NAME, CHOICES
from service.keys import CSV_IMPORT
from service.platform.http import UnreadableForm, read_posted_form
from service.platform.pages import (
    add_nav,
    check_csrf,
    form_unreadable,
    page_principal,
    render,
    render_off_loop,
)
from service.text.case_words import WORDS, word

# A form field other than the file is small; the file at most MAX_BYTES (base64: 4/3).
_FIELD_LIMIT = MAX_BYTES * 4 // 3 + 4096


class _TooLarge(Exception):
    pass


async def _read_multipart(request: web.Request) -> dict[str, bytes]:
    """The form's fields; UnreadableForm for a body that is no form (broken multipart)."""
    if request.content_type == "application/x-www-form-urlencoded":
        # A small form without the file (bounded by the app's body limit).
        return {k: v.encode("utf-8") for k, v in (await read_posted_form(request)).items()
                if isinstance(v, str)}
    if request.content_type != "multipart/form-data":
        return {}
    try:
        return await _read_parts(request)
    except (_TooLarge, web.HTTPException):
        raise
    except Exception:  # aiohttp's multipart reader raises many kinds on a broken body
        raise UnreadableForm() from None


async def _read_parts(request: web.Request) -> dict[str, bytes]:
    fields: dict[str, bytes] = {}
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = bytearray()
        while True:
            chunk = await part.read_chunk(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > _FIELD_LIMIT:
                raise _TooLarge
        fields[part.name] = bytes(data)
    return fields


def _columns() -> list[dict[str, str]]:
    out = []
    for name in COLUMNS:
        field = BY_NAME[name]
        if field.kind == "bool":
            form = "ja / nej (tom = nej)"
        elif field.kind == "date":
            form = "dato ÅÅÅÅ-MM-DD (eller DD-MM-ÅÅÅÅ)"
        elif field.kind == "category":
            form = "1, 2 eller 3"
        elif field.kind == "number":
            form = "tal, fx 10 eller 12,5"
        elif name in CHOICES:
            form = ", ".join(key for key, _ in CHOICES[name])
        else:
            form = field.help or f"tekst, højst {field.max_length} tegn"
        out.append({"name": name, "label": field.label, "form": form,
                    "required": "ja" if name in ("case_id", "first_absence_day", "employment")
                    else ("ja, ved beskæftigelse" if name == "employer_cvr" else "")})
    return out


def _values(context: dict[str, object]) -> dict[str, object]:
    values = {"check": None, "report": None, "problem": "", "data": "", "digest": "",
              "filename": "", "columns": _columns(), "max_rows": MAX_ROWS, "words": WORDS,
              "word": word}
    values.update(context)
    return values


def _page(request: web.Request, status: int = 200, **context: object) -> web.Response:
    return render(request, "intake/import.html", status=status, **_values(context))


async def _large_page(request: web.Request, status: int, **context: object) -> web.Response:
    """A preview or report (up to 20,000 rows), rendered off the event loop."""
    return await render_off_loop(request, "intake/import.html", status=status,
                                 **_values(context))


async def show(request: web.Request) -> web.Response:
    await page_principal(request, "intake")
    return _page(request)


async def example(request: web.Request) -> web.Response:
    await page_principal(request, "intake")
    return web.Response(body=("\ufeff" + example_file()).encode("utf-8"),
                        content_type="text/csv", charset="utf-8", headers={
                            "Content-Disposition": 'attachment; filename="sager-eksempel.csv"'})


async def _upload(request: web.Request) -> dict[str, bytes] | web.Response:
    try:
        fields = await _read_multipart(request)
    except _TooLarge:
        return _page(request, 413, problem=f"Filen er for stor (højst "
                     f"{MAX_BYTES // (1024 * 1024)} MB).")
    except UnreadableForm as exc:
        raise form_unreadable(request, exc) from None
    token = fields.get("csrf_token", b"").decode("utf-8", "replace")
    await check_csrf(request, token)
    return fields


async def preview(request: web.Request) -> web.Response:
    await page_principal(request, "intake")
    fields = await _upload(request)
    if isinstance(fields, web.Response):
        return fields
    data = fields.get("file", b"")
    if not data:
        return _page(request, 422, problem="Vælg en CSV-fil at importere.")
    check: ImportCheck = await request.app[CSV_IMPORT].preview(data)
    return await _large_page(request, 422 if check.problems else 200, check=check,
                             data=base64.b64encode(data).decode("ascii"),
                             digest=hashlib.sha256(data).hexdigest())


async def run(request: web.Request) -> web.Response:
    principal = await page_principal(request, "intake")
    fields = await _upload(request)
    if isinstance(fields, web.Response):
        return fields
    try:
        data = base64.b64decode(fields.get("data", b""), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    digest = fields.get("digest", b"").decode("ascii", "replace")
    if not data or hashlib.sha256(data).hexdigest() != digest:
        return _page(request, 422, problem="Importen kunne ikke læse den viste fil. Vælg "
                     "filen igen.")
    report = await request.app[CSV_IMPORT].run(data, principal)
    return await _large_page(request, 422 if report.problems else 200, report=report)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/import", show, name="import_page")
    app.router.add_get("/import/eksempel.csv", example, name="import_example")
    app.router.add_post("/import/preview", preview)
    app.router.add_post("/import", run)
    add_nav(app, "Import", "/import", ["intake"], order=30)
