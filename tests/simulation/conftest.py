"""A small municipality for the simulation's tests: the demo configuration with a modest
inflow, so that a few simulated months take seconds."""

from __future__ import annotations

import pytest

from service.config import MunicipalityConfig


@pytest.fixture(scope="session")
def small_town(demo_config: MunicipalityConfig) -> MunicipalityConfig:
    # without the demo's private talks and sick days: the tests of those ask for them
    sim = demo_config.simulation.model_copy(update={
        "inflow_per_month": 36.0, "employers": 60, "solver": "greedy",
        "citizen_private_talk_share": 0.0, "consultant_sick_days_per_month": 0.0})
    return demo_config.model_copy(update={"simulation": sim})
