"""Issue 20 items 5, 7 and 8 on a hand-made data set (SQLite and PostgreSQL): the outcome
figures (median duration by the place of the first meeting, partly/fully back at work by
week 13 and 26, per consultant), the model's 70 % figure over its population (excluded cases
in) beside the target group's, and the hand-over figures — then the same over HTTP (the API
and the dashboard, per consultant for managers only).

"Today" is 2027-01-20 (yesterday: 01-19). Week N ends on first absence day + 7·N − 1: week
13 on +90, week 26 on +181; week 8 on +55. Each case says what it adds.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html import unescape

import pytest

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import CONFIG, DB
from service.kpis.figures import KpiService
from service.planning.consultants import sync_consultants
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import Case, Consultant, Intervention, Meeting
from tests.support import Staff, today_local

TODAY = date(2027, 1, 20)
JUL, AUG, SEP = date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)


@dataclass
class Seed:
    ref: str
    first_absence: str
    owner: str | None = "anna"
    status: str = "target"
    meeting: tuple[str, str] | None = None  # (held on, place)
    partial_return: str | None = None
    closed: tuple[str, str] | None = None  # (on, outcome)
    handed_over: str | None = None
    extra: list[str] = field(default_factory=list)
    # Further interventions: (kind, started on, ends on or None).
    interventions: list[tuple[str, str, str | None]] = field(default_factory=list)


DATA = [
    # P1: workplace meeting; partial return 08-20; recovered 09-28: 90 days. Week 13 ends
    #     09-29 (fully back), week 26 12-29 (fully). Handed over 08-20: day 50, week 8 (late).
    Seed("P1", "2026-07-01", meeting=("2026-08-01", "workplace"),
         partial_return="2026-08-20", closed=("2026-09-28", "recovered"),
         handed_over="2026-08-20"),
    # P2: workplace meeting; recovered 12-05: 149 days. Week 13 ends 10-08 (neither), week 26
    #     2027-01-07 (fully). Handed over 08-10: day 31, week 5.
    Seed("P2", "2026-07-10", meeting=("2026-08-10", "workplace"),
         closed=("2026-12-05", "recovered"), handed_over="2026-08-10"),
    # P3 (bo): jobcentre meeting; partial return 10-20, still open. Week 13 ends 11-01 (partly);
    #     week 26 2027-01-31 (not ended).
    Seed("P3", "2026-08-03", owner="bo", meeting=("2026-09-15", "jobcentre"),
         partial_return="2026-10-20"),
    # P4 (bo): phone meeting; moved to another municipality 09-10: 37 days; left out of the
    #     week-13 figure (its outcome is not known here).
    Seed("P4", "2026-08-05", owner="bo", meeting=("2026-09-01", "phone"),
         closed=("2026-09-10", "other_municipality")),
    # P5: jobcentre meeting 10-01 (outside the months); dismissed 11-15: 76 days. Week 13 ends
    #     11-30 (neither). Handed over 10-20: day 49, week 8 (late).
    Seed("P5", "2026-09-01", meeting=("2026-10-01", "jobcentre"),
         closed=("2026-11-15", "dismissed"), handed_over="2026-10-20"),
    # P6: no owner, nothing registered. Week 13 ends 12-09 (neither). Handed over 10-28: day
    #     48, the last day of week 7 (in time).
    Seed("P6", "2026-09-10", owner=None, handed_over="2026-10-28"),
    # X: excluded, no meeting held: in the model's population as not at the workplace in
    #    August (its week 8 ended 08-29); not in the outcomes; its late hand-over not counted.
    Seed("X", "2026-07-05", status="excluded", handed_over="2026-09-30"),
    # Y: excluded, first meeting 09-20 at the workplace: in the model's September.
    Seed("Y", "2026-08-01", status="excluded", meeting=("2026-09-20", "workplace")),
    # Z: excluded, closed 08-01 before its week 8 ended (09-13) without a meeting: nowhere.
    Seed("Z", "2026-07-20", status="excluded", closed=("2026-08-01", "recovered")),
    # Q: outside the months (October): nowhere.
    Seed("Q", "2026-10-01", meeting=("2026-10-20", "workplace"),
         closed=("2026-10-30", "recovered")),
]


async def seed(db: Database, config: MunicipalityConfig, data: list[Seed]) -> None:
    async with db.write() as session:
        await sync_consultants(session, config)
    async with db.write() as session:
        ids = {c.key: c.id for c in (await session.execute(Consultant.__table__.select())).all()}
        for row in data:
            absence = date.fromisoformat(row.first_absence)
            facts = {"case_id": row.ref, "first_absence_day": row.first_absence}
            if row.handed_over:
                facts["handed_over_on"] = row.handed_over
            case = Case(municipality_id="demo", case_ref=row.ref, facts=facts, as_of=absence,
                        status=row.status, follow_up="workplace_meeting",
                        first_meeting_deadline=absence + timedelta(days=55),
                        intervention_deadline=absence + timedelta(days=90),
                        owner_id=ids[row.owner] if row.owner else None,
                        closed_on=date.fromisoformat(row.closed[0]) if row.closed else None,
                        close_outcome=row.closed[1] if row.closed else None)
            session.add(case)
            await session.flush()
            if row.meeting:
                start = datetime.combine(date.fromisoformat(row.meeting[0]), time(9))
                session.add(Meeting(municipality_id="demo", case_id=case.id,
                                    consultant_id=ids[row.owner or "anna"],
                                    kind="workplace_meeting", start=start,
                                    end=start + timedelta(hours=1), status="held",
                                    place=row.meeting[1], employer_took_part=True))
            if row.partial_return:
                session.add(Intervention(municipality_id="demo", case_id=case.id,
                                         kind="partial_return",
                                         started_on=date.fromisoformat(row.partial_return),
                                         registered_by="test"))
            for kind, started, ends in row.interventions:
                session.add(Intervention(municipality_id="demo", case_id=case.id, kind=kind,
                                         started_on=date.fromisoformat(started),
                                         ends_on=date.fromisoformat(ends) if ends else None,
                                         registered_by="test"))


async def seeded(config: MunicipalityConfig, database_url: str, data: list[Seed],
                 seeder: Callable[[Database, MunicipalityConfig, list[Seed]],
                                  Awaitable[None]] | None = None
                 ) -> AsyncIterator[KpiService]:
    """The figures over a fresh database holding `data` (by `seed`, or `seeder`), on
    TODAY's clock."""
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    db = Database(database_url, clock)
    await upgrade_async(db.url)
    try:
        await (seeder or seed)(db, config, data)
        yield KpiService(db, config, clock)
    finally:
        await db.dispose()


@pytest.fixture
async def kpis(demo_config: MunicipalityConfig, database_url: str
               ) -> AsyncIterator[KpiService]:
    async for figures in seeded(demo_config, database_url, DATA):
        yield figures


def _back(figures: dict[str, object]) -> dict[int, tuple[int, int, int]]:
    return {b["week"]: (b["cases"], b["partly"], b["fully"])  # type: ignore[index]
            for b in figures["back_at_work"]}  # type: ignore[attr-defined]


def _durations(figures: dict[str, object]) -> dict[str, tuple[int, float | None]]:
    return {d["place"]: (d["cases"], d["median_days"])  # type: ignore[index]
            for d in figures["durations"]}  # type: ignore[attr-defined]


async def test_outcome_figures_match_the_hand_computed_set(kpis: KpiService) -> None:
    out = (await kpis.outcomes(JUL, SEP)).to_dict()
    assert _durations(out) == {"workplace": (2, 119.5),  # P1 90, P2 149
                               "jobcentre": (1, 76.0),  # P5 (P3 is open)
                               "phone": (1, 37.0)}  # P4
    # Week 13: P1 fully, P3 partly; P2, P5, P6 neither; P4 left out. Week 26: P1, P2 fully.
    assert _back(out) == {13: (5, 1, 1), 26: (2, 0, 2)}
    week13 = out["back_at_work"][0]
    assert week13["partly_share"] == 0.2 and week13["fully_share"] == 0.2
    assert week13["back_share"] == 0.4
    by = {c["consultant_id"]: c for c in out["consultants"]}
    assert set(by) == {"anna", "bo"}  # P6 has no owner
    assert _durations(by["anna"]) == {"workplace": (2, 119.5), "jobcentre": (1, 76.0),
                                      "phone": (0, None)}
    assert _back(by["anna"]) == {13: (3, 0, 1), 26: (2, 0, 2)}  # P1, P2, P5
    assert _durations(by["bo"]) == {"workplace": (0, None), "jobcentre": (0, None),
                                    "phone": (1, 37.0)}
    assert _back(by["bo"]) == {13: (1, 1, 0), 26: (0, 0, 0)}  # P3 (P4 moved)
    assert by["bo"]["back_at_work"][1]["back_share"] is None  # nothing to divide
    assert (await kpis.outcomes(JUL, SEP)).to_dict(per_consultant=False)["consultants"] is None


async def test_the_model_figure_and_the_hand_over_figures(kpis: KpiService) -> None:
    jul, aug, sep = await kpis.monthly(JUL, SEP)
    # July: no first meeting. Hand-over: P1 late (week 8), P2 in time.
    assert (jul.model_first_meetings, jul.model_workplace_share) == (0, None)
    assert (jul.handed_over_known, jul.handed_over_late, jul.handed_over_late_share) == \
        (2, 1, 0.5)
    # August: P1, P2 at the workplace; X (excluded, no meeting by week 8) counts as not.
    assert (aug.first_meetings, aug.workplace_share) == (2, 1.0)
    assert (aug.model_first_meetings, aug.model_first_meetings_workplace) == (3, 2)
    assert aug.model_workplace_share == pytest.approx(2 / 3)
    assert (aug.handed_over_known, aug.handed_over_late_share) == (0, None)
    # September: P3 jobcentre, P4 phone; Y (excluded) at the workplace. Z counts nowhere.
    assert (sep.first_meetings, sep.workplace_share) == (2, 0.0)
    assert (sep.model_first_meetings, sep.model_first_meetings_workplace) == (3, 1)
    # P5 late (day 49: week 8); P6 in time on day 48, the last of week 7.
    assert (sep.handed_over_known, sep.handed_over_late) == (2, 1)
    # The JSON keeps the old keys and adds the new ones.
    out = sep.to_dict()
    assert out["workplace_share"] == 0.0 and out["model_workplace_share"] == pytest.approx(1 / 3)
    assert out["handed_over_late"] == 1


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def test_the_api_and_the_dashboard_show_them(staff: Staff) -> None:
    api = staff.api
    today = today_local()
    absence = today - timedelta(days=120)
    await seed(api.client.app[DB], api.client.app[CONFIG], [
        Seed("R1", absence.isoformat(), meeting=((absence + timedelta(days=30)).isoformat(),
                                                 "workplace"),
             closed=((absence + timedelta(days=80)).isoformat(), "recovered"),
             handed_over=(absence + timedelta(days=60)).isoformat())])
    month = f"{absence:%Y-%m}"
    resp = await api.client.get(f"/api/kpis?from={month}&to={today:%Y-%m}",
                                headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    keys = {f["key"] for f in report["figures"]}
    assert {"model_workplace_share", "workplace_share", "handed_over_late"} <= keys
    months = {m["month"]: m for m in report["months"]}
    assert months[month]["handed_over_late"] == 1
    held = months[f"{absence + timedelta(days=30):%Y-%m}"]
    assert held["model_workplace_share"] == 1.0 and held["workplace_share"] == 1.0
    outcomes = report["outcomes"]
    assert _durations(outcomes)["workplace"] == (1, 81.0)
    assert _back(outcomes)[13] == (1, 0, 1)
    assert [c["consultant_id"] for c in outcomes["consultants"]] == ["anna"]
    assert outcomes["duration_explanation"] and outcomes["back_explanation"]

    query = f"/dashboard?from={month}&to={today:%Y-%m}"
    manager = await staff.login("manager")
    response, page = await manager.get(query)
    assert response.status == 200
    text = _text(page)
    assert "På arbejdspladsen – modellens tal" in text
    assert "På arbejdspladsen – kun målgruppen" in text
    assert "også de udelukkede" in text  # each explained in one line
    assert 'id="tal-handed_over_late"' in page and "Overdraget efter uge 7" in text
    # Item 5's chart: the month's late hand-over is a bar of its own (desktop and phone).
    assert len(re.findall(r"<title>Overdraget efter uge 7, [^<:]+: 1</title>", page)) == 2
    assert "Målgruppesager pr. måned efter overdragelse fra ydelseskontoret" in page
    assert 'id="varighed-workplace"' in page and 'id="tilbage-13"' in page
    assert 'id="udfald-anna"' in page
    intake = await staff.login("intake")
    response, page = await intake.get(query)
    assert response.status == 200
    assert 'id="tilbage-13"' in page and 'id="udfald-konsulenter"' not in page


# Partly back counts a partial return running at the week's end in a case still open then.
# Week 13 ends on 2026-09-29, week 26 on 12-29 (first absence day 07-01).
PARTLY = [
    # D1: partial return from 08-10, but dismissed 09-10: back at neither week.
    Seed("D1", "2026-07-01", partial_return="2026-08-10", closed=("2026-09-10", "dismissed")),
    # D2: partial return 08-10 to 09-01, still open: it had ended by week 13's end — neither.
    Seed("D2", "2026-07-01", interventions=[("partial_return", "2026-08-10", "2026-09-01")]),
    # D3: partial return 08-10 to 09-29, the last day of week 13: partly at 13; not at 26.
    Seed("D3", "2026-07-01", interventions=[("partial_return", "2026-08-10", "2026-09-29")]),
    # D4: partial return from 08-10; to another programme 10-15: partly at 13, not at 26.
    Seed("D4", "2026-07-01", partial_return="2026-08-10",
         closed=("2026-10-15", "other_programme")),
    # D5: partial return from 08-10; recovered 12-01: partly at 13, fully at 26.
    Seed("D5", "2026-07-01", partial_return="2026-08-10", closed=("2026-12-01", "recovered")),
    # D6: closed as the old "partly recovered" 09-01: partly at both.
    Seed("D6", "2026-07-01", closed=("2026-09-01", "partly_recovered")),
]


@pytest.fixture
async def partly(demo_config: MunicipalityConfig, database_url: str
                 ) -> AsyncIterator[KpiService]:
    async for figures in seeded(demo_config, database_url, PARTLY):
        yield figures


async def test_partly_back_needs_a_running_partial_return_in_an_open_case(
        partly: KpiService) -> None:
    out = (await partly.outcomes(JUL, JUL)).to_dict()
    # Week 13: D3, D4, D5 (running, open) and D6 partly; D1 (dismissed), D2 (ended) not.
    # Week 26: D5 fully, D6 partly; the others' partial returns ended or their case did.
    assert _back(out) == {13: (6, 4, 0), 26: (6, 1, 1)}
