"""Domain errors in Danish: the one place that turns an error's stable code (and its params)
into the sentence a page, the CSV import, a Slack modal or the staff CLI shows.

Use cases raise errors with a `code` and `params` beside an English message for the API
(`service.platform.errors`); validation errors get pydantic's error type as code and its
context as params (`rules.facts.validation_errors`). Nothing here looks at the English
message: rewording it cannot change a Danish screen. A code this table does not know gets a
generic Danish sentence — never English on a Danish page.

`danish_error(field, code, params, label=...)`: the field's own words for the code if it has
any (`("cvr", "string_pattern_mismatch")`: the field's last name, so `employer.cvr` and `cvr`
alike), else the code's words. `label` is the channel's Danish name of the field (a form's
label, a CSV column's); without it the field's usual Danish name (`FIELD_LABELS`) or "Feltet".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from string import Formatter
from typing import Any, Protocol

# When a code is unknown (a new one nobody has put into words yet): said without an
# adjective that would have to agree with the field's name ("Datoen", "Navnet", "Timer").
GENERIC_FIELD = "{label}: ugyldig værdi."
GENERIC_UNNAMED_FIELD = "Feltet har en ugyldig værdi."
GENERIC = "Det kunne ikke gennemføres. Prøv igen, eller kontakt en administrator."

_DATE = "Skriv en gyldig dato som ÅÅÅÅ-MM-DD, fx 2026-11-02."
_TIME = "Skriv dato og klokkeslæt som ÅÅÅÅ-MM-DD TT:MM, fx 2026-11-02 09:00."
_BODY = "Indholdet kunne ikke læses."
_NOT_ONE_OF = "Vælg en af mulighederne for {label_lower}."
_TYPE = "{label} har en forkert type."

# What each code says, whatever the field ({label} is the field's Danish name; the other
# placeholders are the error's params).
TEXTS: dict[str, str] = {
    # -- not found, not allowed --------------------------------------------------------
    "not_found": "Det findes ikke (længere).",
    "case_not_found": "Sagen findes ikke.",
    "case_erased": "Sagen er afsluttet, og dens personoplysninger er slettet; den kan ikke "
                   "ændres. Registrér en ny sygemelding som en ny sag.",
    "meeting_not_found": "Sagen har intet foreslået møde.",
    "consultant_not_found": "Konsulenten findes ikke.",
    "task_not_found": "Opgaven findes ikke.",
    "message_not_found": "Beskeden findes ikke.",
    "calendar_feed_not_found": "Kalenderabonnementet findes ikke eller er tilbagekaldt.",
    "url_host": "Adressen mangler et værtsnavn (https://server/…).",
    "url_scheme": "En CalDAV-kalenders adresse skal begynde med https://.",
    "caldav_only": "Brugernavn og adgangskode bruges kun til en CalDAV-kalender.",
    "user_not_found": "Brugeren findes ikke.",
    "forbidden": "Det har du ikke adgang til.",
    "role_not_allowed": "Din rolle giver ikke adgang til dette.",
    "not_a_consultant": "Kun en konsulent har et kalenderabonnement.",
    "task_of_another": "Opgaven hører til en anden konsulent.",
    # -- the state does not allow it -----------------------------------------------------
    "conflict": "Handlingen kunne ikke gennemføres i sagens nuværende tilstand.",
    "case_closed": "Sagen er afsluttet; der kan ikke registreres mere på den.",
    "case_has_no_owner": "Sagen har ingen konsulent endnu.",
    "no_pending_decline": "Arbejdsgiverens afslag kan ikke genoprettes: der er intet afslag, "
                          "der venter, eller mødet er allerede flyttet til jobcentret.",
    "no_workplace_meeting": "Sagen har intet møde på arbejdspladsen, der kan takkes nej til.",
    "no_private_talk": "Sagen har ingen planlagt samtale uden arbejdsgiver at registrere.",
    "meeting_not_begun": "Samtalen er ikke begyndt endnu; registrér udfaldet, når den er "
                         "holdt.",
    "no_meeting_to_mark_not_held": "Sagen har ingen planlagt samtale, der kan registreres "
                                   "som ikke holdt.",
    "meeting_already_confirmed": "Mødet er allerede bekræftet til {start}; arbejdsgiveren "
                                 "ændrer det via linket i invitationen.",
    "jobcentre_meeting_set": "Mødet i jobcentret er allerede fastlagt til {start}, og borgeren "
                             "har fået besked; flyt det under »Flyt eller aflys mødet«.",
    "slot_taken": "Konsulenten er blevet optaget på det tidspunkt imens. Vælg et andet.",
    "substitute_not_free": "Ingen kollega er ledig på mødets tidspunkt længere. Listen viser, "
                           "hvem der er ledig nu – eller bed arbejdsgiveren om nye tider.",
    "consultant_not_free": "Konsulenten er ikke ledig på det tidspunkt. Vælg en af de ledige "
                           "tider.",
    "off_grid": "Vælg et tidspunkt på kvarteret (fx 09:00, 09:15).",
    "one_of_start_or_new_proposals": "Vælg enten et nyt tidspunkt eller nye forslag til "
                                     "arbejdsgiveren – ikke begge.",
    "meeting_changed": "Mødet er blevet ændret imens. Genindlæs sagen.",
    "message_status": "Beskeden kan ikke ændres sådan i sin nuværende tilstand.",
    "username_taken": "Brugernavnet {username} findes allerede.",
    "cannot_disable_self": "Du kan ikke deaktivere dig selv.",
    # -- consultants and their absences (service.consultants) --------------------------
    "consultant_exists": "Der findes allerede en konsulent med id'et {consultant_id}.",
    "consultant_has_open_cases": "Konsulenten har {count} åbne sager. Vælg, hvad der skal "
                                 "ske med dem, før konsulenten gøres inaktiv.",
    "fixed_elsewhere": "CVR-nummeret {cvr} er allerede fast tilknyttet konsulenten "
                       "{consultant_id}.",
    "slack_user_taken": "Slack-brugeren er allerede knyttet til en anden.",
    "absence_not_found": "Fraværet findes ikke (længere).",
    "not_a_number": "Skriv {label_lower} som et tal.",
    "before_first_day": "Til-datoen må ikke ligge før fra-datoen.",
    "absence_too_long": "Et fravær kan højst vare {max_days} dage. Del det op i flere.",
    # -- a field's value ------------------------------------------------------------------
    "invalid": GENERIC_FIELD,
    "missing": "{label} skal udfyldes.",
    "required_when_employed": "{label} skal udfyldes, når borgeren er sygemeldt fra "
                              "beskæftigelse.",
    "required_when_held": "Svar, om arbejdsgiveren deltog.",
    "only_when_held": "{label} kan kun angives, når samtalen blev holdt.",
    "local_time_only": "Skriv tidspunktet som lokal tid uden tidszone, ÅÅÅÅ-MM-DD TT:MM, fx "
                       "2026-11-02 09:00.",
    "steps_not_ascending": "Planens trin skal komme i rækkefølge, hvert efter det forrige.",
    "full_time_not_after_steps": "Fuld tid skal ligge efter planens sidste trin.",
    "date_and_time_both": "Vælg både dato og klokkeslæt – eller ingen af dem.",
    "before_start": "Slutdatoen må ikke ligge før startdatoen.",
    "read_only": "{label} kan ikke ændres.",
    "date_in_future": "Datoen må ikke ligge i fremtiden.",
    "before_first_absence_day": "Datoen må ikke ligge før første fraværsdag "
                                "({first_absence_day}).",
    "after_as_of": "Datoen må ikke ligge efter {as_of}.",
    "date_too_late": "Datoen ligger for langt ude i fremtiden.",
    "date_out_of_range": "Skriv en dato mellem {first} og {last}.",
    "date_format": _DATE,
    "date_not_real": _DATE,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _TIME,
    "datetime_parsing": _TIME,
    "datetime_from_date_parsing": _TIME,
    "time_not_real": _TIME,
    "time_in_past": "Tidspunktet er overstået. Vælg et senere.",
    "case_id_other_spelling": "Sagsnummeret findes allerede som {stored} – kun store og små "
                              "bogstaver er forskellige. Brug det.",
    "repeated_parameter": "Angiv kun én værdi.",
    "time_too_far": "Tidspunktet ligger for langt ude: højst {days} dage frem.",
    "not_offered": "Vælg en af de tilbudte tider.",
    "offset_mismatch": "Start og slut skal begge have en tidszone – eller ingen af dem.",
    "not_after_start": "Slut skal ligge efter start.",
    "month_format": "{label}: skriv en måned som ÅÅÅÅ-MM, fx 2026-11.",
    "before_from": "{label}: må ikke ligge før fra-måneden.",
    "before_from_day": "{label} må ikke ligge før fra-datoen.",
    "too_many_months": "{label}: højst {max} måneder ad gangen.",
    "too_many_days": "{label}: højst {max} dage ad gangen.",
    "action_format": "Skriv en handlingskode som case.read, eller dens første del som case.",
    "string_too_long": "Højst {max_length} tegn.",
    "string_too_short": "Mindst {min_length} tegn.",
    "too_long": "Højst {max_length} på listen.",
    "string_pattern_mismatch": "{label} har ikke det rigtige format.",
    "not_one_line": "{label} skal stå på én linje uden linjeskift eller styretegn.",
    "not_storable": "{label} indeholder tegn, der ikke kan gemmes (fx NUL-tegnet).",
    "cpr_format": "CPR-nummeret skal være 10 cifre (DDMMÅÅ-XXXX), og de første 6 skal være en "
                  "dato.",
    "shared_employer": "Arbejdsgiverens oplysninger gælder alle sager med dette CVR-nummer og "
                       "kan kun ændres af visitationen.",
    "not_one_of": _NOT_ONE_OF,
    "literal_error": _NOT_ONE_OF,
    "enum": _NOT_ONE_OF,
    "unknown_consultant": "Ukendt konsulent. Vælg en aktiv konsulent.",
    "consultant_required": "En bruger med rollen konsulent skal knyttes til en konsulent.",
    "consultant_only": "Kun brugere med rollen konsulent knyttes til en konsulent.",
    "username_format": "Brugernavnet skal være 2-64 tegn: små bogstaver a-z, tal og . _ @ -, "
                       "og begynde med et bogstav eller tal.",
    "password_is_username": "Adgangskoden må ikke være det samme som brugernavnet.",
    "not_in_range": "Skriv et helt tal fra {min} til {max}.",
    "greater_than_equal": "{label} må ikke være mindre end {ge}.",
    "less_than_equal": "{label} må ikke være større end {le}.",
    "finite_number": "{label} skal være et tal.",
    "unknown_parameter": "Ukendt parameter.",
    "extra_forbidden": "Ukendt felt.",
    "bool_type": _TYPE,
    "int_type": _TYPE,
    "float_type": _TYPE,
    "string_type": _TYPE,
    "model_type": _TYPE,
    "dict_type": _TYPE,
    "model_attributes_type": _TYPE,
    "list_type": _TYPE,
    "json_invalid": _BODY,
    "too_deep": _BODY,
    "unreadable": _BODY,
    "not_object": _BODY,
}

# A field's own words for a code, by the field's last name (`employer.cvr` -> `cvr`).
FIELD_TEXTS: dict[tuple[str, str], str] = {
    ("case_id", "string_pattern_mismatch"): "Sagsnummeret må kun indeholde bogstaverne a-z, "
                                            "tal, - og _ (højst 64 tegn).",
    ("cvr", "string_pattern_mismatch"): "CVR-nummeret skal være 8 cifre.",
    ("cvr", "required_when_employed"): "CVR-nummer skal udfyldes (8 cifre), når borgeren er "
                                       "sygemeldt fra beskæftigelse.",
    ("cvr", "missing"): "CVR-nummer skal udfyldes (8 cifre), når borgeren er sygemeldt fra "
                        "beskæftigelse.",
    ("email", "string_pattern_mismatch"): "Skriv en gyldig e-mailadresse, fx navn@firma.dk.",
    ("contact_email", "string_pattern_mismatch"): "Skriv en gyldig e-mailadresse, fx "
                                                  "navn@firma.dk.",
    # The Danish channels (the new-case form, the CSV import) always judge as of today.
    ("first_absence_day", "after_as_of"): "Første fraværsdag kan ikke ligge efter i dag.",
    ("expected_absence_weeks", "greater_than_equal"): "Skriv antal uger som et tal, der ikke "
                                                      "er negativt.",
    ("expected_absence_weeks", "finite_number"): "Skriv antal uger som et tal, der ikke er "
                                                 "negativt.",
    ("expected_absence_weeks", "float_type"): "Skriv antal uger som et tal, der ikke er "
                                              "negativt.",
    ("visitation_category", "literal_error"): "Vælg visitationskategori 1, 2 eller 3.",
    ("note", "string_too_long"): "Noten må højst være {max_length} tegn.",
    ("reason", "string_too_long"): "Noten må højst være {max_length} tegn.",
    ("who", "not_one_of"): "Vælg borgeren eller arbejdsgiveren.",
    ("place", "not_one_of"): "Vælg, hvor samtalen blev holdt – eller at den ikke blev holdt.",
    ("outcome", "not_one_of"): "Vælg, hvordan sagen sluttede.",
    ("started_on", "missing"): "Skriv datoen, indsatsen startede (ÅÅÅÅ-MM-DD).",
    ("on", "missing"): "Skriv datoen, sagen sluttede (ÅÅÅÅ-MM-DD).",
    ("outcome", "literal_error"): "Vælg, hvordan sagen sluttede.",
    ("category", "not_one_of"): "Vælg en af grundene på listen.",
    ("category", "literal_error"): "Vælg en af grundene på listen.",
    ("role", "not_one_of"): "Vælg en rolle: Visitation (intake), Fastholdelseskonsulent "
                            "(consultant), Leder (manager) eller Administrator (admin).",
    ("kind", "not_one_of"): "Slags indsats: vælg en af mulighederne.",
    ("kind", "literal_error"): "Slags indsats: vælg en af mulighederne.",
    ("consultant_id", "string_pattern_mismatch"): "Ukendt konsulent. Vælg en aktiv konsulent.",
    ("consultant_id", "unknown_consultant"): "Ukendt konsulent: {consultant_id}.",
    ("password", "string_too_short"): "Adgangskoden skal være mindst {min_length} tegn.",
    ("password", "string_too_long"): "Adgangskoden må højst være {max_length} tegn.",
    ("password", "not_storable"): "Adgangskoden indeholder et tegn, der ikke kan bruges.",
}

# A field's usual Danish name, by its last name; a channel may pass its own (`label`).
FIELD_LABELS: dict[str, str] = {
    "case_id": "Sagsnummer", "first_absence_day": "Første fraværsdag",
    "employment": "Beskæftigelse", "visitation_category": "Visitationskategori",
    "expected_absence_weeks": "Forventet fravær (uger)", "cvr": "CVR-nummer",
    "cpr": "CPR-nummer", "name": "Navnet", "address": "Adressen",
    "contact_name": "Kontaktpersonen", "contact_email": "Kontaktpersonens e-mail",
    "contact_phone": "Kontaktpersonens telefon", "email": "E-mailadressen",
    "phone": "Telefonnummeret", "diagnosis_group": "Diagnosegruppe",
    "full_recovery_plan_date": "Datoen for fast plan for fuld raskmelding",
    "fast_track_requested_on": "Datoen for fast track", "on": "Datoen",
    "started_on": "Datoen", "start": "Tidspunktet", "end": "Slut", "note": "Noten",
    "reason": "Noten", "outcome": "Udfaldet", "place": "Stedet", "who": "Hvem",
    "category": "Grunden", "consultant_id": "Konsulenten", "konsulent": "Konsulenten",
    "from": "Fra måned", "to": "Til måned", "username": "Brugernavnet", "role": "Rollen",
    "password": "Adgangskoden", "status": "Status", "state": "Status",
    "kind": "Slags indsats", "hours_per_week": "Timer om ugen", "ends_on": "Slutdatoen",
}

# A field's problem without the field's name, when nobody said what the field is called.
UNNAMED_TEXTS: dict[str, str] = {
    "invalid": GENERIC_UNNAMED_FIELD,
    "not_one_of": "Vælg en af mulighederne.",
    "literal_error": "Vælg en af mulighederne.",
    "enum": "Vælg en af mulighederne.",
    "less_than_equal": "Højst {le}.",
    "greater_than_equal": "Mindst {ge}.",
}

# A problem as a phrase after the field's name, for a form that names the field and its row
# ("Aftale 2, hvem: vælg en af mulighederne."): `labelled_error`.
_DATE_PHRASE = "skriv en dato som ÅÅÅÅ-MM-DD"
_TIME_PHRASE = "skriv dato og klokkeslæt som ÅÅÅÅ-MM-DD TT:MM"
_NUMBER_PHRASE = "skriv et tal, fx 18,5"
_CHOICE_PHRASE = "vælg en af mulighederne"
PHRASES: dict[str, str] = {
    "missing": "skal udfyldes",
    "not_one_of": _CHOICE_PHRASE, "literal_error": _CHOICE_PHRASE, "enum": _CHOICE_PHRASE,
    **{code: _DATE_PHRASE for code in ("date_format", "date_not_real", "date_type",
                                       "date_parsing", "date_from_datetime_parsing",
                                       "date_from_datetime_inexact")},
    **{code: _TIME_PHRASE for code in ("datetime_type", "datetime_parsing",
                                       "datetime_from_date_parsing", "time_not_real")},
    **{code: _NUMBER_PHRASE for code in ("float_type", "float_parsing", "finite_number",
                                         "not_a_number")},
    "less_than_equal": "højst {le}",
    "greater_than_equal": "mindst {ge}",
    "string_too_long": "højst {max_length} tegn",
    "string_too_short": "mindst {min_length} tegn",
    "not_one_line": "skal stå på én linje uden linjeskift eller styretegn",
    "not_storable": "indeholder tegn, der ikke kan gemmes (fx NUL-tegnet)",
    "date_in_future": "må ikke ligge i fremtiden",
    "before_start": "må ikke ligge før startdatoen",
    "before_first_absence_day": "må ikke ligge før første fraværsdag ({first_absence_day})",
    "after_as_of": "må ikke ligge efter {as_of}",
    "time_in_past": "tidspunktet er overstået",
    "full_time_not_after_steps": "skal ligge efter planens sidste trin",
}

_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ISO_MINUTE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$")


def _shown(value: Any) -> str:
    """A param as Danish text shows it: dates 21.11.2026, times 21.11.2026 kl. 09.00,
    numbers with a decimal comma (whole ones without decimals)."""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value).replace(".", ",")
    text = str(value)
    if _ISO_DAY.match(text):
        return f"{date.fromisoformat(text):%d.%m.%Y}"
    if _ISO_MINUTE.match(text):
        return f"{datetime.fromisoformat(text):%d.%m.%Y kl. %H.%M}"
    return text


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def _name(field: str | None) -> str:
    """A field's last name: `employer.cvr` -> `cvr`, `unavailable[0].end` -> `end`."""
    return re.sub(r"\[[0-9]+\]", "", field or "").rsplit(".", 1)[-1]


def danish_error(field: str | None, code: str, params: Mapping[str, Any] | None = None, *,
                 label: str | None = None) -> str:
    """`code` (with `params`) on `field` in Danish. `field` None: an error of the whole
    action (not found, a conflict). `label`: the channel's name of the field. The field's
    own words first, then the code's — each only if the error has the params it names —
    else the generic sentence."""
    name = _name(field)
    named = label or FIELD_LABELS.get(name)
    shown_label = named or "Feltet"
    values = {"label": shown_label, "label_lower": shown_label[:1].lower() + shown_label[1:]}
    values.update({key: _shown(value) for key, value in (params or {}).items()})
    unnamed = UNNAMED_TEXTS.get(code) if field and not named else None
    for template in (FIELD_TEXTS.get((name, code)), unnamed, TEXTS.get(code)):
        if template is not None and _placeholders(template) <= set(values):
            return template.format(**values)
    if not field:
        return GENERIC
    return (GENERIC_FIELD if named else GENERIC_UNNAMED_FIELD).format(**values)


def labelled_error(field: str | None, code: str, params: Mapping[str, Any] | None = None, *,
                   label: str) -> str:
    """`code` on a field a form names itself (`label`, "Aftale 2, hvem"), as "label: the
    problem." ("Aftale 2, hvem: vælg en af mulighederne."); a code without such a phrase is
    said by `danish_error` with the label."""
    phrase = PHRASES.get(code)
    values = {key: _shown(value) for key, value in (params or {}).items()}
    if phrase is not None and _placeholders(phrase) <= set(values):
        return f"{label}: {phrase.format(**values)}."
    return danish_error(field, code, params, label=label)


class _DomainProblem(Protocol):
    code: str
    params: dict[str, Any]


def danish_problem(exc: _DomainProblem) -> str:
    """An error of the whole action (`DomainError`: not found, conflict, forbidden) in
    Danish; for invalid input its first field's words."""
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        return danish_error(first.get("field"), first.get("code", "invalid"),
                            first.get("params"))
    return danish_error(None, exc.code, exc.params)


def danish_field_errors(errors: list[dict[str, Any]],
                        labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """Field errors (`Invalid.errors`) as Danish text by field, the first per field;
    `labels`: the channel's Danish name by field."""
    out: dict[str, str] = {}
    for error in errors:
        field = str(error.get("field", ""))
        if field not in out:
            out[field] = danish_error(field, str(error.get("code", "invalid")),
                                      error.get("params"), label=(labels or {}).get(field))
    return out
