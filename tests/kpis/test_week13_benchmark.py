"""Issue 20 item 8, its second half, on a hand-made data set (SQLite and PostgreSQL): the
week-13 figure for the model's population (excluded cases in, as the national benchmark
counts) beside the target group's, both measured against a milestone taken from the national
benchmark (its share + 10 points, per month or one number), in `GET /api/kpis` (old keys
kept) and as two headline tiles on the dashboard, each explained in one line.

"Today" is 2027-01-20. Week 13 ends on first absence day + 90.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.config import (
    Benchmark,
    BenchmarkMonth,
    ConfigError,
    MunicipalityConfig,
    load_config,
)
from service.followup.intervention_kinds import WORKPLACE_ORIENTED_KINDS
from service.keys import CONFIG, DB
from service.kpis.figures import KpiService
from service.platform.db.engine import Database
from service.platform.db.models import INTERVENTION_KINDS, Case, Intervention
from tests.kpis.test_outcomes import Seed, _text, seeded
from tests.kpis.test_outcomes import seed as seed_cases
from tests.support import ROOT, Staff, today_local

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
BENCHMARK = Benchmark(intervention_before_week13_share=0.20, months=[
    BenchmarkMonth(month="2026-11", intervention_before_week13_share=0.27)])

DATA = [
    # Week 13 ends in October (absence + 90):
    # T1: target, partial return 09-01, before its week 13 ended (10-08): counted in both.
    Seed("T1", "2026-07-10", partial_return="2026-09-01"),
    # T2: target, no intervention: in both, without.
    Seed("T2", "2026-07-12"),
    # E1: excluded, intervention 09-10: the model's only, with.
    Seed("E1", "2026-07-15", status="excluded", owner=None, partial_return="2026-09-10"),
    # E2, E3: excluded, no intervention: the model's only, without.
    Seed("E2", "2026-07-20", status="excluded", owner=None),
    Seed("E3", "2026-07-22", status="excluded", owner=None),
    # E4: excluded, closed 08-01 before its week 13 without an intervention: nowhere.
    Seed("E4", "2026-07-05", status="excluded", owner=None,
         closed=("2026-08-01", "recovered")),
    # T3: target, week 13 ends 11-05, intervention on 11-06 (after it): November, without.
    Seed("T3", "2026-08-07", partial_return="2026-11-06"),
    # N1: incomplete (not in scope): nowhere.
    Seed("N1", "2026-07-11", status="incomplete", owner=None),
]


async def seed(db: Database, config: MunicipalityConfig, data: list[Seed]) -> None:
    """The cases, each with its earliest intervention's start as the use case keeps it."""
    await seed_cases(db, config, data)
    async with db.write() as session:
        for case in (await session.execute(select(Case))).unique().scalars():
            case.intervention_started_on = (await session.execute(
                select(func.min(Intervention.started_on)).where(
                    Intervention.case_id == case.id))).scalar_one()


@pytest.fixture
async def kpis(demo_config: MunicipalityConfig, database_url: str
               ) -> AsyncIterator[KpiService]:
    config = demo_config.model_copy(update={"benchmark": BENCHMARK})
    async for figures in seeded(config, database_url, DATA, seed):
        yield figures


async def test_week13_for_both_populations_against_the_benchmark(kpis: KpiService) -> None:
    oct_, nov = await kpis.monthly(OCT, NOV)
    # October: target T1 with, T2 without; the model adds E1 with, E2 and E3 without.
    assert (oct_.week13_ended, oct_.intervention_before_week13, oct_.intervention_share) == \
        (2, 1, 0.5)
    assert (oct_.model_week13_ended, oct_.model_intervention_before_week13) == (5, 2)
    assert oct_.model_intervention_share == pytest.approx(0.4)
    # The milestone: the one number (20 %) + 10 points in October; November's own 27 % + 10.
    assert (oct_.benchmark_intervention_share, oct_.intervention_milestone) == (0.20, 0.30)
    assert (nov.benchmark_intervention_share, nov.intervention_milestone) == (0.27, 0.37)
    for key in ("intervention_share", "model_intervention_share"):
        assert oct_.target(key) == 0.30 and nov.target(key) == 0.37
    # November: T3's intervention came a day after its week 13 ended.
    assert (nov.week13_ended, nov.intervention_before_week13, nov.model_week13_ended) == \
        (1, 0, 1)
    # The JSON keeps the old keys and adds the new ones.
    out = oct_.to_dict()
    assert out["intervention_share"] == 0.5 and out["week13_ended"] == 2
    assert out["model_intervention_share"] == pytest.approx(0.4)
    assert out["benchmark_intervention_share"] == 0.20
    assert out["intervention_milestone"] == 0.30
    assert out["milestone"] is None or \
        out["milestone"]["intervention_before_week13_share"] == 0.30


def test_the_benchmark_configuration(tmp_path: Path) -> None:
    # Without a benchmark the configured milestones' own figure holds (as before).
    assert Benchmark().milestone("2026-10") is None
    assert Benchmark(intervention_before_week13_share=0.95).milestone("2026-10") == 1.0
    assert Benchmark(intervention_before_week13_share=0.25, points_above=0.05
                     ).milestone("2027-01") == 0.30
    # Before the first listed month the one number holds; without it, none.
    assert Benchmark(months=[BenchmarkMonth(month="2026-11",
                                            intervention_before_week13_share=0.3)]
                     ).share("2026-10") is None
    # Both shipped configurations set one (documented there as an assumption).
    for name in ("demo", "herning"):
        config = load_config(ROOT / "config" / f"{name}.toml")
        assert config.benchmark.milestone("2026-12") is not None, name
    # A wrong value is refused on load, naming the key.
    text = (ROOT / "config" / "demo.toml").read_text("utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("points_above = 0.10", "points_above = 2"), "utf-8")
    with pytest.raises(ConfigError, match="benchmark.points_above"):
        load_config(bad)


async def test_the_api_and_the_dashboard_show_both(staff: Staff) -> None:
    api = staff.api
    today = today_local()
    absence = today - timedelta(days=120)
    config = api.client.app[CONFIG]
    await seed(api.client.app[DB], config, [
        Seed("W1", absence.isoformat(), partial_return=(absence + timedelta(days=30)).isoformat()),
        Seed("W2", absence.isoformat(), status="excluded", owner=None)])
    week13 = absence + timedelta(days=90)
    resp = await api.client.get(f"/api/kpis?from={week13:%Y-%m}&to={week13:%Y-%m}",
                                headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    month = report["months"][0]
    assert (month["intervention_share"], month["model_intervention_share"]) == (1.0, 0.5)
    assert (month["week13_ended"], month["model_week13_ended"]) == (1, 2)
    share = config.benchmark.share(f"{week13:%Y-%m}")
    assert month["benchmark_intervention_share"] == share
    assert month["intervention_milestone"] == config.benchmark.milestone(f"{week13:%Y-%m}")
    keys = {f["key"] for f in report["figures"]}
    assert {"intervention_share", "model_intervention_share"} <= keys

    manager = await staff.login("manager")
    response, page = await manager.get(f"/dashboard?from={week13:%Y-%m}&to={today:%Y-%m}")
    assert response.status == 200
    text = _text(page)
    assert 'id="tile-model_intervention_share"' in page
    assert 'id="tile-intervention_share"' in page
    assert "Indsats inden uge 13 – modellens tal" in text
    assert "Indsats inden uge 13 – kun målgruppen" in text
    assert "milepælen er landstallet + 10 procentpoint" in text
    assert 'id="tal-model_intervention_share"' in page


# Education is no workplace-oriented intervention. Week 13 ends in October (absence + 90).
EDUCATION = [
    # V1: target, only education (08-20) before week 13: in the figure, without.
    Seed("V1", "2026-07-10", interventions=[("education", "2026-08-20", None)]),
    # V2: target, education 08-15 and then a work trial 09-20, before week 13 ended (10-09):
    #     with (listed under both kinds).
    Seed("V2", "2026-07-11", interventions=[("education", "2026-08-15", None),
                                            ("work_trial", "2026-09-20", None)]),
    # V3: target, "other" (Anden virksomhedsrettet indsats) 09-01: with.
    Seed("V3", "2026-07-12", interventions=[("other", "2026-09-01", None)]),
    # V4: excluded, only education: the model's, without.
    Seed("V4", "2026-07-13", status="excluded", owner=None,
         interventions=[("education", "2026-08-25", None)]),
    # V5: target, education 08-01, recovered 08-30 before week 13 ended: closed before it
    #     without a workplace-oriented intervention — nowhere.
    Seed("V5", "2026-07-14", interventions=[("education", "2026-08-01", None)],
         closed=("2026-08-30", "recovered")),
]


@pytest.fixture
async def education(demo_config: MunicipalityConfig, database_url: str
                    ) -> AsyncIterator[KpiService]:
    async for figures in seeded(demo_config, database_url, EDUCATION, seed):
        yield figures


async def test_education_is_not_a_workplace_oriented_intervention(
        education: KpiService) -> None:
    assert WORKPLACE_ORIENTED_KINDS == tuple(k for k in INTERVENTION_KINDS
                                             if k != "education")
    (oct_,) = await education.monthly(OCT, OCT)
    # The target group: V1 without, V2 and V3 with (V5 closed before); the model adds V4.
    assert (oct_.week13_ended, oct_.intervention_before_week13) == (3, 2)
    assert oct_.intervention_share == pytest.approx(2 / 3)
    assert (oct_.model_week13_ended, oct_.model_intervention_before_week13) == (4, 2)
    assert oct_.model_intervention_share == pytest.approx(0.5)
    # By kind, over the target group's cases whose week 13 ended: education listed (V1, V2),
    # not counted.
    assert {k: n for k, n in oct_.intervention_kinds.items() if n} == {
        "education": 2, "work_trial": 1, "other": 1}
