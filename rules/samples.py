"""Generated case facts for benchmarks and tests: every branch of the rules, realistic mix."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any


def generate_case(rng: random.Random, number: int, as_of: date) -> dict[str, Any]:
    """One plausible case as the rules contract's input object."""
    first_day = as_of - timedelta(days=rng.randint(0, 70))
    employment = rng.choices(["employed", "unemployed", "self_employed"], [85, 10, 5])[0]
    case: dict[str, Any] = {
        "case_id": f"bench-{number}",
        "first_absence_day": first_day.isoformat(),
        "employment": employment,
        "diagnosis_group": rng.choices(["mental", "physical", "cancer_heart_lung", "other"],
                                       [40, 35, 10, 15])[0],
    }
    if employment == "employed":
        case["employer"] = {"cvr": f"{rng.randint(10_000_000, 99_999_999)}",
                            "name": f"Virksomhed {rng.randint(1, 5000)}"}
    roll = rng.random()
    if roll < 0.55:
        case["visitation_category"] = rng.choice([1, 2, 2, 3, 3])
    elif roll < 0.95:
        case["visitation_category"] = None
        case["expected_absence_weeks"] = rng.choice([2, 4, 6, 8, 8.5, 10, 12, 16, 26])
    if rng.random() < 0.05:
        case["serious_illness"] = True
    if rng.random() < 0.05:
        case["workplace_cause"] = True
    if rng.random() < 0.05:
        case["dismissed"] = True
    if rng.random() < 0.15:
        case["full_recovery_plan_date"] = (as_of + timedelta(days=rng.randint(0, 60))).isoformat()
    if rng.random() < 0.1:
        case["fast_track_requested_on"] = (first_day + timedelta(days=rng.randint(0, 20))
                                           ).isoformat()
    if rng.random() < 0.05:
        case["employer_declines_workplace_meeting"] = True
    if rng.random() < 0.05:
        case["citizen_declines_workplace_meeting"] = True
    if rng.random() < 0.2:
        case["citizen_wants_private_talk"] = True
    return case


def generate_cases(count: int, seed: int, as_of: date) -> Iterator[dict[str, Any]]:
    """`count` cases, the same for the same seed and date."""
    rng = random.Random(seed)
    for number in range(1, count + 1):
        yield generate_case(rng, number, as_of)
