"""The manager's dashboard (`/dashboard`) and its figures as CSV (`/dashboard.csv`): per month
against the milestones, with charts drawn on the server, consultants' load and cases at risk.
Managers and admins only."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web
from markupsafe import Markup

from service.consultants.choices import OwnerChoice
from service.followup.intervention_kinds import is_workplace_oriented
from service.intake.signals import LATEST_HANDOVER_WEEK
from service.keys import CASE_READS, CLOCK, KPI_REPORTS, KPIS, READ_AUDIT
from service.kpis.api import register_response
from service.kpis.charts import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PHONE_WIDTH,
    RED,
    WIDTH,
    Axis,
    LoadBar,
    Series,
    bar_chart,
    danish_percent,
    line_chart,
    load_chart,
    month_label,
    nice_ticks,
    nice_top,
)
from service.kpis.figures import (
    AT_RISK_EXPLANATION,
    FIGURE_BY_KEY,
    FIGURES,
    LOAD_EXPLANATION,
    OVERDUE_EXPLANATION,
    WORKPLACE_GOAL,
    CaseAtRisk,
    ConsultantLoad,
    MonthKpis,
    OverdueFollowUp,
    next_month,
)
from service.kpis.outcomes import (
    BACK_EXPLANATION,
    DURATION_EXPLANATION,
    OutcomeFigures,
    Outcomes,
)
from service.kpis.report import default_range, month_range, requested_range
from service.platform.db.engine import as_utc
from service.platform.db.models import INTERVENTION_KINDS
from service.platform.errors import Invalid
from service.platform.pages import add_nav, page_principal, render
from service.text.case_words import FOLLOW_UP as FOLLOW_UP_WORDS
from service.text.case_words import MEETING_STATUS, actor_in_words
from service.text.danish import danish_date, danish_number, danish_time, short_day
from service.text.errors import danish_field_errors
from service.text.minutes_words import INTERVENTION_KIND

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The at-risk list's meeting column: the case's active meeting, if any.
AT_RISK_MEETING = {"proposed": "foreslået, ikke bekræftet",
                   "confirmed": "bekræftet efter fristen"}
# What a correction changed, in words (`kpi.correction`'s `what`).
CORRECTION_WHAT = {"meeting_held": "Samtale registreret som holdt",
                   "intervention": "Virksomhedsrettet indsats registreret"}
ROLES = ("manager",)  # and admin, who may open every page
# The dashboard page itself also for intake: its list of cases without an owner is theirs to
# act on (the figures' CSV stays the managers').
PAGE_ROLES = ("manager", "intake")
UNASSIGNED_EXPLANATION = (
    "Sager, som planlægningen ikke kunne give en konsulent, med planlæggerens begrundelse. "
    "Vælg en konsulent med ledig plads; det gemmes som et manuelt valg af ejer.")
# Danish words for the query fields in messages.
FIELD_NAMES = {"from": "Fra måned", "to": "Til måned"}


def _value_text(kind: str, value: float | None) -> str:
    if value is None:
        return "–"
    if kind == "share":
        return danish_percent(value)
    return danish_number(value)


def _cell(month: MonthKpis, key: str, kind: str, running: bool = False,
          arriving: bool = False) -> dict[str, Any]:
    """A figure of a month; in a month still running it is not judged against its milestone
    (`met` None): its shares are not comparable yet. `arriving`: a figure counted by first
    absence day in a month whose cases still reach intake (it still grows)."""
    value = month.value(key)
    target = month.target(key)
    met = None if value is None or target is None or running else value >= target
    return {"text": _value_text(kind, value), "target": danish_percent(target)
            if target is not None else None, "met": met, "running": running,
            "arriving": arriving}


# The headline tiles: the model's 70 % figure first, the target group's beside it, each
# explained in one line.
HEADLINE = (
    ("model_workplace_share", "På arbejdspladsen – modellens tal",
     "Af alle sygedagpengemodtagere fra beskæftigelse i kategori 2 og 3, også de udelukkede "
     "(de tæller som ikke på arbejdspladsen, medmindre mødet blev holdt der)."),
    ("workplace_share", "På arbejdspladsen – kun målgruppen",
     "Af målgruppens første samtaler (uden de udelukkede sager)."),
    ("before_week8_share", "Første samtaler holdt inden uge 8",
     "Af de første samtaler holdt i måneden: holdt senest første fraværsdag + 55 dage. "
     "Sager, der ikke har fået en samtale, er ikke med."),
    ("week8_met_share", "Uge 8 nået – af sager, hvis uge 8 sluttede",
     "Af målgruppens sager, hvis uge 8 sluttede i måneden: med en afholdt første samtale "
     "inden da. Sager, der aldrig fik en samtale, tæller med som ikke nået."),
    ("model_intervention_share", "Indsats inden uge 13 – modellens tal",
     "Som landstallet: alle sygedagpengemodtagere fra beskæftigelse i kategori 2 og 3, også "
     "de udelukkede; milepælen er landstallet + 10 procentpoint. Uddannelse eller "
     "opkvalificering tæller ikke som virksomhedsrettet."),
    ("intervention_share", "Indsats inden uge 13 – kun målgruppen",
     "Af målgruppens sager, hvis uge 13 sluttede i måneden (uden de udelukkede)."),
    ("employer_share", "Arbejdsgiver deltog",
     "Af de første samtaler holdt i måneden: arbejdsgiveren deltog. Ingen milepæl."),
)
# Which month the tiles show, in words after its name.
LATEST_WORDS = {"ended": "seneste hele måned", "running": "løbende måned, ikke afsluttet",
                "future": "kommende måned, ingen tal endnu"}
RUNNING_TILE = "ikke bedømt: måneden er ikke slut"
# Cases with status `incomplete` are in no figure; the case list filtered to them.
INCOMPLETE_LINK = "/cases?status=incomplete&vis=alle"
# The rows counted by first absence day, under their explanation when a month still grows.
ARRIVING_NOTE = (f"I kursiv: de seneste måneder, hvis sager stadig kan blive overdraget (til "
                 f"og med fraværsuge {LATEST_HANDOVER_WEEK}) – tallet vokser endnu.")
PLACE_WORDS = {"workplace": "På arbejdspladsen", "jobcentre": "I jobcentret",
               "phone": "Telefonisk"}


def _outcomes(outcomes: Outcomes, per_consultant: bool) -> dict[str, Any]:
    """The outcome figures in words for the page (per consultant for managers only)."""
    def back(figures: OutcomeFigures) -> list[dict[str, Any]]:
        return [{"week": b.week, "cases": b.cases, "partly": danish_percent(b.partly_share),
                 "fully": danish_percent(b.fully_share), "back": danish_percent(b.back_share)}
                for b in figures.back]

    def durations(figures: OutcomeFigures) -> list[dict[str, Any]]:
        return [{"place": d.place, "label": PLACE_WORDS[d.place], "cases": d.cases,
                 "median": _value_text("days", d.median_days)} for d in figures.durations]

    return {"durations": durations(outcomes.all), "back": back(outcomes.all),
            "duration_explanation": DURATION_EXPLANATION, "back_explanation": BACK_EXPLANATION,
            "consultants": [{"key": c.consultant_id, "name": c.name,
                             "durations": durations(c.figures), "back": back(c.figures)}
                            for c in outcomes.consultants] if per_consultant else None}


def figures_table(months: list[MonthKpis], running: int | None = None
                  ) -> list[dict[str, Any]]:
    """One row per figure: its label, explanation and a cell per month."""
    rows = []
    for f in FIGURES:
        cells = [_cell(m, f.key, f.kind, i == running,
                       f.by_first_absence and m.cases_arriving and i != running)
                 for i, m in enumerate(months)]
        rows.append({"label": f.label, "explanation": f.explanation, "key": f.key,
                     "cells": cells, "arriving": any(c["arriving"] for c in cells)})
    return rows


def _shares(months: list[MonthKpis], key: str) -> list[float | None]:
    return [m.value(key) for m in months]


def _in_time(months: list[MonthKpis]) -> list[float | None]:
    """The month's target cases with a hand-over date handed over by the end of week 7."""
    return [None if m.future else float(m.handed_over_known - m.handed_over_late)
            for m in months]


def _milestones(months: list[MonthKpis], key: str) -> list[float | None]:
    return [m.target(key) for m in months]


def running_index(months: list[MonthKpis], today: date) -> int | None:
    """The index of the month still under way (begun, not ended), if it is shown."""
    return next((i for i, m in enumerate(months)
                 if not m.future and next_month(m.month) > today), None)


# The two headline charts: the model's figure is the main line, measured against the
# milestone; the target group's beside it (its own line style, not only its colour).
MODEL_LINE = "Modellens tal"
TARGET_LINE = "Kun målgruppen"
WORKPLACE_SUMMARY = (
    "Hovedtallet er modellens tal: første samtaler på arbejdspladsen af alle første samtaler "
    "for sygedagpengemodtagere fra beskæftigelse i kategori 2 og 3, også de udelukkede; det "
    "måles mod milepælen og målet om 70 %. Kun målgruppen (uden de udelukkede) vises ved "
    "siden af til sammenligning.")
INTERVENTION_SUMMARY = (
    "Hovedtallet er modellens tal: sager med en virksomhedsrettet indsats (ikke uddannelse "
    "eller opkvalificering) startet senest ved udgangen af uge 13, af alle sager i kategori 2 "
    "og 3 fra beskæftigelse, også de udelukkede, hvis uge 13 sluttede i måneden; det måles "
    "mod milepælen (landstallet + 10 procentpoint). Kun målgruppen vises ved siden af til "
    "sammenligning.")
# The last day of week 8 in the days chart's words; the table says "første fraværsdag + 55
# dage (den sidste dag i uge 8)", README "first absence day + 55".
WEEK8_WORDS = "første fraværsdag + 55"


def _against_milestone(months: list[MonthKpis], model: str, target_group: str
                       ) -> list[Series]:
    """A headline chart's lines: the model's figure against its milestone, the target
    group's beside it."""
    return [Series(MODEL_LINE, _shares(months, model), BLUE),
            Series(TARGET_LINE, _shares(months, target_group), GREEN, "dashdot"),
            Series("Milepæl", _milestones(months, model), ORANGE, "dashed", step=True)]


def charts(months: list[MonthKpis], loads: list[ConsultantLoad], width: int = WIDTH,
           running: int | None = None, week8_days: int = 55) -> list[dict[str, Any]]:
    """The dashboard's charts drawn `width` wide, each with a heading; `running`: the index
    of the month still under way (marked: its shares are not comparable yet); `week8_days`:
    days from the first absence day to the last day of week 8 (the days chart's line)."""
    labels = [m.month for m in months]
    drawn: dict[str, Any] = {"width": width, "running": running}
    share = Axis("Andel", 1.0, percent=True)
    most = max([m.first_meetings for m in months] + [1])
    counts = Axis("Første samtaler", nice_top(most), nice_ticks(nice_top(most)))
    days = [m.median_days_to_first_meeting for m in months]
    day_top = nice_top(max([d or 0 for d in days] + [60]))
    day_axis = Axis("Dage", day_top, nice_ticks(day_top))
    week8 = [float(week8_days)] * len(months)
    most_known = max([m.handed_over_known for m in months] + [1])
    handed = Axis("Sager", nice_top(most_known), nice_ticks(nice_top(most_known)))
    return [
        {"title": "Første samtaler på arbejdspladsen",
         "svg": line_chart("Andel første samtaler på arbejdspladsen – modellens tal mod "
                           "milepælen", labels, [
             *_against_milestone(months, "model_workplace_share", "workplace_share"),
             Series("Mål 70 %", [WORKPLACE_GOAL] * len(months), GREY, "dotted", step=True),
         ], share, summary=WORKPLACE_SUMMARY, **drawn)},
        {"title": "Første samtaler efter sted",
         "svg": bar_chart("Første samtaler pr. måned efter sted", labels, [
             Series("Arbejdspladsen", _shares(months, "first_meetings_workplace"), BLUE),
             Series("Jobcentret", _shares(months, "first_meetings_jobcentre"), ORANGE),
             Series("Telefonisk", _shares(months, "first_meetings_phone"), GREY),
         ], counts, **drawn)},
        {"title": "Første samtale inden udgangen af uge 8",
         "svg": line_chart("Andel første samtaler inden udgangen af uge 8", labels, [
             Series("Inden uge 8", _shares(months, "before_week8_share"), GREEN),
             Series("Over 3 uger for sent", _shares(months, "late_over_3_weeks_share"), RED),
             Series("Milepæl", _milestones(months, "before_week8_share"), ORANGE, "dashed",
                    step=True),
         ], share, **drawn)},
        {"title": "Virksomhedsrettet indsats inden uge 13",
         "svg": line_chart("Andel med virksomhedsrettet indsats inden udgangen af uge 13 – "
                           "modellens tal mod milepælen", labels, [
             *_against_milestone(months, "model_intervention_share", "intervention_share"),
         ], share, summary=INTERVENTION_SUMMARY, **drawn)},
        {"title": "Arbejdsgiveren deltog",
         "svg": line_chart("Andel første samtaler, hvor arbejdsgiveren deltog", labels, [
             Series("Arbejdsgiver deltog", _shares(months, "employer_share"), GREEN),
         ], share, **drawn)},
        {"title": "Dage fra første fraværsdag til første samtale",
         "svg": bar_chart("Dage fra første fraværsdag til første samtale (median)", labels, [
             Series("Median, dage", days, BLUE),
         ], day_axis, reference=Series(f"Uge 8 slut ({WEEK8_WORDS})", week8, RED, "dashed"),
             **drawn)},
        {"title": "Overdraget efter uge 7",
         "svg": bar_chart("Målgruppesager pr. måned efter overdragelse fra ydelseskontoret",
                          labels, [
             Series("Overdraget senest i uge 7", _in_time(months), GREEN),
             Series("Overdraget efter uge 7", _shares(months, "handed_over_late"), RED),
         ], handed, **drawn)},
        {"title": "Konsulenternes sager mod kapacitet",
         "svg": load_chart("Åbne sager pr. konsulent mod kapacitet", [
             LoadBar(load.name, load.open_cases, load.capacity) for load in loads], width)},
    ]


def _days_left(case: CaseAtRisk) -> str:
    if case.days_left < 0:
        return f"overskredet med {-case.days_left} {'dag' if case.days_left == -1 else 'dage'}"
    if case.days_left == 0:
        return "i dag"
    return f"om {case.days_left} {'dag' if case.days_left == 1 else 'dage'}"


def _overdue_row(case: OverdueFollowUp) -> dict[str, str]:
    """A follow-up over time in the dashboard's words (the kinds' and statuses' words are
    `service.text.case_words`', as the case pages say them)."""
    meeting = (f"{danish_date(case.meeting_start.date())} kl. "
               f"{danish_time(case.meeting_start)} " if case.meeting_start else "")
    return {"case_id": case.case_id, "consultant": case.consultant_name or "ingen ejer",
            "due": danish_date(case.due), "kind": FOLLOW_UP_WORDS.get(case.kind or "", "").lower(),
            "over": f"{case.days_over} {'dag' if case.days_over == 1 else 'dage'}",
            "meeting": f"{meeting}{FOLLOW_UP_WORDS.get(case.meeting_kind or '', '').lower()} "
                       f"({MEETING_STATUS.get(case.meeting_status or '', '').lower()})"
            if case.meeting_start else "intet planlagt"}


def _errors(exc: Invalid) -> dict[str, str]:
    return danish_field_errors(exc.errors, FIELD_NAMES)


def _owner_choices(choices: list[OwnerChoice]) -> list[dict[str, Any]]:
    """A case's eligible owners (`service.consultants.choices`, as the case page and Slack
    offer them), the most free room first (the first is chosen)."""
    ranked = sorted(choices, key=lambda c: (-(c.capacity - c.cases), c.name))
    return [{"key": c.key, "label": f"{c.name} ({c.cases}/{c.capacity}, team {c.team})",
             "full": c.full} for c in ranked]


async def dashboard(request: web.Request) -> web.Response:
    principal = await page_principal(request, *PAGE_ROLES)
    today = request.app[CLOCK].today()
    errors: dict[str, str] = {}
    kpis = request.app[KPIS]
    default = default_range(today, await kpis.first_month(), kpis.config.milestones)
    try:
        first, last = month_range(request.query, default)
    except Invalid as exc:
        errors = _errors(exc)
        first, last = default
    months = await kpis.monthly(first, last)
    loads, risky = await kpis.load(), await kpis.at_risk()
    overdue = await kpis.overdue_follow_ups()
    unassigned = await kpis.unassigned()
    # The lists name cases: a read of them, in the audit log like any case list.
    await request.app[READ_AUDIT].record(principal, kpis.municipality, "case.list", None, {
        "page": "dashboard", "at_risk": [c.case_id for c in risky],
        "overdue_follow_ups": [c.case_id for c in overdue],
        "unassigned": [c.case_id for c in unassigned]})
    # The headline: the last month that has ended. Without one among the months shown, the
    # first month — said to be running (or not begun) and not judged against the milestone.
    running = running_index(months, today)
    latest = next((m for m in reversed(months) if next_month(m.month) <= today),
                  months[0])
    state = ("ended" if next_month(latest.month) <= today
             else "future" if latest.future else "running")
    wide = charts(months, loads, WIDTH, running, kpis.week8_days)
    narrow = charts(months, loads, PHONE_WIDTH, running, kpis.week8_days)
    incomplete, incomplete_open = await kpis.incomplete()
    return render(
        request, "kpis/dashboard.html", status=400 if errors else 200, errors=errors,
        register=principal.role in ("manager", "admin"),
        first=f"{first:%Y-%m}", last=f"{last:%Y-%m}",
        period=f"{month_label(first)} – {month_label(last)}",
        months=[{"label": month_label(m.month),
                 "note": "kommende" if m.future else "i gang" if i == running else ""}
                for i, m in enumerate(months)],
        running=month_label(months[running].month) if running is not None else None,
        table=figures_table(months, running),
        charts=[{"title": w["title"], "svg": Markup(w["svg"]), "phone": Markup(n["svg"])}
                for w, n in zip(wide, narrow, strict=True)],
        latest=latest, latest_label=month_label(latest.month),
        latest_words=LATEST_WORDS[state], latest_state=state, running_tile=RUNNING_TILE,
        incomplete=incomplete, incomplete_open=incomplete_open,
        incomplete_link=INCOMPLETE_LINK,
        headline=[_cell(latest, key, "share", running=state != "ended") | {
            "label": label, "key": key, "explain": explain,
            "benchmark": danish_percent(latest.benchmark_intervention_share)
            if "intervention" in key and latest.benchmark_intervention_share is not None
            else None} for key, label, explain in HEADLINE],
        outcomes=_outcomes(await kpis.outcomes(first, last),
                           per_consultant=principal.role in ("manager", "admin")),
        loads=[{"name": load.name, "key": load.consultant_id, "team": load.team,

                "open": load.open_cases,
                "capacity": load.capacity, "share": danish_percent(load.share),
                "over": load.open_cases > load.capacity} for load in loads],
        load_explanation=LOAD_EXPLANATION,
        at_risk=[{"case_id": c.case_id, "consultant": c.consultant_name or "ingen ejer",
                  "deadline": danish_date(c.deadline), "days_left": _days_left(c),
                  "past": c.days_left < 0,
                  "meeting": AT_RISK_MEETING.get(c.meeting or "", "ingen")}
                 for c in risky],
        at_risk_explanation=AT_RISK_EXPLANATION, arriving_note=ARRIVING_NOTE,
        overdue=[_overdue_row(c) for c in overdue], overdue_explanation=OVERDUE_EXPLANATION,
        unassigned=[{"case_id": c.case_id, "deadline": danish_date(c.deadline),
                     "reason": c.reason, "owner_choices": _owner_choices(
                         await request.app[CASE_READS].owner_choices(c.case_id))}
                    for c in unassigned],
        unassigned_explanation=UNASSIGNED_EXPLANATION,
        kinds_table=[{"key": kind, "label": INTERVENTION_KIND[kind],
                      "counted": is_workplace_oriented(kind),
                      "counts": ["–" if m.future else m.intervention_kinds.get(kind, 0)
                                 for m in months]} for kind in INTERVENTION_KINDS],
        reported_changes=[{
            "month": month_label(c.month), "label": c.label,
            "reported": _value_text(FIGURE_BY_KEY[c.key].kind, c.reported),
            "now": _value_text(FIGURE_BY_KEY[c.key].kind, c.now),
            "reported_on": short_day(c.reported_at.astimezone(request.app[CLOCK].tz))}
            for c in await request.app[KPI_REPORTS].changes(months)],
        corrections=[{**c, "what": CORRECTION_WHAT.get(c["what"], c["what"]),
                      "day": short_day(c["day"]) if c["day"] else "–",
                      "at": short_day(as_utc(c["at"]).astimezone(request.app[CLOCK].tz)),
                      "actor": actor_in_words(c["actor"])}
                     for c in await kpis.corrections()])


def _csv_value(kind: str, value: float | None) -> str:
    """Danish Excel: decimal comma; shares as percentages; nothing for no value."""
    if value is None:
        return ""
    if kind == "share":
        value = round(value * 100, 1)
    return f"{value:g}".replace(".", ",") if isinstance(value, float) else str(value)


MILESTONE_COLUMNS = (("workplace_share", "Milepæl: andel på arbejdspladsen (%)"),
                     ("before_week8_share", "Milepæl: andel inden uge 8 (%)"),
                     ("intervention_share", "Milepæl: andel med indsats inden uge 13 (%)"))


# Whether the month's figures counted by first absence day still grow (`ARRIVING_NOTE`).
ARRIVING_COLUMN = "Sager kan stadig overdrages"


def _arriving_csv(month: MonthKpis) -> str:
    """'ja' while the month's cases may still reach intake (the month running or its cases'
    week 7 not over), 'nej' once they all have; empty for a month not begun (no figures)."""
    if month.future:
        return ""
    return "ja" if month.cases_arriving else "nej"


def csv_text(months: list[MonthKpis]) -> str:
    """The figures per month, `;`-separated with Danish headers (shares in %)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Måned"] + [f.label + (" (%)" if f.kind == "share" else "")
                                 for f in FIGURES] + [label for _, label in MILESTONE_COLUMNS]
                    + [ARRIVING_COLUMN])
    for month in months:
        writer.writerow([month.label]
                        + [_csv_value(f.kind, month.value(f.key)) for f in FIGURES]
                        + [_csv_value("share", month.target(key))
                           for key, _ in MILESTONE_COLUMNS]
                        + [_arriving_csv(month)])
    return out.getvalue()


async def dashboard_csv(request: web.Request) -> web.Response:
    await page_principal(request, *ROLES)
    try:
        first, last = await requested_range(request.app[KPIS], request.query,
                                            request.app[CLOCK].today())
    except Invalid as exc:
        text = "; ".join(_errors(exc).values())
        return web.Response(status=400, text=text, content_type="text/plain",
                            charset="utf-8")
    months = await request.app[KPIS].monthly(first, last)
    body = "\ufeff" + csv_text(months)  # the byte order mark tells Excel it is UTF-8
    name = f"noegletal-{first:%Y-%m}-{last:%Y-%m}.csv"
    return web.Response(body=body.encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store"})


async def register_download(request: web.Request) -> web.Response:
    """"Hent registeret" on the dashboard: the register of its months, for a logged-in
    manager (the API's `/api/register.csv` takes an API key)."""
    principal = await page_principal(request, "manager")
    try:
        return await register_response(request, principal)
    except Invalid as exc:
        text = "; ".join(_errors(exc).values())
        return web.Response(status=400, text=text, content_type="text/plain",
                            charset="utf-8")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/dashboard", dashboard, name="dashboard")
    app.router.add_get("/dashboard.csv", dashboard_csv, name="dashboard_csv")
    app.router.add_get("/dashboard/register.csv", register_download, name="register_download")
    add_nav(app, "Nøgletal", "/dashboard", PAGE_ROLES, order=60)
