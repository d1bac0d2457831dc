"""Every rule branch and boundary of shared/spec/rules.md, through `RulesEngine.decide`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rules.engine import RulesEngine
from rules.facts import CaseFacts, FactsError, validation_errors
from rules.thresholds import Thresholds

AS_OF = date(2026, 3, 2)
FIRST = date(2026, 2, 2)


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine()


def facts(**changes: Any) -> CaseFacts:
    base: dict[str, Any] = {
        "case_id": "k1",
        "first_absence_day": FIRST.isoformat(),
        "employment": "employed",
        "employer": {"cvr": "12345678", "name": "Vestas"},
        "visitation_category": 2,
    }
    base.update(changes)
    return CaseFacts.model_validate_json(json.dumps(base))


def decide(engine: RulesEngine, **changes: Any) -> dict[str, Any]:
    return engine.decide(facts(**changes), AS_OF).to_json()


# -- scope --------------------------------------------------------------------------------------

@pytest.mark.parametrize("employment", ["unemployed", "self_employed"])
def test_not_employed_is_not_target(engine: RulesEngine, employment: str) -> None:
    out = decide(engine, employment=employment, employer=None)
    assert out["status"] == "not_target"
    assert out["follow_up"] == "standard"
    assert out["reasons"] == ["scope.not_employed"]
    assert "missing" not in out


@pytest.mark.parametrize("category", [2, 3])
def test_category_2_and_3_are_target(engine: RulesEngine, category: int) -> None:
    out = decide(engine, visitation_category=category)
    assert out == {
        "case_id": "k1", "status": "target", "follow_up": "workplace_meeting",
        "private_talk_first": False,
        "first_meeting_deadline": (FIRST + timedelta(days=55)).isoformat(),
        "intervention_deadline": (FIRST + timedelta(days=90)).isoformat(),
        "reasons": ["scope.category_2_3", "followup.workplace"],
    }


def test_category_1_is_not_target_even_with_long_estimate(engine: RulesEngine) -> None:
    out = decide(engine, visitation_category=1, expected_absence_weeks=20)
    assert (out["status"], out["follow_up"]) == ("not_target", "standard")
    assert out["reasons"] == ["scope.category_1"]


def test_category_wins_over_estimate(engine: RulesEngine) -> None:
    out = decide(engine, visitation_category=3, expected_absence_weeks=2)
    assert out["reasons"][0] == "scope.category_2_3"


@pytest.mark.parametrize(("weeks", "status", "reason"), [
    (8, "not_target", "scope.expected_8_weeks_or_less"),      # exactly 8 weeks: not over
    (8.0, "not_target", "scope.expected_8_weeks_or_less"),
    (8.01, "target", "scope.expected_over_8_weeks"),
    (9, "target", "scope.expected_over_8_weeks"),
    (0, "not_target", "scope.expected_8_weeks_or_less"),
])
def test_expected_absence_boundary(engine: RulesEngine, weeks: float, status: str,
                                   reason: str) -> None:
    out = decide(engine, visitation_category=None, expected_absence_weeks=weeks)
    assert out["status"] == status
    assert out["reasons"][0] == reason


def test_missing_estimate_is_incomplete_with_deadlines(engine: RulesEngine) -> None:
    out = decide(engine, visitation_category=None)
    assert out["status"] == "incomplete"
    assert out["follow_up"] is None
    assert out["missing"] == ["expected_absence_weeks"]
    assert out["reasons"] == ["scope.missing_absence_estimate"]
    assert out["first_meeting_deadline"] == "2026-03-29"
    assert out["intervention_deadline"] == "2026-05-03"


def test_incomplete_with_fast_track_keeps_order(engine: RulesEngine) -> None:
    out = decide(engine, visitation_category=None, expected_absence_weeks=None,
                 fast_track_requested_on="2026-02-10")
    assert out["reasons"] == ["scope.missing_absence_estimate", "deadline.fast_track"]
    assert out["first_meeting_deadline"] == "2026-02-24"


# -- exclusions ---------------------------------------------------------------------------------

def test_serious_illness_excluded(engine: RulesEngine) -> None:
    out = decide(engine, serious_illness=True)
    assert (out["status"], out["follow_up"]) == ("excluded", "standard")
    assert out["reasons"] == ["scope.category_2_3", "exclude.serious_illness"]


def test_workplace_cause_excluded(engine: RulesEngine) -> None:
    out = decide(engine, workplace_cause=True)
    assert out["reasons"] == ["scope.category_2_3", "exclude.workplace_cause"]


def test_both_exclusions_listed(engine: RulesEngine) -> None:
    out = decide(engine, serious_illness=True, workplace_cause=True, dismissed=True)
    assert out["status"] == "excluded"
    assert out["reasons"] == ["scope.category_2_3", "exclude.serious_illness",
                              "exclude.workplace_cause"]


def test_exclusions_only_for_in_scope(engine: RulesEngine) -> None:
    out = decide(engine, visitation_category=1, serious_illness=True, workplace_cause=True)
    assert out["status"] == "not_target"
    assert out["reasons"] == ["scope.category_1"]


def test_exclusions_switched_off_by_configuration() -> None:
    engine = RulesEngine(Thresholds(exclude_serious_illness=False, exclude_workplace_cause=False))
    out = engine.decide(facts(serious_illness=True, workplace_cause=True), AS_OF).to_json()
    assert out["status"] == "target"
    assert out["reasons"] == ["scope.category_2_3", "followup.workplace"]
    only_one = RulesEngine(Thresholds(exclude_serious_illness=False))
    out = only_one.decide(facts(serious_illness=True, workplace_cause=True), AS_OF).to_json()
    assert out["reasons"] == ["scope.category_2_3", "exclude.workplace_cause"]


# -- follow-up ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("days", "follow_up"), [
    (-10, "telephone"), (0, "telephone"), (27, "telephone"),
    (28, "telephone"),                                   # exactly 28 days: still telephone
    (29, "workplace_meeting"), (90, "workplace_meeting"),
])
def test_recovery_plan_boundary(engine: RulesEngine, days: int, follow_up: str) -> None:
    plan = (AS_OF + timedelta(days=days)).isoformat()
    out = decide(engine, full_recovery_plan_date=plan)
    assert out["follow_up"] == follow_up
    if follow_up == "telephone":
        assert out["reasons"] == ["scope.category_2_3", "followup.recovery_within_4_weeks"]


def test_telephone_wins_over_dismissal_and_declines(engine: RulesEngine) -> None:
    out = decide(engine, full_recovery_plan_date="2026-03-10", dismissed=True,
                 employer_declines_workplace_meeting=True, citizen_wants_private_talk=True)
    assert out["follow_up"] == "telephone"
    assert out["private_talk_first"] is False


@pytest.mark.parametrize(("changes", "reason"), [
    ({"dismissed": True}, "followup.dismissed"),
    ({"dismissed": True, "employer_declines_workplace_meeting": True}, "followup.dismissed"),
    ({"employer_declines_workplace_meeting": True}, "followup.declined_by_employer"),
    ({"employer_declines_workplace_meeting": True, "citizen_declines_workplace_meeting": True},
     "followup.declined_by_employer"),
    ({"citizen_declines_workplace_meeting": True}, "followup.declined_by_citizen"),
])
def test_jobcenter_meeting_first_that_applies(engine: RulesEngine, changes: dict[str, Any],
                                              reason: str) -> None:
    out = decide(engine, citizen_wants_private_talk=True, **changes)
    assert out["follow_up"] == "jobcenter_meeting"
    assert out["reasons"] == ["scope.category_2_3", reason]
    assert out["private_talk_first"] is False


def test_private_talk_first_with_workplace_meeting(engine: RulesEngine) -> None:
    out = decide(engine, citizen_wants_private_talk=True)
    assert out["private_talk_first"] is True
    assert out["reasons"] == ["scope.category_2_3", "followup.workplace",
                              "followup.private_talk_first"]


def test_excluded_case_gets_no_private_talk(engine: RulesEngine) -> None:
    out = decide(engine, citizen_wants_private_talk=True, serious_illness=True)
    assert out["private_talk_first"] is False


# -- deadlines ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("requested", "deadline", "fast"), [
    ("2026-02-02", "2026-02-16", True),    # earlier than week 8
    ("2026-03-14", "2026-03-28", True),    # one day before the normal deadline (03-29)
    ("2026-03-15", "2026-03-29", False),   # same day as the normal deadline: normal applies
    ("2026-03-20", "2026-03-29", False),   # later: normal deadline
])
def test_fast_track(engine: RulesEngine, requested: str, deadline: str, fast: bool) -> None:
    out = decide(engine, fast_track_requested_on=requested)
    assert out["first_meeting_deadline"] == deadline
    assert ("deadline.fast_track" in out["reasons"]) is fast
    if fast:
        assert out["reasons"][-1] == "deadline.fast_track"


def test_deadlines_for_not_target_and_thresholds_from_config() -> None:
    engine = RulesEngine(Thresholds(first_meeting_deadline_days=48, intervention_deadline_days=83,
                                    fast_track_meeting_within_days=7,
                                    target_expected_weeks_over=6,
                                    telephone_recovery_within_days=14))
    out = engine.decide(facts(employment="unemployed", employer=None), AS_OF).to_json()
    assert out["first_meeting_deadline"] == (FIRST + timedelta(days=48)).isoformat()
    assert out["intervention_deadline"] == (FIRST + timedelta(days=83)).isoformat()
    assert engine.decide(facts(visitation_category=None, expected_absence_weeks=7),
                         AS_OF).status == "target"
    out = engine.decide(facts(full_recovery_plan_date="2026-03-17"), AS_OF).to_json()
    assert out["follow_up"] == "workplace_meeting"
    out = engine.decide(facts(fast_track_requested_on="2026-02-20"), AS_OF).to_json()
    assert out["first_meeting_deadline"] == "2026-02-27"


# -- as_of --------------------------------------------------------------------------------------

def test_as_of_in_facts_wins(engine: RulesEngine) -> None:
    out = engine.decide(facts(as_of="2026-02-10", full_recovery_plan_date="2026-03-10"), AS_OF)
    assert out.follow_up == "telephone"  # 28 days from the case's own as_of


def test_first_absence_after_as_of_is_an_error(engine: RulesEngine) -> None:
    with pytest.raises(FactsError, match="first_absence_day"):
        engine.decide(facts(first_absence_day="2026-03-03"), AS_OF)
    assert engine.decide(facts(first_absence_day="2026-03-02"), AS_OF).status == "target"


# -- input errors -------------------------------------------------------------------------------

def _errors(body: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as info:
        CaseFacts.model_validate_json(json.dumps(body))
    return validation_errors(info.value)


BASE = {"case_id": "k1", "first_absence_day": "2026-02-02", "employment": "employed",
        "employer": {"cvr": "12345678"}}


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"visitation_category": "2"}, "visitation_category", "one of"),
    ({"visitation_category": 4}, "visitation_category", "one of"),
    ({"visitation_category": True}, "visitation_category", "one of"),
    ({"dismissed": "yes"}, "dismissed", "true or false"),
    ({"dismissed": 1}, "dismissed", "true or false"),
    ({"employment": "retired"}, "employment", "one of"),
    ({"diagnosis_group": "flu"}, "diagnosis_group", "one of"),
    ({"first_absence_day": "2026-02-30"}, "first_absence_day", "not a real date"),
    ({"first_absence_day": "02-02-2026"}, "first_absence_day", "YYYY-MM-DD"),
    ({"first_absence_day": "2026-02-02T00:00"}, "first_absence_day", "YYYY-MM-DD"),
    ({"first_absence_day": 20260202}, "first_absence_day", "not a number"),
    ({"full_recovery_plan_date": "soon"}, "full_recovery_plan_date", "YYYY-MM-DD"),
    ({"expected_absence_weeks": -1}, "expected_absence_weeks", "≥ 0"),
    ({"expected_absence_weeks": "10"}, "expected_absence_weeks", "number"),
    ({"case_id": "has space"}, "case_id", "A-Z"),
    ({"case_id": "x" * 65}, "case_id", "A-Z"),
    ({"case_id": 17}, "case_id", "string"),
    ({"employer": {"cvr": "1234567"}}, "employer.cvr", "8 digits"),
    ({"employer": {"cvr": 12345678}}, "employer.cvr", "string"),
    ({"employer": None}, "employer.cvr", "required"),
    ({"employer": {"name": "Vestas"}}, "employer.cvr", "required"),
])
def test_input_errors_name_the_field(change: dict[str, Any], field: str, words: str) -> None:
    errors = _errors({**BASE, **change})
    assert errors[0]["field"] == field, errors
    assert words in errors[0]["message"], errors


@pytest.mark.parametrize("missing", ["case_id", "first_absence_day", "employment"])
def test_missing_required_field(missing: str) -> None:
    body = {k: v for k, v in BASE.items() if k != missing}
    assert _errors(body) == [{"field": missing, "message": "is required", "code": "missing",
                             "params": {}}]


def test_unknown_fields_ignored_and_employer_optional_when_not_employed() -> None:
    parsed = CaseFacts.model_validate_json(json.dumps(
        {**BASE, "employment": "self_employed", "employer": None, "shoe_size": 44}))
    assert parsed.employer is None


# -- against a plain reference ------------------------------------------------------------------

def reference(f: CaseFacts, as_of: date, t: Thresholds) -> dict[str, Any]:
    """The contract written as plain Python, to check the declared rules against."""
    as_of = f.as_of or as_of
    reasons: list[str] = []
    missing: list[str] = []
    status: str
    if f.employment != "employed":
        status, scope = "not_target", "scope.not_employed"
    elif f.visitation_category in (2, 3):
        status, scope = "target", "scope.category_2_3"
    elif f.visitation_category == 1:
        status, scope = "not_target", "scope.category_1"
    elif f.expected_absence_weeks is not None:
        over = f.expected_absence_weeks > t.target_expected_weeks_over
        status = "target" if over else "not_target"
        scope = "scope.expected_over_8_weeks" if over else "scope.expected_8_weeks_or_less"
    else:
        status, scope = "incomplete", "scope.missing_absence_estimate"
        missing = ["expected_absence_weeks"]
    reasons.append(scope)
    if status == "target":
        if f.serious_illness and t.exclude_serious_illness:
            reasons.append("exclude.serious_illness")
            status = "excluded"
        if f.workplace_cause and t.exclude_workplace_cause:
            reasons.append("exclude.workplace_cause")
            status = "excluded"
    follow_up: str | None = None
    private = False
    if status in ("not_target", "excluded"):
        follow_up = "standard"
    elif status == "target":
        recovery = f.full_recovery_plan_date
        if recovery is not None and recovery <= as_of + timedelta(
                days=t.telephone_recovery_within_days):
            follow_up, why = "telephone", "followup.recovery_within_4_weeks"
        elif f.dismissed:
            follow_up, why = "jobcenter_meeting", "followup.dismissed"
        elif f.employer_declines_workplace_meeting:
            follow_up, why = "jobcenter_meeting", "followup.declined_by_employer"
        elif f.citizen_declines_workplace_meeting:
            follow_up, why = "jobcenter_meeting", "followup.declined_by_citizen"
        else:
            follow_up, why = "workplace_meeting", "followup.workplace"
        reasons.append(why)
        if follow_up == "workplace_meeting" and f.citizen_wants_private_talk:
            private = True
            reasons.append("followup.private_talk_first")
    deadline = f.first_absence_day + timedelta(days=t.first_meeting_deadline_days)
    if f.fast_track_requested_on is not None:
        fast = f.fast_track_requested_on + timedelta(days=t.fast_track_meeting_within_days)
        if fast < deadline:
            deadline = fast
            reasons.append("deadline.fast_track")
    out: dict[str, Any] = {
        "case_id": f.case_id, "status": status, "follow_up": follow_up,
        "private_talk_first": private, "first_meeting_deadline": deadline.isoformat(),
        "intervention_deadline": (f.first_absence_day + timedelta(
            days=t.intervention_deadline_days)).isoformat(),
        "reasons": reasons,
    }
    if status == "incomplete":
        out["missing"] = missing
    return out


maybe_date = st.one_of(st.none(), st.dates(date(2025, 12, 1), date(2026, 6, 1)))
case_facts = st.builds(
    CaseFacts,
    case_id=st.just("h1"),
    first_absence_day=st.dates(date(2025, 12, 1), AS_OF),
    employment=st.sampled_from(["employed", "unemployed", "self_employed"]),
    employer=st.just({"cvr": "12345678"}),
    dismissed=st.booleans(),
    visitation_category=st.sampled_from([None, 1, 2, 3]),
    expected_absence_weeks=st.one_of(st.none(), st.sampled_from([0, 4, 7.5, 8, 8.5, 12])),
    serious_illness=st.booleans(),
    workplace_cause=st.booleans(),
    full_recovery_plan_date=maybe_date,
    fast_track_requested_on=maybe_date,
    employer_declines_workplace_meeting=st.booleans(),
    citizen_declines_workplace_meeting=st.booleans(),
    citizen_wants_private_talk=st.booleans(),
)
thresholds = st.builds(
    Thresholds,
    target_expected_weeks_over=st.sampled_from([6, 8, 8.5]),
    telephone_recovery_within_days=st.sampled_from([14, 28]),
    exclude_serious_illness=st.booleans(),
    exclude_workplace_cause=st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(case_facts, thresholds)
def test_declared_rules_match_reference(f: CaseFacts, t: Thresholds) -> None:
    assert RulesEngine(t).decide(f, AS_OF).to_json() == reference(f, AS_OF, t)


def test_same_case_many_times_same_answer(engine: RulesEngine) -> None:
    f = facts(citizen_wants_private_talk=True, fast_track_requested_on="2026-02-03")
    first = engine.decide(f, AS_OF)
    # Far more than the engine's 1,024 live sessions: each decision must clean up after itself.
    assert all(engine.decide(f, AS_OF) == first for _ in range(3000))
