"""The planner's reason codes (`optimizer.explain`) in words intake staff understand."""

from __future__ import annotations

from datetime import date

from service.text.danish import short_date

SKILL_WORDS = {"mental": "psykisk", "physical": "fysisk",
               "cancer_heart_lung": "kræft, hjerte, lunge", "other": "andet"}

# Why the case went to this consultant.
ASSIGNMENT_WORDS = {
    "kept_owner": "beholder sin konsulent (én hånd på bolden)",
    "fixed_employer": "fast konsulent for virksomheden",
    "least_loaded": "laveste belastning",
    "workplace_capable": "holder samtaler på arbejdspladsen",
    "near": "kort transporttid",
    "late": "mødet ligger efter fristen",
    # the fixed-employer rule "preferred": why not the employer's fixed consultant
    "fixed_full:same_team": "virksomhedens faste konsulent har ikke plads — samme team",
    "fixed_full:other_team": "virksomhedens faste konsulent og teamet har ikke plads — "
                             "en anden konsulent",
    "fixed_no_workplace:same_team": "virksomhedens faste konsulent holder ikke samtaler på "
                                    "arbejdspladsen — samme team",
    "fixed_no_workplace:other_team": "virksomhedens faste konsulent holder ikke samtaler på "
                                     "arbejdspladsen — en anden konsulent",
    "fixed_no_time:same_team": "virksomhedens faste konsulent har ikke tid inden fristen — "
                               "samme team",
    "fixed_no_time:other_team": "virksomhedens faste konsulent og teamet har ikke tid inden "
                                "fristen — en anden konsulent",
    # a proposal the employer already had (stable plans)
    "proposal_kept": "forslaget, arbejdsgiveren har fået, bevares",
    "proposal_moved:impossible": "forslaget er flyttet: tidspunktet kan ikke længere lade "
                                 "sig gøre",
    "proposal_moved:on_time": "forslaget er flyttet, så et andet møde kan holdes inden "
                              "fristen",
}
# Why the meeting is late (`late:*`) or missing (`no_meeting:*`).
LATE_WORDS = {
    "kept_meeting": "det bekræftede møde ligger efter fristen og bevares",
    "no_working_day": "der er ingen arbejdsdag tilbage før fristen",
    "consultant_off": "konsulenten arbejder ikke på nogen af dagene før fristen",
    "travel_too_long": "mødet med transport når ikke at ligge inden for konsulentens "
                       "arbejdstid før fristen",
    "daily_limit": "konsulenten har nået sit antal møder om dagen på alle dage før fristen",
    "employer_unavailable": "arbejdsgiveren kan ikke på de dage før fristen, hvor "
                            "konsulenten har tid",
    "search_stopped": "der er stadig en ledig tid før fristen; planlægningen nåede ikke at "
                      "flytte mødet dertil",
    "private_talk": "borgerens fortrolige samtale med konsulenten skal ligge på en tidligere "
                    "dag, og konsulenten har ikke tid til den tidligt nok til et møde før "
                    "fristen",
    "private_talk_agreed": "mødet skal ligge efter den fortrolige samtale, der er aftalt med "
                           "borgeren, og der er ingen ledig tid mellem samtalen og fristen",
}
MISSING_WORDS = {
    "not_workplace_capable": "sagens konsulent holder ikke samtaler på arbejdspladsen",
    "no_working_day": "ingen arbejdsdag i planlægningsperioden",
    "consultant_off": "konsulenten arbejder ikke i planlægningsperioden",
    "travel_too_long": "mødet med transport kan ikke ligge inden for konsulentens arbejdstid",
    "daily_limit": "konsulenten har nået sit antal møder om dagen på alle dage i perioden",
    "calendar_full": "konsulentens kalender er fuld i hele planlægningsperioden",
    "employer_unavailable": "arbejdsgiveren kan ikke på de dage, hvor konsulenten har tid",
    "search_stopped": "der er en ledig tid; planlægningen nåede ikke at placere mødet",
    "private_talk": "borgerens fortrolige samtale med konsulenten skal ligge før mødet, og "
                    "konsulenten har ikke tid til den før nogen ledig tid til mødet",
    "private_talk_agreed": "mødet skal ligge efter den aftalte fortrolige samtale, og der er "
                           "ingen ledig tid efter den i planlægningsperioden",
}
# Why the case has no consultant.
UNASSIGNED_WORDS = {
    "no_capacity:any": "ingen konsulent, der kan tage sagen, har plads",
    "no_capacity:fixed_employer": "virksomhedens faste konsulent har ikke plads",
    "no_capacity:workplace": "ingen konsulent, der holder samtaler på arbejdspladsen, har "
                             "plads",
    "no_eligible:workplace": "ingen konsulent holder samtaler på arbejdspladsen",
    "no_eligible:fixed_employer": "virksomhedens faste konsulent holder ikke samtaler på "
                                  "arbejdspladsen",
}


def reason_in_words(code: str) -> str:
    """'skill_match:mental' -> 'speciale: psykisk'; 'late:calendar_full_until:2026-03-12' ->
    'konsulentens kalender er fuld indtil 12. marts'; unknown codes are shown as they are."""
    head, _, arg = code.partition(":")
    if head == "skill_match" and arg:
        return f"speciale: {SKILL_WORDS.get(arg, arg)}"
    if head == "late" and arg.startswith("calendar_full_until:"):
        try:
            until = date.fromisoformat(arg.partition(":")[2])
        except ValueError:
            return code
        return f"konsulentens kalender er fuld indtil {short_date(until)}"
    if head == "late" and arg:
        return LATE_WORDS.get(arg, code)
    if head == "no_meeting":
        return f"intet møde: {MISSING_WORDS.get(arg, arg)}"
    if code in UNASSIGNED_WORDS:
        return UNASSIGNED_WORDS[code]
    return ASSIGNMENT_WORDS.get(code, code)


def unassigned_in_words(item: dict[str, object]) -> str:
    """An unassigned case's reason: the code in Danish, else the planner's own sentence."""
    code = item.get("reason_code")
    if isinstance(code, str) and code in UNASSIGNED_WORDS:
        return UNASSIGNED_WORDS[code]
    return str(item.get("reason") or "ukendt årsag")


# The rules' reason codes (shared/spec/rules.md), for staff: the decision in words.
DECISION_WORDS = {
    "scope.not_employed": "ikke sygemeldt fra beskæftigelse",
    "scope.category_2_3": "visitationskategori 2 eller 3",
    "scope.category_1": "visitationskategori 1 (forventes raskmeldt inden for 8 uger)",
    "scope.expected_over_8_weeks": "forventet fravær over 8 uger",
    "scope.expected_8_weeks_or_less": "forventet fravær højst 8 uger",
    "scope.missing_absence_estimate": "mangler visitationskategori eller forventet fravær",
    "exclude.serious_illness": "undtaget: alvorligt syg",
    "exclude.workplace_cause": "undtaget: arbejdspladsen vurderes at være årsag",
    "followup.recovery_within_4_weeks": "fast plan for fuld raskmelding inden for 4 uger: "
                                        "telefonisk opfølgning",
    "followup.dismissed": "opsagt: møde i jobcentret",
    "followup.declined_by_employer": "arbejdsgiveren har takket nej til mødet på "
                                     "arbejdspladsen: møde i jobcentret",
    "followup.declined_by_citizen": "borgeren ønsker ikke mødet på arbejdspladsen: møde i "
                                    "jobcentret",
    "followup.workplace": "første opfølgningsmøde på arbejdspladsen",
    "followup.private_talk_first": "borgeren ønsker en fortrolig samtale først",
    "deadline.fast_track": "fast track: tidligere frist",
}


def decision_reason_in_words(code: str) -> str:
    """A rules reason code in Danish; an unknown code is shown as it is."""
    return DECISION_WORDS.get(code, code)
