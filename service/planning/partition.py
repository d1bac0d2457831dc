"""Planning at national scale: a municipality's instance split by team, each part solved on
its own (in its own solver process, with its own time budget), the plans joined again.

A planning run plans one municipality already (the `plan` job per municipality, so 98
municipalities are 98 independent jobs for the workers). A large municipality whose
consultants sit in teams (`[[consultants]] team = ...`) is split further when it has more
than `[planning] partition_cases` cases to plan: consultants never share a partition, so the
parts' plans cannot collide on a consultant's time or caseload, and the joined plan holds
every rule the parts hold. A case goes to the team of whoever it is tied to — its owner, its
confirmed meeting or sent proposal, its kept private talk, its employer's fixed consultant —
and otherwise to the team with the most room (meetings a day per case given so far). What is
given up: a case whose team is full is not offered to another team's consultant in the same
run (it stays unassigned with its reason, and the next run — or a manager — moves it).

Pure data in and out (the planning contract's JSON), importable without the web stack.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from typing import Any

import optimizer
from optimizer.plan import plan_metrics
from service.planning.solver import Solver, SolveRequest, SolveResult

# CP-SAT statuses from worst to best: the joined run reports its worst part's.
STATUS_ORDER = ("MODEL_INVALID", "INFEASIBLE", "UNKNOWN", "greedy", "FEASIBLE", "OPTIMAL")


def team_of(consultant: dict[str, Any]) -> str:
    return str(consultant.get("team") or "")


def split_by_team(instance: dict[str, Any], max_cases: int) -> list[dict[str, Any]]:
    """The instance itself when it has at most `max_cases` cases or fewer than two teams;
    otherwise one instance per team (its consultants and the cases given to it)."""
    consultants = instance.get("consultants", [])
    cases = instance.get("cases", [])
    teams = sorted({team_of(c) for c in consultants})
    if len(cases) <= max_cases or len(teams) < 2:
        return [instance]
    team_by_consultant = {c["id"]: team_of(c) for c in consultants}
    fixed: dict[str, str] = {}
    for consultant in consultants:  # the first fixed consultant's team, in a stable order
        for cvr in consultant.get("fixed_employers") or []:
            fixed.setdefault(str(cvr), team_of(consultant))
    room = {team: 0 for team in teams}  # meetings a day: how much a team can take
    for consultant in consultants:
        room[team_of(consultant)] += max(1, int(consultant.get("max_meetings_per_day") or 1))
    given: dict[str, list[dict[str, Any]]] = defaultdict(list)
    free: list[dict[str, Any]] = []
    for case in cases:
        tied = [case.get("consultant_id")] + [
            (case.get(key) or {}).get("consultant_id")
            for key in ("meeting", "proposal", "private_talk")]
        team = next((team_by_consultant[c] for c in tied if c in team_by_consultant), None)
        if team is None:
            team = fixed.get(str((case.get("employer") or {}).get("cvr")))
        if team is None:
            free.append(case)
        else:
            given[team].append(case)
    for case in free:  # by deadline (the instance's order): the team with the most room
        team = min(teams, key=lambda t: ((len(given[t]) + 1) / room[t], t))
        given[team].append(case)
    return [{**instance, "consultants": [c for c in consultants if team_of(c) == team],
             "cases": given[team]} for team in teams if given[team]]


def leftover_instance(instance: dict[str, Any], results: list[SolveResult]
                      ) -> tuple[dict[str, Any], dict[str, tuple[str, str, str]]] | None:
    """The second round: the whole instance with every case the parts placed pinned as
    planned (owner, meeting, private talk; a new owner counts in the consultant's caseload)
    and the cases they left unassigned open; and the pinned meetings as `standing` (no
    alternatives sought again). None when the parts placed every case."""
    left = {u["case_id"] for r in results for u in r.plan["unassigned"]}
    if not left:
        return None
    placed = {a["case_id"]: a for r in results for a in r.plan["assignments"]}
    new_cases: dict[str, int] = defaultdict(int)
    standing: dict[str, tuple[str, str, str]] = {}
    cases = []
    for case in instance["cases"]:
        item = placed.get(case["id"])
        if item is None:
            cases.append(case)
            continue
        owner = item["consultant_id"]
        if case.get("consultant_id") is None:
            new_cases[owner] += 1
        meeting, talk = item.get("meeting"), item.get("private_talk")
        cases.append({**case, "consultant_id": owner, "proposal": None,
                      "meeting": {"start": meeting["start"], "consultant_id": owner}
                      if meeting else None,
                      "private_talk": {"start": talk["start"], "consultant_id": owner}
                      if talk else None})
        if meeting:
            standing[case["id"]] = (meeting["start"], owner, meeting["kind"])
    consultants = [{**c, "active_cases": int(c.get("active_cases") or 0) + new_cases[c["id"]]}
                   for c in instance["consultants"]]
    return {**instance, "consultants": consultants, "cases": cases}, standing


def join_results(instance: dict[str, Any], results: list[SolveResult],
                 leftovers: SolveResult | None = None) -> SolveResult:
    """One result for the whole instance: the parts' assignments and unassigned cases (those
    the second round, `leftovers`, placed or explained instead), the metrics recounted on the
    whole, the worst part's status and the first error kept."""
    if len(results) == 1 and leftovers is None:
        return results[0]
    partitions = len(results)
    second_round = 0
    assignments = [a for r in results for a in r.plan["assignments"]]
    unassigned = [u for r in results for u in r.plan["unassigned"]]
    if leftovers is not None:
        left = {u["case_id"] for u in unassigned}
        second_round = len(left)
        assignments += [a for a in leftovers.plan["assignments"] if a["case_id"] in left]
        unassigned = list(leftovers.plan["unassigned"])
        results = [*results, leftovers]
    plan: dict[str, Any] = {"assignments": assignments, "unassigned": unassigned}
    metrics: dict[str, Any] = dict(plan_metrics(optimizer.parse_instance(instance), plan))
    status = min((r.status for r in results),
                 key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 0)
    solvers = sorted({r.solver for r in results})
    metrics.update({
        "solver": "+".join(solvers), "status": status, "partitions": partitions,
        "second_round_cases": second_round,
        "solve_seconds": max(float(r.metrics.get("solve_seconds") or 0) for r in results),
        # The parts' bounds hold for the parts, not for the whole (a case could have been on
        # time with another team): no bound is claimed for a split run.
        "upper_bound_on_time": None})
    plan["metrics"] = metrics
    errors = [r.fallback_error for r in results if r.fallback_error]
    return SolveResult(solver=metrics["solver"], status=status, metrics=metrics, plan=plan,
                       alternatives={k: v for r in results for k, v in r.alternatives.items()},
                       fallback_error=errors[0] if errors else None)


async def solve_partitioned(solver: Solver, request: SolveRequest, max_cases: int
                            ) -> SolveResult:
    """Solve `request` split by team (`split_by_team`); the parts at once, each with the
    request's time budget (a solver with several processes runs them side by side), then the
    cases they left over across all teams (`leftover_instance`)."""
    parts = split_by_team(request.instance, max_cases)
    if len(parts) == 1:
        return await solver.solve(request)
    results = list(await asyncio.gather(*(solver.solve(replace(request, instance=part))
                                          for part in parts)))
    second = leftover_instance(request.instance, results)
    leftovers = None
    if second is not None:
        instance, standing = second
        leftovers = await solver.solve(replace(request, instance=instance,
                                               standing={**request.standing, **standing}))
    return join_results(request.instance, results, leftovers)
