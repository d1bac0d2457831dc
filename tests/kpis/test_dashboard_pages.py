"""`/dashboard` and `/dashboard.csv`: managers and admins see the figures per month with charts,
the at-risk list and consultants' load; other roles 403; without a session the login page."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from xml.etree import ElementTree

from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB, JOBS, KPI_REPORTS
from service.kpis.charts import (
    BLUE,
    PHONE_WIDTH,
    WIDTH,
    Axis,
    Series,
    bar_chart,
    line_chart,
)
from service.platform.db.models import AuditEntry, Case, Consultant, Intervention, Meeting
from service.platform.jobqueue import REPORT_KPIS
from tests.support import Staff, make_secrets, start_api, start_staff

TODAY = date(2027, 1, 20)


async def _data(staff: Staff) -> None:
    """One case with a first meeting at the workplace in December (day 42), one at risk."""
    async with staff.api.client.app[DB].write() as session:
        anna = (await session.execute(Consultant.__table__.select().where(
            Consultant.key == "anna"))).first()
        assert anna is not None
        for ref, absence in (("held-1", date(2026, 11, 2)), ("risky-1", date(2026, 11, 30))):
            case = Case(municipality_id="demo", case_ref=ref,
                        facts={"case_id": ref, "first_absence_day": absence.isoformat()},
                        as_of=absence, status="target", follow_up="workplace_meeting",
                        first_meeting_deadline=absence + timedelta(days=55),
                        intervention_deadline=absence + timedelta(days=90), owner_id=anna.id)
            session.add(case)
            await session.flush()
            if ref == "held-1":
                start = datetime(2026, 12, 14, 9, 0)
                session.add(Meeting(municipality_id="demo", case_id=case.id,
                                    consultant_id=anna.id, kind="workplace_meeting",
                                    start=start, end=start + timedelta(hours=1), status="held",
                                    place="workplace", employer_took_part=True))


async def _staff(demo_config: MunicipalityConfig, sqlite_url: str):  # type: ignore[no-untyped-def]
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        async for staff in start_staff(api):
            await _data(staff)
            yield staff


async def test_manager_sees_the_dashboard(demo_config: MunicipalityConfig,
                                          sqlite_url: str) -> None:
    async for staff in _staff(demo_config, sqlite_url):
        manager = await staff.login("manager")
        resp, html = await manager.get("/dashboard?from=2026-11&to=2027-01")
        assert resp.status == 200, html
        # Eight charts, each a well-formed SVG with a title, labelled axes and a legend —
        # drawn for a desktop (640 wide) and again for a phone (360 wide).
        svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
        assert len(svgs) == 16
        for svg in svgs:
            root = ElementTree.fromstring(svg)
            assert root.find("{http://www.w3.org/2000/svg}title") is not None
        phone = [svg for svg in svgs if 'viewBox="0 0 360 ' in svg]
        svgs = [svg for svg in svgs if 'viewBox="0 0 640 ' in svg]
        assert len(svgs) == 8 and len(phone) == 8
        ids = re.findall(r'<title id="([^"]+)"', html)
        assert len(ids) == len(set(ids)) == 16
        # January 2027 is still running: marked in the charts, the table and a note, and not
        # judged against its milestone.
        assert "jan. 2027*" in svgs[0] and "ikke slut endnu" in svgs[0]
        assert "jan. 2027 er ikke slut endnu" in html
        head = re.search(r"<thead>(.*?)</thead>", html, flags=re.S)
        assert head is not None and '<th scope="col" class="running">jan. 2027<span ' \
            'class="month-note">i gang</span>' in head.group(1)
        assert "Milepæl" in svgs[0] and "Mål 70 %" in svgs[0] and "Måned" in svgs[0]
        assert "dec. 2026" in svgs[0] and "100 %" in svgs[0]
        # The figures table: December's first meeting at the workplace, 100 % against the
        # 39 % milestone (met), day 42; each figure with its explanation.
        row = re.search(r'<tr id="tal-workplace_share">(.*?)</tr>', html, flags=re.S)
        assert row is not None
        cells = [re.sub(r"<[^>]+>", "", c)
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), flags=re.S)]
        assert cells[0] == "–" and cells[1].startswith("100 %") and "milepæl 39 %" in cells[1]
        assert 'class="met"' in row.group(1)
        # Met or not is said in words in the cell (not by its colour only).
        assert cells[1].endswith("✓ nået")
        assert not any("nået" in cell for cell in cells[2:])  # January is still running
        assert "ikke nået" in html
        # Links and scrolling tables are named: "se listen" says which list, each table's
        # box is a region named by its heading, the month fields say their format.
        assert 'se listen<span class="visually-hidden"> over sager i risiko</span>' in html
        assert 'se listen<span class="visually-hidden"> over opfølgninger over tid</span>' in html
        assert html.count('<div class="table-wrap" tabindex="0">') == 0
        assert '<div class="table-wrap" tabindex="0" role="region" aria-label="Tal pr. måned">' \
            in html
        assert 'aria-describedby="h-from"' in html and 'id="h-from">ÅÅÅÅ-MM, fx 2026-11<' in html
        assert 'uge<span class="visually-hidden"> for Anna Kjær</span>' in html
        assert re.findall(r'<td class="([a-z]*)"', row.group(1))[2] == "running"
        assert "Første samtaler på arbejdspladsen delt med alle første samtaler" in html
        median = re.search(r'<tr id="tal-median_days_to_first_meeting">(.*?)</tr>', html,
                           flags=re.S)
        assert median is not None and ">42<" in median.group(1)
        # At risk: risky-1's deadline is 2027-01-24, in 4 days, with no meeting.
        risk = html[html.index('id="risiko"'):]
        assert "risky-1" in risk and "om 4 dage" in risk and "held-1" not in risk[:2000]
        # Load: Anna has 2 open cases of 37; her cases and week are a click away.
        assert "Anna Kjær" in html and 'href="/week?konsulent=anna"' in html
        assert (await manager.get("/week?konsulent=anna"))[0].status == 200
        # The at-risk list is a read of those cases, in the audit log.
        async with staff.api.client.app[DB].read() as session:
            entries = (await session.execute(select(AuditEntry).where(
                AuditEntry.action == "case.list"))).scalars().all()
        assert any(e.details.get("page") == "dashboard" and e.details["at_risk"] == ["risky-1"]
                   for e in entries)
        # Admins see it too.
        admin = await staff.login("admin")
        assert (await admin.get("/dashboard"))[0].status == 200


async def test_dashboard_is_for_managers_and_intake(demo_config: MunicipalityConfig,
                                              sqlite_url: str) -> None:
    async for staff in _staff(demo_config, sqlite_url):
        for role, paths in (("intake", ("/dashboard.csv",)),
                            ("consultant", ("/dashboard", "/dashboard.csv"))):
            browser = await staff.login(role)
            for path in paths:
                resp, html = await browser.get(path)
                assert resp.status == 403, (role, path)
                assert "ikke adgang" in html
        # intake opens the page for its list of cases without an owner (issue 18)
        intake = await staff.login("intake")
        assert (await intake.get("/dashboard"))[0].status == 200
        anonymous = await staff.browser()
        for path in ("/dashboard", "/dashboard.csv?from=2026-11"):
            resp, _ = await anonymous.get(path, allow_redirects=False)
            assert resp.status == 302 and resp.headers["Location"].startswith("/login?next=")


async def test_bad_months_are_named_on_the_page(demo_config: MunicipalityConfig,
                                                sqlite_url: str) -> None:
    async for staff in _staff(demo_config, sqlite_url):
        manager = await staff.login("manager")
        resp, html = await manager.get("/dashboard?from=2026-13&to=2027-01")
        assert resp.status == 400
        assert "Fra måned: skriv en måned som ÅÅÅÅ-MM" in html
        assert 'id="f-from" name="from" type="month" value="2026-11" aria-invalid="true" ' \
            'aria-describedby="e-from h-from"' in html
        resp, html = await manager.get("/dashboard?from=2027-02&to=2027-01")
        assert resp.status == 400 and "Til måned: må ikke ligge før fra-måneden" in html
        resp, text = await manager.get("/dashboard.csv?to=januar")
        assert resp.status == 400 and "Til måned" in text


async def test_dashboard_csv_for_excel(demo_config: MunicipalityConfig,
                                       sqlite_url: str) -> None:
    async for staff in _staff(demo_config, sqlite_url):
        manager = await staff.login("manager")
        resp = await manager.session.get(manager.url("/dashboard.csv?from=2026-11&to=2027-01"))
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert 'filename="noegletal-2026-11-2027-01.csv"' in resp.headers["Content-Disposition"]
        raw = await resp.read()
        assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
        header, nov, dec, jan = rows
        assert header[0] == "Måned" and "Andel på arbejdspladsen (%)" in header
        assert "Milepæl: andel på arbejdspladsen (%)" in header
        figures = [dict(zip(header, row, strict=True)) for row in (nov, dec, jan)]
        assert [f["Måned"] for f in figures] == ["2026-11", "2026-12", "2027-01"]
        assert figures[0]["Nye målgruppesager"] == "2"
        assert figures[1]["Første samtaler holdt"] == "1"
        assert figures[1]["Andel på arbejdspladsen (%)"] == "100"
        assert figures[1]["Milepæl: andel på arbejdspladsen (%)"] == "39"
        assert figures[1]["Dage til første samtale (median)"] == "42"
        assert figures[0]["Andel på arbejdspladsen (%)"] == ""  # nothing to divide
        assert figures[0]["Milepæl: andel på arbejdspladsen (%)"] == ""
        # December's and January's cases may still reach intake (November's have all).
        assert [f["Sager kan stadig overdrages"] for f in figures] == ["nej", "ja", "ja"]


async def test_months_whose_cases_still_arrive_are_marked(demo_config: MunicipalityConfig,
                                                          sqlite_url: str) -> None:
    """A case reaches intake up to absence week 7, so the figures counted by the month of
    the first absence day still grow for the latest months: on 20 January December's count
    (its cases' week 7 ends up to 17 February) is in italics and explained, November's
    (ended 17 January) is not; figures counted by the meeting's month are not marked."""
    async for staff in _staff(demo_config, sqlite_url):
        manager = await staff.login("manager")
        resp, html = await manager.get("/dashboard?from=2026-10&to=2027-01")
        assert resp.status == 200, html
        note = "tallet vokser endnu"
        for key in ("target_cases", "handed_over_known", "handed_over_late"):
            row = re.search(rf'<tr id="tal-{key}">(.*?)</tr>', html, flags=re.S)
            assert row is not None
            assert re.findall(r'<td class="([a-z]*)"', row.group(1)) == \
                ["", "", "arriving", "running"], key
            assert note in row.group(1) and "fraværsuge 7" in row.group(1)
        row = re.search(r'<tr id="tal-first_meetings">(.*?)</tr>', html, flags=re.S)
        assert row is not None and note not in row.group(1)
        assert "arriving" not in row.group(1)
        # Once every month shown is complete, nothing is marked.
        resp, html = await manager.get("/dashboard?from=2026-10&to=2026-11")
        assert resp.status == 200 and note not in html and 'class="arriving"' not in html


def test_a_running_month_is_drawn_open_and_starred() -> None:
    months = [date(2026, 12, 1), date(2027, 1, 1)]
    for width in (WIDTH, PHONE_WIDTH):
        line = line_chart("Andel", months, [Series("Andel", [0.5, 0.25], BLUE)],
                          Axis("Andel", 1.0, percent=True), width=width, running=1)
        assert line.count('class="running"') == 1 and 'fill="#fff"' in line
        assert "jan. 2027*" in line and "Måned (* ikke slut endnu)" in line
        bars = bar_chart("Antal", months, [Series("Antal", [3, 1], BLUE)], Axis("Antal", 5),
                         width=width, running=1)
        assert bars.count('class="running"') == 1 and 'fill-opacity="0.45"' in bars
        assert f'viewBox="0 0 {width} ' in line and f'viewBox="0 0 {width} ' in bars


def test_a_narrow_legend_wraps_onto_rows_and_moves_the_plot_down() -> None:
    series = [Series(label, [0.5], BLUE) for label in
              ("Andel på arbejdspladsen", "Milepæl", "Mål 70 %")]
    wide = line_chart("Andel", [date(2027, 1, 1)], series, Axis("A", 1.0), width=WIDTH)
    narrow = line_chart("Andel", [date(2027, 1, 1)], series, Axis("A", 1.0),
                        width=PHONE_WIDTH)
    assert 'viewBox="0 0 640 300"' in wide and 'viewBox="0 0 360 320"' in narrow
    xs = [float(x) for x in re.findall(r'<text x="([0-9.]+)" y="[0-9.]+" font-size="13" '
                                       r'fill="#1b1b1b">', narrow)]
    assert xs and max(xs) < PHONE_WIDTH - 60


async def test_follow_ups_over_time_are_listed(demo_config: MunicipalityConfig,
                                               sqlite_url: str) -> None:
    """A follow-up whose due day has passed is listed for the manager — with the meeting
    planned for it, which comes too late to make it on time — in the page, its audit entry
    and GET /api/kpis; one due today is not over time yet."""
    async for staff in _staff(demo_config, sqlite_url):
        async with staff.api.client.app[DB].write() as session:
            held = (await session.execute(select(Case).where(Case.case_ref == "held-1"))
                    ).unique().scalar_one()
            held.next_follow_up_due = TODAY - timedelta(days=9)
            start = datetime.combine(TODAY + timedelta(days=5), time(10, 0))
            session.add(Meeting(municipality_id="demo", case_id=held.id,
                                consultant_id=held.owner_id, kind="workplace_meeting",
                                start=start, end=start + timedelta(hours=1),
                                status="confirmed", purpose="follow_up"))  # (planning keeps it)
            risky = (await session.execute(select(Case).where(Case.case_ref == "risky-1"))
                     ).unique().scalar_one()
            risky.next_follow_up_due = TODAY
        manager = await staff.login("manager")
        resp, html = await manager.get("/dashboard")
        assert resp.status == 200, html
        tile = html[html.index('id="tile-overdue"'):]
        assert '<div class="value">1</div>' in tile[:300]
        listed = html[html.index('id="opfoelgning"'):]
        listed = listed[:listed.index("</section>")]
        assert re.findall(r'href="/cases/([^"]+)"', listed) == ["held-1"]
        assert "9 dage" in listed and "møde på arbejdspladsen (bekræftet)" in listed
        assert "mandag den 25. januar 2027 kl. 10.00" in listed
        async with staff.api.client.app[DB].read() as session:
            entries = (await session.execute(select(AuditEntry).where(
                AuditEntry.action == "case.list"))).scalars().all()
        assert any(e.details.get("overdue_follow_ups") == ["held-1"] for e in entries)
        resp = await staff.api.client.get("/api/kpis", headers=staff.api.auth("manager"))
        report = await resp.json()
        assert resp.status == 200, report
        assert [(c["case_id"], c["days_over"], c["meeting_start"], c["meeting_status"])
                for c in report["overdue_follow_ups"]] == [
            ("held-1", 9, "2027-01-25T10:00", "confirmed")]
        assert report["overdue_follow_ups_explanation"]


async def _more(staff: Staff) -> None:
    """Besides `_data`: an excluded case first met in December at the jobcentre (the model's
    December: 1 of 2 at the workplace, the target group's 1 of 1); a target case first met on
    10 January at the jobcentre (the running month has a figure below its milestone); a
    target and an excluded case whose week 13 ended on 9 December, the target one with a work
    trial (the model's 1 of 2, the target group's 1 of 1); a case missing facts."""
    async with staff.api.client.app[DB].write() as session:
        anna = (await session.execute(select(Consultant.id).where(Consultant.key == "anna"))
                ).scalar_one()
        for ref, absence, status, held in (
                ("ex-1", date(2026, 11, 5), "excluded", datetime(2026, 12, 16, 9, 0)),
                ("jan-1", date(2026, 12, 1), "target", datetime(2027, 1, 10, 9, 0)),
                ("w13-t", date(2026, 9, 10), "target", None),
                ("w13-x", date(2026, 9, 10), "excluded", None),
                ("inc-1", date(2026, 12, 2), "incomplete", None)):
            case = Case(municipality_id="demo", case_ref=ref,
                        facts={"case_id": ref, "first_absence_day": absence.isoformat()},
                        as_of=absence, status=status, follow_up="workplace_meeting",
                        first_meeting_deadline=absence + timedelta(days=55),
                        intervention_deadline=absence + timedelta(days=90),
                        owner_id=anna if status == "target" else None)
            session.add(case)
            await session.flush()
            if held is not None:
                session.add(Meeting(municipality_id="demo", case_id=case.id,
                                    consultant_id=anna, kind="jobcenter_meeting",
                                    start=held, end=held + timedelta(hours=1), status="held",
                                    place="jobcentre", employer_took_part=False))
            if ref == "w13-t":
                case.intervention_started_on = date(2026, 11, 1)
                session.add(Intervention(municipality_id="demo", case_id=case.id,
                                         kind="work_trial", started_on=date(2026, 11, 1),
                                         registered_by="test"))


def _chart(html: str, title: str, width: int) -> str:
    found = re.search(rf'<svg [^>]*viewBox="0 0 {width} [^"]*"[^>]*>\s*<title[^>]*>'
                      rf'{re.escape(title)}</title>.*?</svg>', html, flags=re.S)
    assert found is not None, title
    return found.group(0)


async def test_the_charts_plot_the_models_figure_against_the_milestone(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """The two headline charts draw the model's figure (the headline, measured against the
    milestone) as the main line and the target group's beside it, both named in the legend
    and the text alternative, on the desktop and the phone."""
    async for staff in _staff(demo_config, sqlite_url):
        await _more(staff)
        manager = await staff.login("manager")
        resp, html = await manager.get("/dashboard?from=2026-11&to=2027-01")
        assert resp.status == 200, html
        for width in (WIDTH, PHONE_WIDTH):
            workplace = _chart(html, "Andel første samtaler på arbejdspladsen – modellens "
                                     "tal mod milepælen", width)
            assert "<title>Modellens tal, dec. 2026: 50 %</title>" in workplace
            assert "<title>Kun målgruppen, dec. 2026: 100 %</title>" in workplace
            desc = re.search(r"<desc[^>]*>(.*?)</desc>", workplace, flags=re.S)
            assert desc is not None
            assert desc.group(1).startswith("Hovedtallet er modellens tal")
            # (November: w13-x, excluded and never met, counts as not at the workplace in
            # the month its week 8 ended.)
            assert "Modellens tal: nov. 2026: 0 %, dec. 2026: 50 %" in desc.group(1)
            assert "Kun målgruppen: nov. 2026: –, dec. 2026: 100 %" in desc.group(1)
            for label in ("Modellens tal", "Kun målgruppen", "Milepæl", "Mål 70 %"):
                assert f">{label}</text>" in workplace, label  # the legend
            # The target group's line is told apart by its dashes, not its colour only.
            assert 'stroke-dasharray="10 4 2 4"' in workplace
            week13 = _chart(html, "Andel med virksomhedsrettet indsats inden udgangen af uge "
                                  "13 – modellens tal mod milepælen", width)
            assert "<title>Modellens tal, dec. 2026: 50 %</title>" in week13
            assert "<title>Kun målgruppen, dec. 2026: 100 %</title>" in week13
            assert "Hovedtallet er modellens tal" in week13
            # The days chart names the last day of week 8 as the table does.
            days = _chart(html, "Dage fra første fraværsdag til første samtale (median)",
                          width)
            assert ">Uge 8 slut (første fraværsdag + 55)</text>" in days
        assert "første fraværsdag + 55 dage (den sidste dag i uge 8)" in html
        assert "dag 56" not in html and "dag 55" not in html


async def test_headline_tiles_of_a_running_month_are_not_judged(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """With only the running month chosen, the tiles show it as running and judge nothing;
    every tile has its line of explanation; the week-8 figure over the cases whose week 8
    ended is shown apart from the share of the month's first meetings."""
    async for staff in _staff(demo_config, sqlite_url):
        await _more(staff)
        manager = await staff.login("manager")
        resp, html = await manager.get("/dashboard?from=2027-01&to=2027-01")
        assert resp.status == 200, html
        heading = re.search(r'<h2 id="tiles-month">(.*?)</h2>', html, flags=re.S)
        assert heading is not None
        assert re.sub(r"<[^>]+>", "", heading.group(1)) == \
            "jan. 2027 (løbende måned, ikke afsluttet)"
        tiles = html[html.index('<div class="kpi-tiles">'):html.index('id="incomplete"')]
        # January's one first meeting was at the jobcentre: 0 % against 39 %, not judged.
        workplace = tiles[tiles.index('id="tile-workplace_share"'):]
        workplace = workplace[:workplace.index('id="tile-', 10)]
        assert '<div class="value">0 %</div>' in workplace
        assert "milepæl 39 % · ikke bedømt: måneden er ikke slut" in workplace
        assert "· nået" not in tiles and "· ikke nået" not in tiles
        assert "kpi-tile ok" not in tiles
        assert 'class="kpi-tile" id="tile-workplace_share"' in tiles  # not marked below
        # A month not begun: said so.
        resp, html = await manager.get("/dashboard?from=2027-03&to=2027-03")
        assert resp.status == 200
        assert "(kommende måned, ingen tal endnu)" in html
        # The whole range: December is the latest ended month, judged.
        resp, html = await manager.get("/dashboard?from=2026-11&to=2027-01")
        assert "dec. 2026 <span class=\"muted\">(seneste hele måned)</span>" in html
        tiles = html[html.index('<div class="kpi-tiles">'):html.index('id="incomplete"')]
        for key in ("model_workplace_share", "workplace_share", "before_week8_share",
                    "week8_met_share", "model_intervention_share", "intervention_share",
                    "employer_share"):
            tile = tiles[tiles.index(f'id="tile-{key}"'):]
            tile = tile[:tile.index("</div>\n  </div>") if "</div>\n  </div>" in tile
                        else len(tile)]
            assert 'class="muted explain"' in tile, key
        assert "Af de første samtaler holdt i måneden: holdt senest" in tiles
        assert "Sager, der ikke har fået en samtale, er ikke med." in tiles
        assert "Uge 8 nået – af sager, hvis uge 8 sluttede" in tiles
        assert "Sager, der aldrig fik en samtale, tæller med som ikke nået." in tiles
        assert "Af de første samtaler holdt i måneden: arbejdsgiveren deltog." in tiles
        # December: held-1's week 8 ended 27 December, met (day 42) — 100 % of 1.
        week8 = tiles[tiles.index('id="tile-week8_met_share"'):]
        assert '<div class="value">100 %</div>' in week8[:400]
        row = re.search(r'<tr id="tal-week8_met_share">(.*?)</tr>', html, flags=re.S)
        assert row is not None and "også dem, der aldrig fik en samtale" in row.group(1)


async def test_cases_missing_facts_are_counted_and_linked(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    async for staff in _staff(demo_config, sqlite_url):
        manager = await staff.login("manager")
        resp, html = await manager.get("/dashboard")
        assert "Sager der mangler oplysninger: 0, ikke talt med" in html
        assert "status=incomplete" not in html
        await _more(staff)
        resp, html = await manager.get("/dashboard")
        line = re.search(r'<p class="muted" id="incomplete">(.*?)</p>', html, flags=re.S)
        assert line is not None
        assert "Sager der mangler oplysninger: 1, ikke talt med i nogen af tallene (heraf 1 " \
            "åbne)" in line.group(1)
        link = re.search(r'href="([^"]+)"', line.group(1))
        assert link is not None and link.group(1) == "/cases?status=incomplete&amp;vis=alle"
        resp, listed = await manager.get(link.group(1).replace("&amp;", "&"))
        assert resp.status == 200 and "inc-1" in listed and "held-1" not in listed


async def test_the_csv_says_nothing_of_arrivals_for_months_not_begun(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    async for staff in _staff(demo_config, sqlite_url):
        manager = await staff.login("manager")
        resp, text = await manager.get("/dashboard.csv?from=2027-01&to=2027-03")
        assert resp.status == 200
        rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
        assert [(r["Måned"], r["Sager kan stadig overdrages"]) for r in rows] == [
            ("2027-01", "ja"), ("2027-02", ""), ("2027-03", "")]
        header = text.lstrip("\ufeff").split("\r\n")[0].split(";")
        assert "Andel af sager, hvis uge 8 sluttede, der nåede samtalen (%)" in header


async def test_figures_changed_since_a_month_was_reported_are_named(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """November is final on 2027-01-20 (its cases can no longer reach intake): the
    `report_kpis` job keeps its figures; a November case registered afterwards moves its
    target cases, and the dashboard names the figure with both values."""
    async for staff in _staff(demo_config, sqlite_url):
        app = staff.api.client.app
        assert any(name == REPORT_KPIS for name, _ in app[JOBS]._specs)  # declared
        assert await app[KPI_REPORTS].report_final_months() == 1
        manager = await staff.login("manager")
        _, html = await manager.get("/dashboard?from=2026-11&to=2027-01")
        assert "Ingen tal er ændret i de viste måneder" in html
        async with app[DB].write() as session:
            absence = date(2026, 11, 10)
            session.add(Case(municipality_id="demo", case_ref="late-1", as_of=absence,
                             facts={"case_id": "late-1",
                                    "first_absence_day": absence.isoformat()},
                             status="target", follow_up="workplace_meeting",
                             first_meeting_deadline=absence + timedelta(days=55),
                             intervention_deadline=absence + timedelta(days=90)))
        _, html = await manager.get("/dashboard?from=2026-11&to=2027-01")
        section = html[html.index('id="aendret-siden"'):html.index("Registreringer efter")]
        row = re.search(r"<tr><td[^>]*>nov\. 2026</td><td[^>]*>Nye målgruppesager</td>"
                        r"<td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>", section)
        assert row is not None, section
        assert int(row.group(2)) == int(row.group(1)) + 1
