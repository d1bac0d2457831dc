"""CSV import of cases: read a file, judge every row as the API would, preview, import.

The file: UTF-8 (with or without a byte order mark), `;` or `,` between fields (whichever
the header line uses), one header line naming the columns (`COLUMNS`; the same names as the
new-case form), one case per line. Dates as `YYYY-MM-DD` (or `DD-MM-YYYY`, `DD.MM.YYYY` as
Danish spreadsheets write them); yes/no columns as ja/nej; choices in English (as the API)
or Danish (`beskæftiget`, `ledig`, `selvstændig`; `fysisk`, `psykisk`, ...).

Every row gets its own verdict: imported (a new case), updated, unchanged, or rejected with
the reason in Danish naming the column. A row of a case that exists changes only what the
file's columns say (a blank cell clears that field); a column the file leaves out stays as
stored — a file of a few columns never erases the rest. A bad row never stops the good
ones: rows are validated one by one before anything is stored, and stored in batches of
`BATCH` in one
transaction each (a batch that still fails is stored row by row). The case id is the
idempotency key: the same file again leaves every case unchanged. Planning is asked for once.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from service.intake.case_reads import CaseReads
from service.intake.form import (
    BY_NAME,
    FIELDS,
    REQUIRED,
    changed_in_words,
    columns_patch,
    danish_errors,
    read_fields,
)
from service.intake.schemas import CaseIntake
from service.intake.service import IntakeService
from service.platform.auth import Principal
from service.platform.errors import Conflict, Invalid

log = logging.getLogger("fasthold.intake.csv")

COLUMNS = tuple(f.name for f in FIELDS)
MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024
BATCH = 500

# Danish words a spreadsheet may hold, as the API's values.
ALIASES = {
    "employment": {"beskæftiget": "employed", "i beskæftigelse": "employed",
                   "lønmodtager": "employed", "ansat": "employed", "ledig": "unemployed",
                   "selvstændig": "self_employed"},
    "diagnosis_group": {"fysisk": "physical", "psykisk": "mental",
                        "kræft, hjerte, lunge": "cancer_heart_lung", "kræft": "cancer_heart_lung",
                        "andet": "other"},
}
_DANISH_DATE = re.compile(r"^([0-9]{1,2})[-./]([0-9]{1,2})[-./]([0-9]{4})$")
_DATE_COLUMNS = {f.name for f in FIELDS if f.kind == "date"}


@dataclass
class RowResult:
    """One data line's verdict. `outcome`: new | existing (preview); imported | updated |
    unchanged (after import); rejected."""

    line: int
    case_id: str
    outcome: str
    reasons: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


@dataclass
class ImportCheck:
    """A file read and judged: problems with the file as a whole, notes (e.g. an unknown
    column), each row's verdict, and the valid rows ready to store."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    delimiter: str = ";"
    rows: list[RowResult] = field(default_factory=list)
    valid: list[tuple[RowResult, CaseIntake, date]] = field(default_factory=list)
    # Per valid row's case id: its merge patch for a case that exists already (the file's
    # own columns: what it leaves out stays as stored — `form.columns_patch`).
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


def _column(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lstrip("\ufeff").strip().lower())


def _cell(column: str, value: str) -> str:
    value = value.strip()
    if column in ALIASES:
        value = ALIASES[column].get(value.lower(), value)
    if column in _DATE_COLUMNS:
        match = _DANISH_DATE.match(value)
        if match:
            day, month, year = match.groups()
            value = f"{year}-{int(month):02d}-{int(day):02d}"
    return value


def _reason(column: str, message: str) -> str:
    if column == "(body)":
        return message
    return f"kolonne {column}: {message}"


def read_file(data: bytes, intake: IntakeService) -> ImportCheck:
    """Read and judge a file (no database access)."""
    check = ImportCheck()
    if len(data) > MAX_BYTES:
        check.problems.append(f"Filen er for stor (højst {MAX_BYTES // (1024 * 1024)} MB).")
        return check
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        check.problems.append("Filen er ikke gemt som UTF-8. Gem den som »CSV UTF-8« i "
                              "regnearket, og prøv igen.")
        return check
    lines = text.splitlines()
    header = next((line for line in lines if line.strip()), "")
    if not header:
        check.problems.append("Filen er tom.")
        return check
    check.delimiter = ";" if header.count(";") >= header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=check.delimiter)
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error as exc:
        check.problems.append(f"Filen kan ikke læses som CSV: {exc}.")
        return check
    records = [(line, record) for line, record in records if any(c.strip() for c in record)]
    if not records:
        check.problems.append("Filen er tom.")
        return check
    (_, names), body_records = records[0], records[1:]
    columns = [_column(name) for name in names]
    unknown = [names[i].strip() for i, c in enumerate(columns) if c not in BY_NAME]
    if unknown:
        check.notes.append("Disse kolonner kendes ikke og bliver ikke læst: "
                           + ", ".join(unknown) + ".")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        check.problems.append("Filen mangler kolonnerne " + ", ".join(missing)
                              + ". Første linje skal navngive kolonnerne.")
        return check
    present = frozenset(c for c in columns if c in BY_NAME)
    doubled = sorted({c for c in columns if c in BY_NAME and columns.count(c) > 1})
    if doubled:
        check.problems.append("Kolonnerne står mere end én gang: " + ", ".join(doubled) + ".")
        return check
    if len(body_records) > MAX_ROWS:
        check.problems.append(f"Filen har {len(body_records)} rækker; højst {MAX_ROWS} ad "
                              "gangen. Del filen op.")
        return check
    if not body_records:
        check.problems.append("Filen har ingen sager under overskriften.")
        return check
    first_line: dict[str, int] = {}
    for line, record in body_records:
        values = {c: _cell(c, v) for c, v in zip(columns, record, strict=False)
                  if c in BY_NAME}
        row = RowResult(line=line, case_id=values.get("case_id", ""), outcome="new")
        check.rows.append(row)
        if len(record) > len(columns):
            row.outcome = "rejected"
            row.reasons.append(f"linjen har {len(record)} felter, men overskriften har "
                               f"{len(columns)}.")
            continue
        body, errors = read_fields(values, checkboxes=False)
        validated: tuple[CaseIntake, date] | None = None
        try:
            validated = intake.validate(body)
            intake.decide(*validated)
        except Invalid as exc:
            errors = {**danish_errors(exc.errors), **errors}
        if errors or validated is None:
            row.outcome = "rejected"
            row.reasons = [_reason(c, m) for c, m in errors.items()]
            continue
        if row.case_id in first_line:
            row.outcome = "rejected"
            row.reasons.append(f"kolonne case_id: sagen står også i linje "
                               f"{first_line[row.case_id]}; kun den første bruges.")
            continue
        first_line[row.case_id] = line
        check.valid.append((row, *validated))
        check.patches[row.case_id] = columns_patch(body, present)
    return check


class CsvImport:
    """Preview and import of a CSV file of cases (pages and the benchmark call it)."""

    def __init__(self, intake: IntakeService, reads: CaseReads) -> None:
        # A file of 20,000 rows takes seconds to read and judge: that runs in a worker
        # thread (`read_file` touches no database), so the event loop keeps answering.
        self.intake = intake
        self.reads = reads

    async def preview(self, data: bytes) -> ImportCheck:
        """The file judged, and which valid rows name a case that exists already."""
        check = await asyncio.to_thread(read_file, data, self.intake)
        existing = await self.reads.existing([row.case_id for row, _, _ in check.valid])
        for row, _, _ in check.valid:
            row.outcome = "existing" if row.case_id in existing else "new"
        return check

    async def run(self, data: bytes, principal: Principal) -> ImportCheck:
        """Import every valid row; returns each row's verdict."""
        check = await asyncio.to_thread(read_file, data, self.intake)
        for start in range(0, len(check.valid), BATCH):
            batch = check.valid[start:start + BATCH]
            try:
                results = await self.intake.upsert_many([(i, d) for _, i, d in batch],
                                                        principal, plan=False,
                                                        patches=check.patches)
            except Exception as exc:  # noqa: BLE001 - the batch is stored row by row instead
                log.warning("a CSV import batch failed (%s); storing its rows one by one",
                            type(exc).__name__)
                await self._one_by_one(batch, principal, check.patches)
                continue
            for (row, _, _), (created, changed) in zip(batch, results, strict=True):
                _record(row, created, changed)
        if any(row.outcome in ("imported", "updated") for row in check.rows):
            self.intake.notify_changed()  # one planning request for the whole file
        await self._same_citizen(check)
        return check

    async def _same_citizen(self, check: ImportCheck) -> None:
        """A stored row whose citizen has another open case says so (one sick leave under two
        case numbers would get two consultants and two meetings with one employer)."""
        stored = [row for row in check.rows if row.outcome in ("imported", "updated",
                                                               "unchanged")]
        others = await self.intake.same_citizen_open([row.case_id for row in stored])
        for row in stored:
            if row.case_id in others:
                refs = others[row.case_id]
                row.reasons.append(("borgeren har en anden åben sag: " if len(refs) == 1 else
                                    "borgeren har andre åbne sager: ") + ", ".join(refs))

    async def _one_by_one(self, batch: list[tuple[RowResult, CaseIntake, date]],
                          principal: Principal, patches: dict[str, dict[str, Any]]) -> None:
        for row, intake, as_of in batch:
            try:
                [(created, changed)] = await self.intake.upsert_many(
                    [(intake, as_of)], principal, plan=False, patches=patches)
            except Invalid as exc:
                row.outcome = "rejected"
                row.reasons = [_reason(c, m) for c, m in danish_errors(exc.errors).items()]
                continue
            except (Conflict, SQLAlchemyError) as exc:
                log.warning("a CSV import row could not be stored: %s", type(exc).__name__)
                row.outcome = "rejected"
                row.reasons = ["sagen kunne ikke gemmes lige nu (databasefejl); importér "
                               "filen igen – gemte rækker ændres ikke"]
                continue
            _record(row, created, changed)


def _record(row: RowResult, created: bool, changed: list[str]) -> None:
    row.outcome = "imported" if created else ("updated" if changed else "unchanged")
    row.changed = [] if created else changed_in_words(changed)


def example_file() -> str:
    """A small example file with every column (the page offers it as a download)."""
    header = ";".join(COLUMNS)
    values: dict[str, Any] = {
        "case_id": "2026-0001", "first_absence_day": "2026-11-02", "employment": "employed",
        "visitation_category": "2", "expected_absence_weeks": "10",
        "employer_cvr": "29189919", "employer_name": "Ærø Øko ApS",
        "employer_address": "Åvej 1, 7400 Herning", "employer_contact_name": "Søren Sørensen",
        "employer_contact_email": "soren@aeroe.example", "employer_contact_phone": "12345678",
        "cpr": "", "citizen_name": "", "citizen_email": "", "citizen_phone": "",
        "citizen_address": "",
        "diagnosis_group": "physical", "serious_illness": "nej", "workplace_cause": "nej",
        "dismissed": "nej", "full_recovery_plan_date": "", "fast_track_requested_on": "",
        "employer_declines_workplace_meeting": "nej",
        "citizen_declines_workplace_meeting": "nej", "citizen_wants_private_talk": "nej"}
    return header + "\n" + ";".join(str(values.get(c, "")) for c in COLUMNS) + "\n"
