"""The case as flat fields (the new-case form, the facts form and the CSV import's columns),
turned into the API's intake body, and the API's field errors in Danish per field (by their
codes: `service.text.errors`).

Validation itself is the API's: `IntakeService.validate` (the pydantic models in
`service/intake/schemas.py`); this module only maps names and words, so a page, a CSV row
and a JSON body are judged alike.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from service.intake.schemas import mask_cpr, normalise_cpr
from service.platform.http import text_problem
from service.text.errors import danish_error


@dataclass(frozen=True)
class Field:
    name: str  # the form field and CSV column
    label: str  # Danish
    kind: str  # text | date | choice | bool | number | category
    path: tuple[str, ...]  # where it goes in the intake body
    max_length: int = 200
    help: str = ""


EMPLOYMENT = [("employed", "I beskæftigelse (lønmodtager)"), ("unemployed", "Ledig"),
              ("self_employed", "Selvstændig")]
CATEGORIES = [("", "Ikke oplyst"), ("1", "1 – forventes raskmeldt inden for 8 uger"),
              ("2", "2 – risiko for langvarigt forløb"), ("3", "3 – komplekst forløb")]
DIAGNOSIS = [("other", "Andet / ikke oplyst"), ("physical", "Fysisk"), ("mental", "Psykisk"),
             ("cancer_heart_lung", "Kræft, hjerte, lunge")]
CHOICES = {"employment": EMPLOYMENT, "visitation_category": CATEGORIES,
           "diagnosis_group": DIAGNOSIS}

FIELDS: tuple[Field, ...] = (
    Field("case_id", "Sagsnummer", "text", ("case_id",), 64,
          "Sagens nummer i sagssystemet: bogstaver a-z, tal, - og _."),
    Field("first_absence_day", "Første fraværsdag", "date", ("first_absence_day",)),
    Field("handed_over_on", "Overdraget fra ydelseskontoret", "date", ("handed_over_on",),
          help="Dagen ydelseskontoret gav sagen videre (senest i fraværsuge 7). ÅÅÅÅ-MM-DD."),
    Field("employment", "Beskæftigelse", "choice", ("employment",)),
    Field("visitation_category", "Visitationskategori", "category", ("visitation_category",)),
    Field("expected_absence_weeks", "Forventet fravær (uger)", "number",
          ("expected_absence_weeks",)),
    Field("employer_cvr", "CVR-nummer", "text", ("employer", "cvr"), 8, "8 cifre."),
    Field("employer_name", "Virksomhedens navn", "text", ("employer", "name")),
    Field("employer_address", "Arbejdspladsens adresse", "text", ("employer", "address"), 300,
          "Hvor medarbejderen arbejder, fx »Østergade 5, 7430 Ikast« – postnummer og by "
          "placerer mødet på kortet."),
    Field("employer_contact_name", "Kontaktperson hos arbejdsgiveren", "text",
          ("employer", "contact_name"), 200,
          "Den sygemeldtes nærmeste leder: invitationer og påmindelser går hertil."),
    Field("employer_contact_email", "Kontaktpersonens e-mail", "text",
          ("employer", "contact_email"), 320),
    Field("employer_contact_phone", "Kontaktpersonens telefon", "text",
          ("employer", "contact_phone"), 40),
    Field("cpr", "CPR-nummer", "text", ("cpr",), 11, "DDMMÅÅ-XXXX. Vises kun maskeret."),
    Field("citizen_name", "Borgerens navn", "text", ("citizen", "name")),
    Field("citizen_email", "Borgerens e-mail", "text", ("citizen", "email"), 320),
    Field("citizen_phone", "Borgerens telefon", "text", ("citizen", "phone"), 40),
    Field("citizen_address", "Borgerens postadresse", "text", ("citizen", "address"), 300,
          "Hvor breve sendes hen, hvis borgeren ikke har e-mail, fx »Søvej 2, 7400 Herning«."),
    Field("diagnosis_group", "Diagnosegruppe", "choice", ("diagnosis_group",)),
    Field("serious_illness", "Alvorligt syg", "bool", ("serious_illness",)),
    Field("workplace_cause", "Arbejdspladsen vurderes at være årsag", "bool",
          ("workplace_cause",)),
    Field("dismissed", "Opsagt", "bool", ("dismissed",)),
    Field("full_recovery_plan_date", "Fast plan for fuld raskmelding (dato)", "date",
          ("full_recovery_plan_date",)),
    Field("fast_track_requested_on", "Fast track anmodet (dato)", "date",
          ("fast_track_requested_on",)),
    Field("employer_declines_workplace_meeting", "Arbejdsgiveren ønsker ikke mødet på "
          "arbejdspladsen", "bool", ("employer_declines_workplace_meeting",)),
    Field("citizen_declines_workplace_meeting", "Borgeren ønsker ikke mødet på "
          "arbejdspladsen", "bool", ("citizen_declines_workplace_meeting",)),
    Field("citizen_wants_private_talk", "Borgeren ønsker en fortrolig samtale først", "bool",
          ("citizen_wants_private_talk",)),
)
BY_NAME = {f.name: f for f in FIELDS}
BY_PATH = {".".join(f.path): f for f in FIELDS}
REQUIRED = ("case_id", "first_absence_day", "employment")

TRUE_WORDS = {"ja", "j", "true", "1", "x", "yes", "on"}
FALSE_WORDS = {"nej", "n", "false", "0", "no", "off", ""}
_NUMBER = re.compile(r"^[0-9]{1,4}([.,][0-9]{1,2})?$")


def read_fields(values: Mapping[str, str], *, checkboxes: bool) -> tuple[dict[str, Any],
                                                                        dict[str, str]]:
    """Flat fields to an intake body: blank means "not given". `checkboxes`: a form's
    unchecked box is absent (False); in a CSV cell the words ja/nej (true/false, 1/0, x)
    count. Returns (body, Danish errors by field) for what cannot even be read."""
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        raw = values.get(field.name)
        text = raw.strip() if isinstance(raw, str) else ""
        problem = text_problem(text)
        if problem:
            errors[field.name] = "Feltet indeholder tegn, der ikke kan gemmes."
            continue
        if field.kind == "bool":
            word = text.lower()
            if checkboxes:
                value: Any = bool(text)
            elif word in TRUE_WORDS:
                value = True
            elif word in FALSE_WORDS:
                value = False
            else:
                errors[field.name] = "Skriv ja eller nej."
                continue
            if value:
                _put(body, field.path, True)
            continue
        if not text:
            continue
        if len(text) > field.max_length:
            errors[field.name] = f"Højst {field.max_length} tegn."
            continue
        if field.kind == "number":
            if not _NUMBER.match(text):
                errors[field.name] = "Skriv antal uger som et tal, fx 10 eller 12,5."
                continue
            _put(body, field.path, float(text.replace(",", ".")))
        elif field.kind == "category":
            if text not in ("1", "2", "3"):
                errors[field.name] = "Vælg visitationskategori 1, 2 eller 3."
                continue
            _put(body, field.path, int(text))
        else:
            _put(body, field.path, text)
    return body, errors


def _put(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = body
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _field_of(api_field: str) -> Field | None:
    if api_field in BY_PATH:
        return BY_PATH[api_field]
    if api_field == "employer":
        return BY_NAME["employer_cvr"]
    head = api_field.split("[", 1)[0]
    return BY_PATH.get(head)


def danish_errors(api_errors: list[dict[str, Any]]) -> dict[str, str]:
    """The API's field errors (by body path) as Danish messages by form field: the words of
    each error's code (`service.text.errors`) with the form's label."""
    out: dict[str, str] = {}
    for error in api_errors:
        api_field = error.get("field", "")
        field = _field_of(api_field)
        name = field.name if field else "(body)"
        if name not in out:
            out[name] = danish_error(api_field, error.get("code", "invalid"),
                                     error.get("params"), label=field.label) if field \
                else "Sagen kunne ikke læses. Kontrollér felterne."
    return out


def case_to_fields(case: Mapping[str, Any]) -> dict[str, str]:
    """A case as the API shows it, as the form's fields (CPR is never filled in: it is only
    shown masked, and left blank it stays as it is)."""
    facts = dict(case.get("facts") or {})
    facts["employer"] = case.get("employer") or facts.get("employer") or {}
    facts["citizen"] = case.get("citizen") or {}
    values: dict[str, str] = {}
    for field in FIELDS:
        if field.name == "cpr":
            continue
        value: Any = facts
        for key in field.path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None or value is False:
            values[field.name] = ""
        elif value is True:
            values[field.name] = "ja"
        elif isinstance(value, float):
            values[field.name] = (str(int(value)) if value.is_integer()
                                  else str(value).replace(".", ","))
        else:
            values[field.name] = str(value)
    return values


def same_case(values: Mapping[str, str], case: Mapping[str, Any]) -> bool:
    """Whether a new-case form says exactly what the stored case (as the API shows it) says:
    the same form sent twice. The CPR number is compared as far as the case shows it."""
    typed, errors = read_fields(values, checkboxes=True)
    stored, _ = read_fields({**case_to_fields(case), "case_id": str(case.get("case_id"))},
                            checkboxes=True)
    if errors:
        return False
    cpr = typed.pop("cpr", None)
    try:
        shown = mask_cpr(normalise_cpr(cpr)) if cpr else None
    except ValueError:
        return False
    return shown == case.get("cpr") and typed == stored


def columns_patch(body: dict[str, Any], columns: Collection[str]) -> dict[str, Any]:
    """A merge patch that makes a stored case say what a CSV row says in the file's
    `columns` and leaves every other field as it is: a blank cell removes the field (null),
    a column the file leaves out is not in the patch; CPR only when a number is given."""
    # ("nej" is not given, as `read_fields` reads it: removed, not stored as false)
    return _fields_patch(body, columns, unchecked=None)


def _fields_patch(body: dict[str, Any], names: Collection[str], *, unchecked: bool | None
                  ) -> dict[str, Any]:
    """The merge patch of `body`'s fields named in `names` (never the case id; CPR only when
    given): a blank field removed (null), an unchecked yes/no field `unchecked`, no CVR no
    employer."""
    patch: dict[str, Any] = {}
    for field in FIELDS:
        if field.name in ("case_id", "cpr") or field.name not in names:
            continue
        value: Any = body
        for key in field.path:
            value = value.get(key) if isinstance(value, dict) else None
        if field.kind == "bool":
            value = True if value else unchecked
        _put(patch, field.path, value)
    if body.get("cpr"):
        patch["cpr"] = body["cpr"]
    if "employer_cvr" in names and patch.get("employer", {}).get("cvr") is None:
        patch["employer"] = None  # no CVR: no employer (as a new case's row says it)
    return patch


# What a changed field of a case (`IntakeService` names them by the intake body's top-level
# keys) is called on the pages.
CHANGED_WORDS = {"citizen": "borgerens oplysninger", "employer": "arbejdsgiveren",
                 "cpr": "CPR-nummer"}


def changed_in_words(changed: list[str]) -> list[str]:
    """`changed` field names as the import's report and the pages say them."""
    return [CHANGED_WORDS.get(name) or (BY_PATH[name].label.lower() if name in BY_PATH
                                        else name) for name in changed]


def facts_patch(body: dict[str, Any]) -> dict[str, Any]:
    """A merge patch that makes the case's facts what the form says: every fact field is
    set, a blank one removed (null); CPR only when typed."""
    return _fields_patch(body, BY_NAME, unchecked=False)
