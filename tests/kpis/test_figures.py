"""KPI figures against a small data set computed by hand (SQLite and PostgreSQL).

"Today" is 2027-01-20; the figures cover November 2026 to January 2027. Week 8 ends on first
absence day + 55, week 13 (the intervention deadline) on first absence day + 90. Each case
below says what it adds; the expected numbers in the tests are the sums of those lines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.kpis.figures import FIGURES, KpiService, MonthKpis, milestone_for
from service.kpis.report import default_range, month_range
from service.planning.consultants import sync_consultants
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import Case, Consultant, Intervention, Meeting
from service.platform.errors import Invalid

TODAY = date(2027, 1, 20)
NOV, DEC, JAN = date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)


@dataclass
class Row:
    ref: str
    first_absence: str
    owner: str | None = "anna"
    status: str = "target"
    closed_on: date | None = None
    intervention: date | None = None
    intervention_kind: str = "other"
    municipality: str = "demo"


# (case, [(meeting start, status, place, employer took part)])
DATA: list[tuple[Row, list[tuple[str, str, str | None, bool | None]]]] = [
    # A: first meeting 2026-11-20 at the workplace with the employer, day 46 (on time);
    #    a second held meeting in December is not a first meeting. Week 8 ends 11-29 (met).
    #    Week 13 ends 2027-01-03; intervention 12-20 (in time).
    (Row("A", "2026-10-05", intervention=date(2026, 12, 20),
         intervention_kind="partial_return"),
     [("2026-11-20T09:00", "held", "workplace", True),
      ("2026-12-15T09:00", "held", "jobcentre", True)]),
    # B: first meeting 12-02 by phone without the employer, day 62 (late, under 3 weeks).
    #    Week 8 ends 11-25 (missed). Week 13 ends 12-30, no intervention.
    (Row("B", "2026-10-01", owner="bo"), [("2026-12-02T10:00", "held", "phone", False)]),
    # C: first meeting 11-30 in the jobcentre with the employer, day 90 (over 3 weeks late).
    #    Week 8 ended in October (outside). Week 13 ends 11-30; intervention 12-05 (too late).
    (Row("C", "2026-09-01", intervention=date(2026, 12, 5), intervention_kind="wage_subsidy"),
     [("2026-11-30T13:00", "held", "jobcentre", True)]),
    # D: started in November; only a proposed meeting. Week 8 ends 2027-01-04 (missed);
    #    deadline past: at risk (-16 days, proposed).
    (Row("D", "2026-11-10"), [("2027-01-05T09:00", "proposed", None, None)]),
    # E: started in November; confirmed meeting after its week 8 (ends 01-14, missed): it
    #    will be late, so the case is at risk (-6 days, confirmed).
    (Row("E", "2026-11-20", owner="bo"), [("2027-01-25T09:00", "confirmed", None, None)]),
    # F: started in December, no owner, no meeting; week 8 ends 01-25 (not yet ended);
    #    deadline in 5 days: at risk.
    (Row("F", "2026-12-01", owner=None), []),
    # G: excluded from the target group: counted only in the model's population (December).
    (Row("G", "2026-11-15", status="excluded"), [("2026-12-20T09:00", "held", "workplace",
                                                  True)]),
    # H: started in November, closed (recovered) 11-20 before its week 8 ended (12-28)
    #    without a meeting: not a missed deadline; not open.
    (Row("H", "2026-11-03", owner="bo", closed_on=date(2026, 11, 20)), []),
    # I: started in December; a meeting not held on 01-03 does not count; first meeting
    #    01-10 at the workplace with the employer, day 36 (on time).
    (Row("I", "2026-12-05", owner="camilla"),
     [("2027-01-03T09:00", "not_held", None, None),
      ("2027-01-10T09:00", "held", "workplace", True)]),
    # J: another municipality: counted nowhere.
    (Row("J", "2026-11-05", municipality="other"), [("2026-11-25T09:00", "held", "workplace",
                                                    True)]),
    # K: started in December, deadline 2027-02-03 (14 days away): not at risk.
    (Row("K", "2026-12-10"), []),
    # L: first meeting 12-22 at the workplace without the employer, day 63. Week 8 ends 12-14
    #    (missed). Week 13 ends 2027-01-18; intervention that very day (in time).
    (Row("L", "2026-10-20", owner="dennis", intervention=date(2027, 1, 18),
         intervention_kind="work_trial"),
     [("2026-12-22T09:00", "held", "workplace", False)]),
    # N: closed 11-01, before week 8 (11-14) and week 13 (12-19) ended: in neither.
    (Row("N", "2026-09-20", owner=None, closed_on=date(2026, 11, 1)), []),
    # O: closed 12-30, after week 8 (11-19, missed, no meeting) and week 13 (12-24, no
    #    intervention) ended: in both, as misses.
    (Row("O", "2026-09-25", owner="eva", closed_on=date(2026, 12, 30)), []),
]


@pytest.fixture
async def kpis(demo_config: MunicipalityConfig, database_url: str) -> AsyncIterator[KpiService]:
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    db = Database(database_url, clock)
    await upgrade_async(db.url)
    try:
        async with db.write() as session:
            await sync_consultants(session, demo_config)
        async with db.write() as session:
            ids = {c.key: c.id for c in (await session.execute(
                Consultant.__table__.select())).all()}
            for row, meetings in DATA:
                absence = date.fromisoformat(row.first_absence)
                case = Case(municipality_id=row.municipality, case_ref=row.ref,
                            facts={"case_id": row.ref, "first_absence_day": row.first_absence},
                            as_of=absence, status=row.status,
                            follow_up="workplace_meeting",
                            first_meeting_deadline=absence + timedelta(days=55),
                            intervention_deadline=absence + timedelta(days=90),
                            owner_id=ids[row.owner] if row.owner else None,
                            closed_on=row.closed_on,
                            intervention_started_on=row.intervention)
                session.add(case)
                await session.flush()
                if row.intervention is not None:
                    session.add(Intervention(municipality_id=row.municipality,
                                             case_id=case.id, kind=row.intervention_kind,
                                             started_on=row.intervention,
                                             registered_by="test"))
                for start, status, place, employer in meetings:
                    begin = datetime.fromisoformat(start)
                    session.add(Meeting(municipality_id=row.municipality, case_id=case.id,
                                        consultant_id=ids[row.owner or "anna"],
                                        kind="workplace_meeting", start=begin,
                                        end=begin + timedelta(hours=1), status=status,
                                        place=place, employer_took_part=employer))
        yield KpiService(db, demo_config, clock)
    finally:
        await db.dispose()


def _figures(month: MonthKpis) -> dict[str, object]:
    return {f.key: month.value(f.key) for f in FIGURES}


async def test_monthly_figures_match_the_hand_computed_set(kpis: KpiService) -> None:
    nov, dec, jan = await kpis.monthly(NOV, JAN)
    assert [m.month for m in (nov, dec, jan)] == [NOV, DEC, JAN]
    assert _figures(nov) == {
        "target_cases": 3,  # D, E, H
        "first_meetings": 2,  # A, C
        "first_meetings_workplace": 1, "first_meetings_jobcentre": 1, "first_meetings_phone": 0,
        "model_first_meetings": 2, "model_first_meetings_workplace": 1,
        "model_workplace_share": 0.5,
        "workplace_share": 0.5, "employer_took_part": 2, "employer_share": 1.0,
        "handed_over_known": 0, "handed_over_late": 0, "handed_over_late_share": None,
        "employer_declines": 0, "declines_restored": 0,
        "before_week8": 1, "before_week8_share": 0.5,  # A
        "late_over_3_weeks": 1, "late_over_3_weeks_share": 0.5,  # C
        "median_days_to_first_meeting": 68.0,  # (46 + 90) / 2
        "week8_ended": 3, "week8_missed": 2,  # A met; B, O missed
        "week8_met_share": 1 / 3,  # of the cases whose week 8 ended (B and O were not met)
        "week13_ended": 1, "intervention_before_week13": 0, "intervention_share": 0.0,  # C
        # The model's week 13 adds no excluded case (G's week 13 ends 2027-02-13).
        "model_week13_ended": 1, "model_intervention_before_week13": 0,
        "model_intervention_share": 0.0,
    }
    assert _figures(dec) == {
        "target_cases": 3,  # F, I, K
        "first_meetings": 2,  # B, L
        "first_meetings_workplace": 1, "first_meetings_jobcentre": 0, "first_meetings_phone": 1,
        # The model's population adds G (excluded, held at the workplace 12-20).
        "model_first_meetings": 3, "model_first_meetings_workplace": 2,
        "model_workplace_share": 2 / 3,
        "workplace_share": 0.5, "employer_took_part": 0, "employer_share": 0.0,
        "handed_over_known": 0, "handed_over_late": 0, "handed_over_late_share": None,
        "employer_declines": 0, "declines_restored": 0,
        "before_week8": 0, "before_week8_share": 0.0,
        "late_over_3_weeks": 0, "late_over_3_weeks_share": 0.0,
        "median_days_to_first_meeting": 62.5,  # (62 + 63) / 2
        "week8_ended": 1, "week8_missed": 1,  # L (H closed before)
        "week8_met_share": 0.0,
        "week13_ended": 2, "intervention_before_week13": 0, "intervention_share": 0.0,  # B, O
        "model_week13_ended": 2, "model_intervention_before_week13": 0,
        "model_intervention_share": 0.0,
    }
    assert _figures(jan) == {
        "target_cases": 0,
        "first_meetings": 1,  # I
        "first_meetings_workplace": 1, "first_meetings_jobcentre": 0, "first_meetings_phone": 0,
        "model_first_meetings": 1, "model_first_meetings_workplace": 1,
        "model_workplace_share": 1.0,
        "workplace_share": 1.0, "employer_took_part": 1, "employer_share": 1.0,
        "handed_over_known": 0, "handed_over_late": 0, "handed_over_late_share": None,
        "employer_declines": 0, "declines_restored": 0,
        "before_week8": 1, "before_week8_share": 1.0,
        "late_over_3_weeks": 0, "late_over_3_weeks_share": 0.0,
        "median_days_to_first_meeting": 36.0,
        "week8_ended": 2, "week8_missed": 2,  # D, E (F, I not ended yet)
        "week8_met_share": 0.0,
        "week13_ended": 2, "intervention_before_week13": 2, "intervention_share": 1.0,  # A, L
        "model_week13_ended": 2, "model_intervention_before_week13": 2,
        "model_intervention_share": 1.0,
    }
    # Milestones: none before the first (2026-12); December's holds into January.
    assert nov.milestone is None
    assert dec.milestone is not None and dec.milestone.month == "2026-12"
    assert jan.milestone == dec.milestone
    assert jan.target("workplace_share") == 0.39
    assert jan.target("before_week8_share") == 0.50
    assert jan.target("intervention_share") == 0.30
    assert jan.target("target_cases") is None


async def test_a_month_without_anything_has_no_shares(kpis: KpiService) -> None:
    (empty,) = await kpis.monthly(date(2025, 1, 1), date(2025, 1, 1))
    assert empty.first_meetings == 0 and empty.target_cases == 0
    assert empty.workplace_share is None and empty.median_days_to_first_meeting is None
    assert empty.to_dict()["month"] == "2025-01" and empty.to_dict()["milestone"] is None


async def test_load_counts_open_target_cases_per_consultant(kpis: KpiService) -> None:
    loads = {load.consultant_id: (load.open_cases, load.capacity)
             for load in await kpis.load()}
    # anna: A, C, D, K (G excluded, J another municipality's); bo: B, E (H closed);
    # eva: O is closed.
    assert loads == {"anna": (4, 37), "bo": (2, 37), "camilla": (1, 37), "dennis": (1, 37),
                     "eva": (0, 30)}


async def test_cases_at_risk(kpis: KpiService) -> None:
    risky = [(c.case_id, c.consultant_id, c.days_left, c.meeting) for c in await kpis.at_risk()]
    assert risky == [("D", "anna", -16, "proposed"), ("E", "bo", -6, "confirmed"),
                     ("F", None, 5, None)]
    # Closer to its deadline K (2027-02-03) joins the list.
    assert "K" in [c.case_id for c in await kpis.at_risk(within_days=14)]


async def test_month_range_is_validated(kpis: KpiService) -> None:
    for first, last, field in ((date(2026, 11, 2), JAN, "from"),
                               (NOV, date(2027, 1, 31), "to"),
                               (JAN, NOV, "to"),
                               (date(2000, 1, 1), date(2020, 1, 1), "to")):
        with pytest.raises(Invalid) as caught:
            await kpis.monthly(first, last)
        assert caught.value.errors[0]["field"] == field


def test_a_milestone_holds_until_the_next(demo_config: MunicipalityConfig) -> None:
    milestones = demo_config.milestones
    assert milestone_for(milestones, date(2026, 11, 1)) is None
    assert milestone_for(milestones, date(2027, 2, 1)).month == "2026-12"  # type: ignore[union-attr]
    assert milestone_for(milestones, date(2027, 3, 1)).month == "2027-03"  # type: ignore[union-attr]
    assert milestone_for(milestones, date(2030, 1, 1)).month == "2027-06"  # type: ignore[union-attr]


async def test_first_month_and_months_not_begun(kpis: KpiService) -> None:
    assert await kpis.first_month() == date(2026, 9, 1)  # C, N (excluded G is not counted)
    feb, = await kpis.monthly(date(2027, 2, 1), date(2027, 2, 1))
    assert feb.future and feb.value("target_cases") is None
    assert feb.to_dict()["first_meetings"] is None and feb.milestone is not None


def test_default_and_requested_ranges(demo_config: MunicipalityConfig) -> None:
    milestones = demo_config.milestones  # 2026-12, 2027-03, 2027-06
    # From 11 months back or the first month with data; up to a milestone within 3 months.
    assert default_range(date(2027, 1, 20), date(2026, 9, 1), milestones) == (
        date(2026, 9, 1), date(2027, 3, 1))
    assert default_range(date(2027, 1, 20), date(2020, 1, 1), milestones) == (
        date(2026, 2, 1), date(2027, 3, 1))
    assert default_range(date(2027, 7, 2), None, milestones) == (
        date(2026, 8, 1), date(2027, 7, 1))
    default = (date(2026, 9, 1), date(2027, 3, 1))
    assert month_range({}, default) == default
    assert month_range({"from": "2026-10"}, default) == (date(2026, 10, 1), date(2027, 3, 1))
    assert month_range({"from": "2027-05"}, default) == (date(2027, 5, 1), date(2027, 5, 1))
    assert month_range({"to": "2026-12"}, default) == (date(2026, 1, 1), date(2026, 12, 1))
