"""The KPI tests' municipality: the demo configuration with the three milestones the tests'
figures and default months were worked out against (December 2026, March and June 2027),
fixed here so that `config/demo.toml` can give the demo's history its own monthly
milestones."""

from __future__ import annotations

import pytest

from service.config import Benchmark, BenchmarkMonth, Milestone, MunicipalityConfig

MILESTONES = (
    Milestone(month="2026-12", workplace_first_meeting_share=0.39,
              intervention_before_week13_share=0.30, first_meeting_before_week8_share=0.50),
    Milestone(month="2027-03", workplace_first_meeting_share=0.55,
              intervention_before_week13_share=0.35, first_meeting_before_week8_share=0.65),
    Milestone(month="2027-06", workplace_first_meeting_share=0.70,
              intervention_before_week13_share=0.40, first_meeting_before_week8_share=0.80),
)


# The national benchmark the week-13 milestones are taken from (+ 10 points): the same
# milestones as above.
BENCHMARK = Benchmark(months=[
    BenchmarkMonth(month=m.month, intervention_before_week13_share=round(
        (m.intervention_before_week13_share or 0) - 0.10, 4)) for m in MILESTONES])


@pytest.fixture(scope="session")
def demo_config(demo_config: MunicipalityConfig) -> MunicipalityConfig:
    return demo_config.model_copy(update={"milestones": list(MILESTONES),
                                          "benchmark": BENCHMARK})
