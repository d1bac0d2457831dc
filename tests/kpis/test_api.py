"""`GET /api/kpis`: the figures as JSON for managers and admins; the month range validated."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB
from service.platform.db.models import Case, Consultant, Meeting
from tests.support import Api, make_secrets, start_api

TODAY = date(2027, 1, 20)


async def _held_first_meeting(api: Api, ref: str, first_absence: date, day: date,
                              place: str) -> None:
    async with api.client.app[DB].write() as session:
        anna = (await session.execute(Consultant.__table__.select().where(
            Consultant.key == "anna"))).first()
        assert anna is not None
        case = Case(municipality_id="demo", case_ref=ref,
                    facts={"case_id": ref, "first_absence_day": first_absence.isoformat()},
                    as_of=first_absence, status="target", follow_up="workplace_meeting",
                    first_meeting_deadline=first_absence + timedelta(days=55),
                    intervention_deadline=first_absence + timedelta(days=90),
                    owner_id=anna.id)
        session.add(case)
        await session.flush()
        start = datetime.combine(day, time(9, 0))
        session.add(Meeting(municipality_id="demo", case_id=case.id, consultant_id=anna.id,
                            kind="workplace_meeting", start=start,
                            end=start + timedelta(hours=1), status="held", place=place,
                            employer_took_part=place == "workplace"))


async def test_kpis_as_json(demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await _held_first_meeting(api, "k1", date(2026, 11, 2), date(2026, 12, 14),
                                  "workplace")
        await _held_first_meeting(api, "k2", date(2026, 11, 9), date(2026, 12, 21), "phone")
        resp = await api.client.get("/api/kpis?from=2026-11&to=2027-01",
                                    headers=api.auth("manager"))
        assert resp.status == 200, await resp.text()
        report = await resp.json()
        assert [m["month"] for m in report["months"]] == ["2026-11", "2026-12", "2027-01"]
        nov, dec, _ = report["months"]
        assert nov["target_cases"] == 2 and nov["first_meetings"] == 0
        assert dec["first_meetings"] == 2 and dec["first_meetings_workplace"] == 1
        assert dec["first_meetings_phone"] == 1 and dec["workplace_share"] == 0.5
        assert dec["median_days_to_first_meeting"] == 42.0  # both 42 days
        assert dec["milestone"]["workplace_first_meeting_share"] == 0.39
        assert nov["milestone"] is None
        assert {f["key"] for f in report["figures"]} >= {"workplace_share", "intervention_share"}
        assert all(f["explanation"] for f in report["figures"])
        loads = {c["consultant_id"]: c for c in report["consultants"]}
        assert loads["anna"]["open_cases"] == 2 and loads["anna"]["capacity"] == 37
        assert report["at_risk"] == []
        assert report["workplace_goal"] == 0.7
        assert [m["future"] for m in report["months"]] == [False, False, False]
        # November's cases have all reached intake by 20 January (its last absence week 7
        # ended on 17 January); December's and January's may still come.
        assert [m["cases_arriving"] for m in report["months"]] == [False, True, True]
        # Admins too. Without `from`/`to`: from the first month with a case (2026-11) up to
        # this month, or to the next milestone within 3 months (2027-03); months not begun
        # carry their milestone and no figures.
        resp = await api.client.get("/api/kpis", headers=api.auth("admin"))
        months = (await resp.json())["months"]
        assert resp.status == 200
        assert [m["month"] for m in months] == ["2026-11", "2026-12", "2027-01", "2027-02",
                                                "2027-03"]
        assert [m["future"] for m in months] == [False, False, False, True, True]
        assert [m["cases_arriving"] for m in months] == [False, True, True, False, False]
        assert months[-1]["first_meetings"] is None and months[-1]["workplace_share"] is None
        assert months[-1]["milestone"]["workplace_first_meeting_share"] == 0.55
        # `to` alone: the 12 months up to it.
        resp = await api.client.get("/api/kpis?to=2026-12", headers=api.auth("manager"))
        months = (await resp.json())["months"]
        assert months[0]["month"] == "2026-01" and len(months) == 12


async def test_kpis_need_a_manager_key(sqlite_api: Api) -> None:
    assert (await sqlite_api.client.get("/api/kpis")).status == 401
    for role in ("intake", "consultant"):
        resp = await sqlite_api.client.get("/api/kpis", headers=sqlite_api.auth(role))
        assert resp.status == 403, role


async def test_bad_month_range_names_the_field(sqlite_api: Api) -> None:
    h = sqlite_api.auth("manager")
    for query, field in (("from=2026-13", "from"), ("from=26-11", "from"),
                         ("to=2026-11-01", "to"), ("from=1999-12", "from"),
                         ("to=٢٠٢٦-11", "to"), ("from=2027-02&to=2027-01", "to"),
                         ("from=2000-01&to=2099-12", "to")):
        resp = await sqlite_api.client.get(f"/api/kpis?{query}", headers=h)
        assert resp.status == 422, query
        body = await resp.json()
        assert body["errors"][0]["field"] == field, query
