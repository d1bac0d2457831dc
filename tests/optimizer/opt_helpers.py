"""Builders for hand-written planning instances (shared by the optimizer tests)."""

from __future__ import annotations

import copy
from typing import Any

import optimizer

HERNING = {"lat": 56.1393, "lon": 8.9738}
NEAR = {"lat": 56.1450, "lon": 8.9800}  # ~1 km from the jobcentre
IKAST = {"lat": 56.1388, "lon": 9.1577}  # ~11 km


def consultant(cid: str = "c1", **extra: Any) -> dict[str, Any]:
    data = {"id": cid, "location": dict(HERNING), "workplace_meetings": True,
            "skills": [], "max_active_cases": 30, "active_cases": 0}
    data.update(extra)
    return data


def case(cid: str = "k1", deadline: str = "2026-03-20", follow_up: str = "workplace_meeting",
         cvr: str = "11111111", location: dict[str, float] | None = None,
         **extra: Any) -> dict[str, Any]:
    data = {"id": cid, "follow_up": follow_up, "deadline": deadline,
            "diagnosis_group": "mental",
            "employer": {"cvr": cvr, "location": dict(location or NEAR), "unavailable": []},
            "consultant_id": None, "meeting": None}
    data.update(extra)
    return data


def instance(cases: list[dict[str, Any]], consultants: list[dict[str, Any]] | None = None,
             **top: Any) -> dict[str, Any]:
    """as_of Monday 2026-03-02: with notice 2 the first planning day is Wed 2026-03-04."""
    data = {"as_of": "2026-03-02", "consultants": consultants or [consultant()],
            "cases": cases}
    data.update(top)
    return copy.deepcopy(data)


def plan_both(data: dict[str, Any], time_limit: float = 2.0
              ) -> dict[str, dict[str, Any]]:
    """Solve with both solvers; every plan is validated. Returns plan JSON per solver."""
    inst = optimizer.parse_instance(data)
    out = {}
    for solver in ("greedy", "cpsat"):
        plan = optimizer.solve(inst, solver=solver, time_limit=time_limit, seed=0)
        problems = optimizer.validate(inst, plan)
        assert problems == [], f"{solver}: {problems}"
        out[solver] = plan.to_json()
    return out


def by_case(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["case_id"]: a for a in plan["assignments"]}
