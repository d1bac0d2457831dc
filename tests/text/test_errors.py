"""Domain errors in Danish (service/text/errors.py): every code the code base raises has Danish
words, the words come from the code and never from the English message, and an unknown code
is still Danish."""

from __future__ import annotations

import ast
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from rules.facts import validation_errors
from service.followup.cases_api import CaseClose
from service.followup.outcomes import MeetingOutcomeIn
from service.intake.form import danish_errors
from service.intake.schemas import CaseIntake, OwnerOverride
from service.platform import errors as domain
from service.platform.errors import Conflict, DomainError, Invalid, NotFound
from service.platform.slack_replies import in_danish
from service.staff.passwords import password_check
from service.text.errors import (
    FIELD_TEXTS,
    GENERIC,
    TEXTS,
    danish_error,
    danish_field_errors,
    danish_problem,
)
from tests.intake.test_pages import _form, _text
from tests.support import Staff, today_local

ROOT = Path(__file__).resolve().parents[2]
# The calls that raise (or build) a coded error, and where their code is: (position, keyword).
_CODE_ARG = {"field": (2, "code"), "field_error": (2, "code"), "NotFound": (1, "code"),
             "Conflict": (1, "code"), "Forbidden": (1, "code"), "DomainError": (1, "code"),
             "FactsError": (2, "code"), "PydanticCustomError": (0, "error_type")}


def _field_of(call: ast.Call, name: str) -> str | None:
    """The field a coded call names, when it is written as a literal."""
    if name in ("field", "field_error", "FactsError") and call.args and \
            isinstance(call.args[0], ast.Constant):
        return str(call.args[0].value)
    return None


def raised_codes() -> tuple[set[tuple[str | None, str]], list[str]]:
    """Every (field, code) written at a raise site in service/ and rules/, and the raise
    sites that give no code (where: file:line)."""
    found: set[tuple[str | None, str]] = set()
    uncoded: list[str] = []
    for path in sorted([*ROOT.glob("service/**/*.py"), *ROOT.glob("rules/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "field" and not (isinstance(func, ast.Attribute) and
                                        getattr(func.value, "id", "") == "Invalid"):
                continue
            if name not in _CODE_ARG or path.name == "errors.py" and "platform" in path.parts:
                continue
            position, keyword = _CODE_ARG[name]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if any(isinstance(a, ast.Starred) for a in node.args):
                continue  # the code travels in a tuple (password_check: pinned below)
            code: ast.expr | None = next((k.value for k in node.keywords if k.arg == keyword),
                                         None)
            if code is None and len(node.args) > position:
                code = node.args[position]
            if code is None:
                uncoded.append(where)
            elif isinstance(code, ast.Constant) and isinstance(code.value, str):
                found.add((_field_of(node, name), code.value))
    return found, uncoded


def _has_words(field: str | None, code: str) -> bool:
    name = (field or "").rsplit(".", 1)[-1]
    return (name, code) in FIELD_TEXTS or code in TEXTS


def test_every_raise_site_gives_a_code_and_every_code_has_danish_words() -> None:
    found, uncoded = raised_codes()
    assert not uncoded, f"raise sites without a code (add one and its Danish words): {uncoded}"
    assert len(found) > 40  # the scan sees the raise sites (not an empty walk)
    missing = sorted(f"{field}:{code}" for field, code in found if not _has_words(field, code))
    assert not missing, f"codes without Danish words in service/text/errors.py: {missing}"
    codes = {code for _, code in found}
    assert {"date_in_future", "before_first_absence_day", "case_closed", "not_one_of",
            "meeting_already_confirmed", "case_not_found", "string_too_long"} <= codes


def _pydantic_codes(model: Any, body: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps(body))
    return {e["code"] for e in validation_errors(caught.value)}


def test_the_api_models_codes_for_bad_input_have_danish_words() -> None:
    bad_case = {"case_id": "k 1", "first_absence_day": "2026-02-30", "employment": "boss",
                "visitation_category": 4, "expected_absence_weeks": -1,
                "full_recovery_plan_date": "02-03-2026", "fast_track_requested_on": 7,
                "employer": {"cvr": "12", "name": "x" * 201, "contact_email": "nope",
                             "contact_name": "a\nb"},
                "cpr": "123", "citizen": {"name": 5, "shoe": 44}, "serious_illness": "yes"}
    codes = _pydantic_codes(CaseIntake, bad_case)
    codes |= _pydantic_codes(CaseIntake, {"case_id": "k1", "first_absence_day": "2026-02-02",
                                          "employment": "employed"})
    codes |= _pydantic_codes(CaseClose, {"on": "2026-02-02T10:00", "note": "x" * 5000})
    codes |= _pydantic_codes(OwnerOverride, {"consultant_id": "a b", "category": "mood",
                                             "reason": "x" * 600})
    assert {"missing", "string_too_long", "string_pattern_mismatch", "literal_error",
            "date_not_real", "date_format", "cpr_format", "not_one_line",
            "required_when_employed", "greater_than_equal", "extra_forbidden"} <= codes, codes
    assert all(code in TEXTS for code in codes), sorted(codes - set(TEXTS))


@pytest.mark.parametrize(("field", "code", "params", "danish"), [
    ("on", "date_in_future", {}, "Datoen må ikke ligge i fremtiden."),
    ("started_on", "before_first_absence_day", {"first_absence_day": "2026-11-21"},
     "Datoen må ikke ligge før første fraværsdag (21.11.2026)."),
    ("employer_took_part", "required_when_held", {}, "Svar, om arbejdsgiveren deltog."),
    ("outcome", "not_one_of", {"allowed": "recovered, other"}, "Vælg, hvordan sagen sluttede."),
    ("place", "not_one_of", {"allowed": "phone"},
     "Vælg, hvor samtalen blev holdt – eller at den ikke blev holdt."),
    ("note", "string_too_long", {"max_length": 1000}, "Noten må højst være 1000 tegn."),
    ("reason", "string_too_long", {"max_length": 500}, "Noten må højst være 500 tegn."),
    ("employer.contact_phone", "string_too_long", {"max_length": 40}, "Højst 40 tegn."),
    ("employer.cvr", "string_pattern_mismatch", {"pattern": "^[0-9]{8}$"},
     "CVR-nummeret skal være 8 cifre."),
    ("employer.cvr", "required_when_employed", {},
     "CVR-nummer skal udfyldes (8 cifre), når borgeren er sygemeldt fra beskæftigelse."),
    ("citizen.email", "string_pattern_mismatch", {},
     "Skriv en gyldig e-mailadresse, fx navn@firma.dk."),
    ("case_id", "missing", {}, "Sagsnummer skal udfyldes."),
    ("first_absence_day", "date_from_datetime_parsing", {"error": "input is too short"},
     "Skriv en gyldig dato som ÅÅÅÅ-MM-DD, fx 2026-11-02."),
    ("first_absence_day", "after_as_of", {"as_of": "2026-03-02"},
     "Første fraværsdag kan ikke ligge efter i dag."),
    ("as_of", "after_as_of", {"as_of": "2026-03-02"}, "Datoen må ikke ligge efter 02.03.2026."),
    ("citizen.name", "not_one_line", {},
     "Navnet skal stå på én linje uden linjeskift eller styretegn."),
    ("employer.name", "shared_employer", {}, "Arbejdsgiverens oplysninger gælder alle sager "
     "med dette CVR-nummer og kan kun ændres af visitationen."),
    ("employment", "literal_error", {"expected": "'employed'"},
     "Vælg en af mulighederne for beskæftigelse."),
    ("to", "too_many_months", {"max": 24}, "Til måned: højst 24 måneder ad gangen."),
    ("to", "before_from", {}, "Til måned: må ikke ligge før fra-måneden."),
    ("password", "string_too_short", {"min_length": 10},
     "Adgangskoden skal være mindst 10 tegn."),
    ("consultant_id", "unknown_consultant", {"consultant_id": "zed"}, "Ukendt konsulent: zed."),
    ("consultant_id", "unknown_consultant", {}, "Ukendt konsulent. Vælg en aktiv konsulent."),
    ("limit", "not_in_range", {"min": 1, "max": 500}, "Skriv et helt tal fra 1 til 500."),
    (None, "case_closed", {"closed_on": "2026-03-01"},
     "Sagen er afsluttet; der kan ikke registreres mere på den."),
    (None, "meeting_not_begun", {"start": "2026-03-10T09:00"},
     "Samtalen er ikke begyndt endnu; registrér udfaldet, når den er holdt."),
    (None, "meeting_already_confirmed", {"start": "2026-03-10T09:00"},
     "Mødet er allerede bekræftet til 10.03.2026 kl. 09.00; arbejdsgiveren ændrer det via "
     "linket i invitationen."),
    (None, "case_has_no_owner", {}, "Sagen har ingen konsulent endnu."),
    (None, "case_not_found", {}, "Sagen findes ikke."),
    (None, "username_taken", {"username": "lone"}, "Brugernavnet lone findes allerede."),
])
def test_code_to_danish(field: str | None, code: str, params: dict[str, Any],
                        danish: str) -> None:
    assert danish_error(field, code, params) == danish


def test_a_channel_names_the_field_in_its_own_words() -> None:
    assert danish_error("citizen.name", "not_one_line", label="Borgerens navn") == \
        "Borgerens navn skal stå på én linje uden linjeskift eller styretegn."
    assert danish_error("employment", "literal_error", label="Beskæftigelse") == \
        "Vælg en af mulighederne for beskæftigelse."
    assert danish_field_errors([{"field": "from", "code": "month_format"}],
                               {"from": "Fra måned"}) == {
        "from": "Fra måned: skriv en måned som ÅÅÅÅ-MM, fx 2026-11."}


def test_an_unknown_code_or_a_missing_param_is_still_danish() -> None:
    # Said without an adjective that would have to agree with the field's name.
    assert danish_error("on", "a_code_nobody_wrote_words_for") == "Datoen: ugyldig værdi."
    assert danish_error("hours_per_week", "a_code_nobody_wrote_words_for") == \
        "Timer om ugen: ugyldig værdi."
    assert danish_error("shoe_size", "a_code_nobody_wrote_words_for") == \
        "Feltet har en ugyldig værdi."
    assert danish_error("shoe_size", "literal_error") == "Vælg en af mulighederne."
    assert danish_error(None, "a_code_nobody_wrote_words_for") == GENERIC
    # Words that need a param the raise site did not give fall back, never show "{max}".
    assert danish_error("to", "too_many_months") == "Til måned: ugyldig værdi."
    assert danish_error(None, "meeting_already_confirmed") == GENERIC
    assert danish_problem(Conflict("the world ended", "world_ended")) == GENERIC


def test_every_template_is_complete_danish() -> None:
    english = ("must", "the ", "is ", "not ", "required", "invalid")
    for template in [*TEXTS.values(), *FIELD_TEXTS.values()]:
        assert template.endswith((".", ")")), template
        assert not any(template.startswith(w) or f" {w}" in template for w in english), \
            template


def test_passwords_are_refused_with_codes() -> None:
    assert password_check("kort", "lone") == ("must be at least 10 characters",
                                              "string_too_short", {"min_length": 10})
    assert password_check("x" * 201)[1:] == ("string_too_long", {"max_length": 200})
    assert password_check("lone.berg!", "Lone.Berg!")[1] == "password_is_username"
    assert password_check("a\x00" * 6)[1] == "not_storable"
    for _, code, params in filter(None, [password_check("kort"), password_check("x" * 201),
                                         password_check("lone.berg!", "lone.berg!"),
                                         password_check("a\x00" * 6)]):
        assert danish_error("password", code, params).startswith("Adgangskoden")


# -- rewording an English message cannot change the Danish -------------------------------

@pytest.fixture
def reworded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every domain error's English, and every field error's, says something else."""
    field_error, init = domain.field_error, DomainError.__init__

    def other_field_error(field: str, message: str, code: str = "invalid",
                          params: Any = None) -> dict[str, Any]:
        return field_error(field, f"reworded {message[::-1]}", code, params)

    def other_init(self: DomainError, message: str, code: str | None = None,
                   params: Any = None) -> None:
        init(self, f"reworded {message[::-1]}", code, params)

    monkeypatch.setattr(domain, "field_error", other_field_error)
    monkeypatch.setattr(DomainError, "__init__", other_init)


@pytest.mark.usefixtures("reworded")
def test_the_danish_comes_from_the_code_not_the_english() -> None:
    future = Invalid.field("on", "must not be in the future", "date_in_future")
    assert future.errors[0]["message"].startswith("reworded")
    assert in_danish(future).text == "Datoen må ikke ligge i fremtiden."  # Slack
    assert danish_field_errors(future.errors) == {"on": "Datoen må ikke ligge i fremtiden."}
    closed = Conflict("the case was closed on 2026-03-01", "case_closed",
                      {"closed_on": "2026-03-01"})
    assert in_danish(closed).text == \
        "Sagen er afsluttet; der kan ikke registreres mere på den."
    assert in_danish(NotFound("no case", "case_not_found")).text == "Det er ikke din sag."
    shared = Invalid.field("employer.name", "may not be changed by a consultant",
                           "shared_employer")
    assert danish_errors(shared.errors)["employer_name"].startswith(
        "Arbejdsgiverens oplysninger gælder alle sager")  # the new-case form, the CSV import


@pytest.mark.usefixtures("reworded")
async def test_the_case_page_says_a_future_close_date_in_danish(staff: Staff) -> None:
    browser = await staff.login("intake")
    response, _ = await browser.post("/new-case", _form())
    assert response.status == 200
    tomorrow = (today_local() + timedelta(days=1)).isoformat()
    response, page = await browser.post("/cases/k-100/close", {"outcome": "recovered",
                                                               "on": tomorrow})
    assert response.status == 422
    assert "Datoen må ikke ligge i fremtiden." in _text(page)
    too_early = (today_local() - timedelta(days=30)).isoformat()
    first = (today_local() - timedelta(days=12)).strftime("%d.%m.%Y")
    response, page = await browser.post("/cases/k-100/close", {"outcome": "recovered",
                                                               "on": too_early})
    assert response.status == 422
    assert f"Datoen må ikke ligge før første fraværsdag ({first})." in _text(page)
    assert "reworded" not in page


def test_a_long_text_of_a_constrained_text_type_is_counted_in_characters() -> None:
    """A 301-character agreement (a text type with its own constraints, which pydantic
    reports as a list's "too_long") is said as any text's limit, not "Højst 300 på
    listen"."""
    body = ('{"place": "workplace", "employer_took_part": true, "agreements": '
            '[{"what": "%s", "who": "citizen", "due": "2026-12-20"}]}' % ("x" * 301))
    try:
        MeetingOutcomeIn.model_validate_json(body)
    except ValidationError as exc:
        (first, *_) = validation_errors(exc)
    assert (first["field"], first["code"]) == ("agreements[0].what", "string_too_long")
    assert danish_error(first["field"], first["code"], first["params"]) == "Højst 300 tegn."
