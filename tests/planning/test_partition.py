"""The planner at national scale: a large municipality with teams is planned one team at a
time (service.planning.partition) and the parts' plans, joined, keep every rule."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime, time
from typing import Any

import optimizer
from optimizer.generator import generate_instance
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB, JOBS
from service.planning.partition import (
    join_results,
    leftover_instance,
    solve_partitioned,
    split_by_team,
)
from service.planning.solver import SolveRequest, ThreadSolver, solve_instance
from service.platform.db.models import PlanningRun
from tests.planning.test_planning_service import body
from tests.support import make_secrets, start_api


def teamed_instance(cases: int, consultants: int) -> dict[str, Any]:
    """A generated instance whose consultants ("t2-c7") sit in teams ("t2")."""
    instance = generate_instance(cases, consultants, seed=3)
    for consultant in instance["consultants"]:
        consultant["team"] = consultant["id"].split("-")[0]
    return instance


def test_a_large_instance_splits_by_team_and_the_joined_plan_keeps_every_rule() -> None:
    instance = teamed_instance(160, 52)  # three teams
    assert split_by_team(instance, 160) == [instance]  # not large: as it is
    parts = split_by_team(instance, 50)
    assert len(parts) == 3
    for part in parts:  # one team per part, all of its consultants
        assert len({c["team"] for c in part["consultants"]}) == 1
    assert Counter(c["id"] for p in parts for c in p["cases"]) == Counter(
        c["id"] for c in instance["cases"])  # every case exactly once
    team = {c["id"]: c["team"] for c in instance["consultants"]}
    for part in parts:
        here = part["consultants"][0]["team"]
        for case in part["cases"]:
            tied = case["consultant_id"] or (case["meeting"] or {}).get("consultant_id")
            if tied:  # an owner's or a confirmed meeting's case stays with their team
                assert team[tied] == here
    results = [solve_instance(SolveRequest(part, 1.0)) for part in parts]
    for part, result in zip(parts, results, strict=True):
        assert optimizer.validate(optimizer.parse_instance(part), result.plan) == []
    whole = optimizer.parse_instance(instance)
    # Alone, the parts leave cases unassigned that another team has room for (rule 1) ...
    assert any("has room (rule 1)" in problem
               for problem in optimizer.validate(whole, join_results(instance, results).plan))
    # ... which the second round across all teams places, the parts' plans pinned.
    second = leftover_instance(instance, results)
    assert second is not None
    leftovers = solve_instance(SolveRequest(second[0], 1.0, second[1]))
    joined = join_results(instance, results, leftovers)
    assert optimizer.validate(whole, joined.plan) == []
    planned = {a["case_id"] for a in joined.plan["assignments"]} | {
        u["case_id"] for u in joined.plan["unassigned"]}
    assert len(planned) == len(instance["cases"])
    assert joined.metrics["partitions"] == 3
    assert joined.metrics["upper_bound_on_time"] is None  # no bound claimed for the whole
    assert joined.metrics["meetings_needed"] == sum(r.metrics["meetings_needed"]
                                                    for r in results)
    assert joined.metrics["meetings_on_time"] >= sum(r.metrics["meetings_on_time"]
                                                     for r in results)
    # The same through the planner's entry point.
    solved = asyncio.run(solve_partitioned(ThreadSolver(), SolveRequest(instance, 1.0), 50))
    assert optimizer.validate(whole, solved.plan) == []


async def test_solving_partitioned_without_teams_is_one_solve() -> None:
    instance = generate_instance(20, 3, seed=4)
    result = await solve_partitioned(ThreadSolver(), SolveRequest(instance, 1.0), 5)
    assert "partitions" not in result.metrics
    assert optimizer.validate(optimizer.parse_instance(instance), result.plan) == []


async def test_the_planning_run_of_a_municipality_with_teams_plans_each_team(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    # config/demo.toml's consultants sit in the teams "vest" and "syd".
    config = demo_config.model_copy(update={"planning": demo_config.planning.model_copy(
        update={"partition_cases": 1})})
    clock = SettableClock(datetime.combine(date(2026, 11, 20), time(10, 0)))
    async for api in start_api(config, make_secrets(sqlite_url), clock=clock):
        for ref in ("p1", "p2", "p3"):
            response = await api.client.post("/api/cases", json=body(ref),
                                             headers=api.auth("intake"))
            assert response.status == 201
        await api.client.app[JOBS].wait_idle()
        async with api.client.app[DB].read() as session:
            run = (await session.execute(PlanningRun.__table__.select().order_by(
                PlanningRun.id.desc()).limit(1))).one()
        assert run.metrics["partitions"] == 2, run.metrics
        assert run.metrics["meetings_needed"] == 3
        for ref in ("p1", "p2", "p3"):
            case = await (await api.client.get(f"/api/cases/{ref}",
                                               headers=api.auth("intake"))).json()
            assert case["owner"] is not None and case["meeting"] is not None, case
