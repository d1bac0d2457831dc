"""The solve, away from the web: model building and CP-SAT run in a worker process, so the
event loop and its interpreter lock keep serving intake while the planner works.

`solve_instance` is pure (plain data in, plain data out) and importable without the web
stack, so a process pool (embedded default) or a job-queue worker (production) runs it alike.
If CP-SAT fails or its plan breaks a hard rule, the greedy plan is used and the error kept.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import os
import select
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import optimizer
from optimizer.timing import reproducible
from service.platform.processes import process_alive

ALTERNATIVES_PER_PROPOSAL = 2


@dataclass(frozen=True)
class SolveRequest:
    """A planning instance (the contract's JSON shape) and which proposals stand today:
    case id → (start, consultant id, kind), so alternatives are found only for new ones."""

    instance: dict[str, Any]
    time_limit: float
    standing: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    seed: int = 0
    # None: the limit is wall-clock time (the service). A number: the plan is reproducible —
    # CP-SAT stops on that many deterministic units per second of its share of the limit,
    # the stages' budgets do not read the clock (`optimizer.timing.reproducible`).
    reproducible: float | None = None


@dataclass
class SolveResult:
    solver: str
    status: str
    metrics: dict[str, Any]
    plan: dict[str, Any]
    alternatives: dict[str, list[dict[str, Any]]]
    fallback_error: str | None = None


def _slot_json(slot: Any) -> dict[str, Any]:
    items = slot.items() if isinstance(slot, dict) else (
        (key, getattr(slot, key, None)) for key in ("start", "end", "travel_minutes"))
    return {k: (v.isoformat(timespec="minutes") if isinstance(v, datetime) else v)
            for k, v in items}


def new_proposals(data: dict[str, Any], request: SolveRequest) -> list[str]:
    """The cases the plan gives a meeting that is not the proposal standing today: they get
    alternatives (a standing proposal's were offered already)."""
    out = []
    for item in data["assignments"]:
        wanted = item.get("meeting")
        if wanted is None:
            continue
        key = (wanted["start"], item["consultant_id"], wanted["kind"])
        if request.standing.get(item["case_id"]) != key:
            out.append(item["case_id"])
    return out


def solve_instance(request: SolveRequest) -> SolveResult:
    """Solve with CP-SAT; fall back to greedy on failure. Runs in a worker process."""
    with contextlib.nullcontext() if request.reproducible is None else \
            reproducible(request.reproducible):
        return _solve_instance(request)


def _solve_instance(request: SolveRequest) -> SolveResult:
    instance = optimizer.parse_instance(request.instance)
    error: str | None = None
    try:
        plan = optimizer.solve(instance, solver="cpsat", time_limit=request.time_limit,
                               seed=request.seed)
        data = plan.to_json()
        problems = optimizer.validate(instance, data)
        if problems:
            raise RuntimeError(f"CP-SAT plan failed validation: {problems[0]}")
    except Exception as exc:  # noqa: BLE001 - any solver failure falls back to greedy
        error = f"{type(exc).__name__}: {exc}"[:500]  # the caller logs and stores it
        plan = optimizer.solve(instance, solver="greedy", time_limit=request.time_limit,
                               seed=request.seed)
        data = plan.to_json()
    return solve_result(instance, plan, data, request, error)


def solve_result(instance: optimizer.Instance, plan: optimizer.Plan, data: dict[str, Any],
                 request: SolveRequest, error: str | None = None) -> SolveResult:
    """The result of a solve: the plan (`data`, its JSON) with alternatives for its new
    proposals, found on the plan's own prepared instance."""
    alternatives = {case_id: [_slot_json(a) for a in slots] for case_id, slots in
                    optimizer.alternatives_for(instance, data, new_proposals(data, request),
                                               count=ALTERNATIVES_PER_PROPOSAL,
                                               prepared=plan.prepared).items()}
    metrics = data["metrics"]
    return SolveResult(solver=str(metrics.get("solver", "?")),
                       status=str(metrics.get("status", "?")), metrics=metrics, plan=data,
                       alternatives=alternatives, fallback_error=error)


class Solver(Protocol):
    async def solve(self, request: SolveRequest) -> SolveResult: ...

    def close(self) -> None: ...


# The solver's process yields the CPU to the web process: intake answers first, the plan
# comes a little later when the machine is busy (on an idle machine nothing changes).
SOLVER_NICENESS = 10


# Without a pidfd (not Linux): how often the worker looks whether the service still runs.
PARENT_POLL_SECONDS = 1.0


def _start_worker(service_pid: int) -> None:
    """In the worker, first: a lower CPU priority, and an end together with the service."""
    os.nice(SOLVER_NICENESS)
    exit_with(service_pid)


def exit_with(pid: int) -> None:
    """End this process as soon as process `pid` has ended, however it ended: a SIGKILL of
    the service gives it no chance to stop its worker, and the worker (~160 MB with OR-Tools)
    would keep running under PID 1 — and, since it holds their pipes open, so would the
    forkserver and the resource tracker. The worker's parent is the forkserver, not the
    service, so PR_SET_PDEATHSIG cannot say it; a pidfd of the service (Linux ≥ 5.3) becomes
    readable when the service ends, elsewhere a thread looks every second."""
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):
        pidfd = None

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])
        else:
            while process_alive(pid):
                time.sleep(PARENT_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-service", daemon=True).start()


class ProcessPoolSolver:
    """Solves in `processes` worker processes (default one; started on first use, reused; the
    first solve pays for importing OR-Tools there, ~160 MB each) at a lower CPU priority than
    the web process: a worker running several planning jobs at once, or the team partitions of
    a large municipality, solves that many side by side. `forkserver`:
    workers never inherit the web process's threads. The worker ends when the process that
    started it ends, even by SIGKILL (`exit_with`), and with it the forkserver and the
    resource tracker."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = max(1, processes)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.processes, mp_context=multiprocessing.get_context("forkserver"),
                initializer=_start_worker, initargs=(os.getpid(),))
        return self._pool

    async def solve(self, request: SolveRequest) -> SolveResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), solve_instance, request)

    def close(self) -> None:
        """Stop the worker now; a solve under way is dropped (the next start re-plans)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The executor has no public way to stop a running call; its processes are ours.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


class ThreadSolver:
    """Solves in a thread of this process (the CLI, and tests that replace the optimizer)."""

    async def solve(self, request: SolveRequest) -> SolveResult:
        return await asyncio.to_thread(solve_instance, request)

    def close(self) -> None:
        return None
