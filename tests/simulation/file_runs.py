"""A short greedy simulation into a SQLite file the test reads afterwards."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from service.config import MunicipalityConfig
from service.platform.crypto import new_data_key
from service.simulation.run import RunOptions, SimulationResult, run_scenario
from service.simulation.staffing import StaffingPlan

SECRET = "simulation-test-secret-" + "x" * 32
START = date(2026, 10, 1)


def run_into_file(config: MunicipalityConfig, path: Path, *, seed: int, months: int,
                  in_role: int, start: date = START, **simulation: Any) -> SimulationResult:
    """`config` with the `[simulation]` values given, `in_role` consultants in the new role
    from the start, simulated from `start` (October 2026) into the SQLite file `path`."""
    config = config.model_copy(update={
        "simulation": config.simulation.model_copy(update=simulation)})
    options = RunOptions(seed=seed, start=start, months=months, solver="greedy",
                         time_limit=1.0,
                         plan=StaffingPlan(((start, in_role),), f"{in_role} in the role"),
                         database_url=f"sqlite+aiosqlite:///{path}", data_key=new_data_key())
    return asyncio.run(run_scenario(config, options, SECRET))
