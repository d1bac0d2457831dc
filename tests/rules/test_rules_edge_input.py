"""Edge input the rules contract decides (or rejects) exactly: tiny and huge absence estimates,
deadlines past year 9999, `2.0` for a category, digits of other scripts (shared/spec/rules.md,
"Input: case facts"). Through the engine and through `fasthold rules evaluate`."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from rules.engine import RulesEngine, RulesError
from rules.facts import CaseFacts, FactsError, validation_errors
from rules.jsonl import evaluate_lines
from rules.thresholds import Thresholds
from tests.rules.test_rules_cli import case, evaluate

AS_OF = date(2026, 3, 2)

# Values durable_rules' own JSON reader cannot take as written (an exponent without a point),
# and their neighbours; each with the status the contract gives it (over 8 weeks or not).
EXTREME_WEEKS = [
    (1e-07, "not_target"),
    (1e16, "target"),
    (5e-324, "not_target"),
    (1e-300, "not_target"),
    (2e-05, "not_target"),
    (3e22, "target"),
    (1.7976931348623157e308, "target"),
    (-0.0, "not_target"),
    (0.0, "not_target"),
    (8.0, "not_target"),
    (8.000000000000002, "target"),
]


def facts(**changes: Any) -> CaseFacts:
    base: dict[str, Any] = {"case_id": "k1", "first_absence_day": "2026-02-02",
                            "employment": "employed", "employer": {"cvr": "12345678"},
                            "visitation_category": None}
    base.update(changes)
    return CaseFacts.model_validate_json(json.dumps(base))


def errors_of(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        facts(**changes)
    return {e["field"]: e["message"] for e in validation_errors(caught.value)}


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine()


@pytest.mark.parametrize(("weeks", "status"), EXTREME_WEEKS, ids=[repr(w) for w, _ in
                                                                 EXTREME_WEEKS])
def test_any_finite_estimate_is_decided(engine: RulesEngine, weeks: float, status: str) -> None:
    out = engine.decide(facts(expected_absence_weeks=weeks), AS_OF).to_json()
    assert out["status"] == status
    assert out["reasons"][0] == ("scope.expected_over_8_weeks" if status == "target"
                                 else "scope.expected_8_weeks_or_less")


@pytest.mark.parametrize(("weeks", "over", "status"), [
    (5e-324, 0, "target"),         # the smallest positive number is more than 0 weeks
    (0.0, 0, "not_target"),
    (1e-07, 1e-07, "not_target"),  # the threshold itself goes through the same way
    (2e-07, 1e-07, "target"),
    (1e16, 1e16, "not_target"),
    (2e16, 1e16, "target"),
])
def test_extreme_estimates_against_any_threshold(weeks: float, over: float,
                                                 status: str) -> None:
    engine = RulesEngine(Thresholds(target_expected_weeks_over=over))
    assert engine.decide(facts(expected_absence_weeks=weeks), AS_OF).status == status


def test_deadlines_after_year_9999_name_first_absence_day(engine: RulesEngine) -> None:
    late = facts(first_absence_day="9999-11-30", visitation_category=2)
    with pytest.raises(FactsError) as caught:
        engine.decide(late, date(9999, 12, 1))
    assert caught.value.field == "first_absence_day"
    assert "9999-12-31" in caught.value.message
    # The last day whose intervention deadline (90 days on) still exists is decided.
    last = facts(first_absence_day="9999-10-02", visitation_category=2)
    out = engine.decide(last, date(9999, 10, 2)).to_json()
    assert out["intervention_deadline"] == "9999-12-31"


def test_category_is_an_integer_not_a_float() -> None:
    assert "visitation_category" in errors_of(visitation_category=2.0)
    assert facts(visitation_category=2).visitation_category == 2


@pytest.mark.parametrize("cvr", ["١٢٣٤٥٦٧٨", "１２３４５６７８", "1234567٨"])
def test_cvr_in_other_digits_is_an_input_error(cvr: str) -> None:
    assert "employer.cvr" in errors_of(employer={"cvr": cvr})


@pytest.mark.parametrize("day", ["٢٠٢٦-٠٢-٠٢", "２０２６-０２-０２"])
def test_dates_in_other_digits_are_input_errors(day: str) -> None:
    assert "first_absence_day" in errors_of(first_absence_day=day)


# -- the command: exit 0 or 2, one line out per line in, never a traceback ---------------------

def test_cli_decides_extreme_estimates() -> None:
    stdin = "".join(case(f"w{i}", visitation_category=None, expected_absence_weeks=weeks) + "\n"
                    for i, (weeks, _) in enumerate(EXTREME_WEEKS))
    done = evaluate("--as-of", "2026-03-02", stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["status"] for o in out] == [status for _, status in EXTREME_WEEKS]


def test_cli_reports_bad_edge_input_per_line() -> None:
    lines = [
        case("late", first_absence_day="9999-11-30", as_of="9999-12-01"),  # 1
        case("float-category", visitation_category=2.0),                  # 2
        case("arabic-cvr", employer={"cvr": "١٢٣٤٥٦٧٨"}),                  # 3
        case("ok"),                                                        # 4
    ]
    done = evaluate("--as-of", "2026-03-02", stdin="\n".join(lines) + "\n")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o.get("line") for o in out] == [1, 2, 3, None]
    assert out[0]["error"].startswith("first_absence_day: ")
    assert "visitation_category" in out[1]["error"]
    assert "employer.cvr" in out[2]["error"]
    assert out[3]["status"] == "target"


def test_an_engine_failure_is_that_line_s_error() -> None:
    class Failing(RulesEngine):
        def decide(self, facts: CaseFacts, as_of: date | None = None) -> Any:
            if facts.case_id == "boom":
                raise RulesError("no rule matched the case (a gap in the rules)")
            return super().decide(facts, as_of)

    results = list(evaluate_lines(Failing(), [case("boom"), case("ok")], AS_OF))
    assert [r.ok for r in results] == [False, True]
    assert results[0].output == {"line": 1, "case_id": "boom", "error": "the rules could not "
                                 "decide: no rule matched the case (a gap in the rules)"}


def test_numbers_beyond_a_double_are_decided_as_the_huge_values_they_are() -> None:
    """`1e400` and an integer of 400 digits are valid JSON and finite: over 8 weeks, decided
    (they were "not valid JSON" naming no field); below 0 an error naming the field; NaN and
    broken JSON stay errors of the line."""
    template = case("h", visitation_category=None, expected_absence_weeks=123456.0)
    lines = [template.replace("123456.0", literal) for literal in
             ("1e400", "1" + "0" * 400, "1" + "0" * 30, "-1e400", "NaN")] + ["{broken"]
    results = list(evaluate_lines(RulesEngine(), lines, AS_OF))
    assert [r.ok for r in results] == [True, True, True, False, False, False]
    assert [r.output["status"] for r in results[:3]] == ["target"] * 3
    assert results[3].output["error"].startswith("expected_absence_weeks: must be ≥ 0")
    assert results[4].output["error"].startswith("not valid JSON")
    assert results[5].output["error"].startswith("not valid JSON")


def test_only_an_employed_person_s_employer_is_judged_by_its_cvr() -> None:
    """"Missing/invalid CVR for an employed person is an input error; absent or null is fine
    otherwise": someone not employed is decided whatever their employer object's CVR."""
    lines = [case("s", employment="self_employed", employer={"cvr": "123"}),
             case("u", employment="unemployed", employer={"name": "Tidligere ApS"}),
             case("n", employment="unemployed", employer={"cvr": 12345678}),
             case("e", employer={"cvr": "123"}),
             case("m", employer={"name": "Ansat ApS"})]
    results = list(evaluate_lines(RulesEngine(), lines, AS_OF))
    assert [r.output.get("reasons") for r in results[:3]] == [["scope.not_employed"]] * 3
    assert results[3].output["error"].startswith("employer.cvr: must be 8 digits")
    assert results[4].output["error"].startswith("employer.cvr: required")
