"""The simulation's output: the monthly table beside the milestones, `months.csv`,
`summary.json`, and two runs side by side."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.simulation.run import MonthRow, SimulationResult

CSV_COLUMNS = (
    "month", "target_cases", "first_meetings", "first_meetings_workplace", "workplace_share",
    "before_week8", "before_week8_share", "late_over_3_weeks", "employer_took_part",
    "employer_share", "week13_ended", "intervention_before_week13", "intervention_share",
    "consultants", "mean_load", "milestone_workplace_share", "milestone_intervention_share",
    # The model's population (the target cases and the excluded ones): the headline figures
    # the milestones are set for, as the dashboard shows them.
    "model_first_meetings", "model_first_meetings_workplace", "model_workplace_share",
    "model_week13_ended", "model_intervention_before_week13", "model_intervention_share",
    # Cases of the month may still reach intake (up to absence week 7): not complete yet.
    "cases_arriving")
HEADERS = ("month", "target", "first mtgs", "at workplace", "model: at wp", "before wk 8",
           "late >3 wk", "employer took part", "interv. <wk 13", "model: interv.",
           "consultants", "mean load", "milestone wp / interv.")
# After a month's label in the table: its cases are still arriving.
ARRIVING = " *"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _part(count: int, share: float | None) -> str:
    return f"{count} ({_pct(share)})"


def _milestones(row: MonthRow) -> str:
    k = row.kpis
    wp, iv = k.target("workplace_share"), k.target("intervention_share")
    if wp is None and iv is None:
        return ""
    return f"{_pct(wp)} / {'–' if iv is None else f'{100 * iv:.1f}%'}"


def table_rows(result: SimulationResult) -> list[tuple[str, ...]]:
    rows = []
    for row in result.months:
        k = row.kpis
        rows.append((
            k.label + (ARRIVING if k.cases_arriving else ""), str(k.target_cases),
            str(k.first_meetings), _part(k.first_meetings_workplace, k.workplace_share),
            _part(k.model_first_meetings_workplace, k.model_workplace_share),
            _part(k.before_week8, k.before_week8_share), str(k.late_over_3_weeks),
            _part(k.employer_took_part, k.employer_share),
            _part(k.intervention_before_week13, k.intervention_share),
            _part(k.model_intervention_before_week13, k.model_intervention_share),
            str(row.consultants), "–" if row.mean_load is None else f"{row.mean_load:.1f}",
            _milestones(row)))
    return rows


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (readable on a terminal and pasted into the README as is)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def totals(result: SimulationResult) -> dict[str, Any]:
    """The whole period's counts, and shares of those sums."""
    rows = [r.kpis for r in result.months]
    s = {key: sum(getattr(k, key) for k in rows) for key in (
        "target_cases", "first_meetings", "first_meetings_workplace", "before_week8",
        "late_over_3_weeks", "employer_took_part", "week13_ended",
        "intervention_before_week13", "model_first_meetings",
        "model_first_meetings_workplace", "model_week13_ended",
        "model_intervention_before_week13")}
    def share(part: str, whole: str) -> float | None:
        return s[part] / s[whole] if s[whole] else None
    return {**s, "workplace_share": share("first_meetings_workplace", "first_meetings"),
            "before_week8_share": share("before_week8", "first_meetings"),
            "employer_share": share("employer_took_part", "first_meetings"),
            "intervention_share": share("intervention_before_week13", "week13_ended"),
            "model_workplace_share": share("model_first_meetings_workplace",
                                           "model_first_meetings"),
            "model_intervention_share": share("model_intervention_before_week13",
                                              "model_week13_ended")}


PLACE_WORDS = {"workplace": "workplace", "jobcentre": "jobcentre", "phone": "telephone"}
OUTCOME_HEADERS = ("first meeting at", "closed cases", "median days of the case")


def outcome_rows(result: SimulationResult) -> list[tuple[str, ...]]:
    """The duration by the place of the first meeting (the model's evaluation question): of
    the months' target cases closed with a held first meeting, the median days from the
    first absence day to the end, per place — the dashboard's figure."""
    durations = result.outcomes.get("durations") or []
    return [(PLACE_WORDS.get(d["place"], d["place"]), str(d["cases"]),
             "–" if d["median_days"] is None else f"{d['median_days']:.0f}")
            for d in durations]


def back_at_work_line(result: SimulationResult) -> str:
    """Back at work by week 13 and 26 (partly / fully), as the dashboard says it."""
    parts = []
    for back in result.outcomes.get("back_at_work") or []:
        parts.append(f"week {back['week']}: {back['cases']} cases, partly back "
                     f"{_pct(back['partly_share'])}, fully {_pct(back['fully_share'])}")
    return "Back at work by " + "; ".join(parts) + "." if parts else ""


def csv_text(result: SimulationResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in result.months:
        k = row.kpis
        values = {key: k.value(key) for key in CSV_COLUMNS if hasattr(k, key)}
        values.update(month=k.label, consultants=row.consultants,
                      cases_arriving=int(k.cases_arriving),
                      mean_load=None if row.mean_load is None else round(row.mean_load, 2),
                      milestone_workplace_share=k.target("workplace_share"),
                      milestone_intervention_share=k.target("intervention_share"))
        writer.writerow(["" if values[c] is None else
                         (round(values[c], 4) if isinstance(values[c], float) else values[c])
                         for c in CSV_COLUMNS])
    return buffer.getvalue()


def summary(result: SimulationResult) -> dict[str, Any]:
    return {"inputs": result.inputs, "totals": totals(result),
            "target_cases_begun_before_the_first_month": result.earlier_target_cases,
            "months": [dict(r.kpis.to_dict(), consultants=r.consultants, mean_load=r.mean_load)
                       for r in result.months],
            "outcomes": result.outcomes,
            "events": result.counters,
            "performance": {"wall_seconds": round(result.wall_seconds, 1),
                            "planning_runs": result.planning_runs,
                            "planning_seconds": round(result.planning_seconds, 1),
                            "use_case_calls": result.use_case_calls,
                            "use_case_seconds": round(result.use_case_seconds, 1),
                            "use_cases": result.use_cases,
                            "job_seconds": result.job_seconds, "job_runs": result.job_runs}}


def write_outputs(result: SimulationResult, out: Path, chart_svg: str) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "months.csv", "summary": out / "summary.json",
             "chart": out / "chart.svg"}
    paths["csv"].write_text(csv_text(result), encoding="utf-8")
    paths["summary"].write_text(json.dumps(summary(result), indent=2, ensure_ascii=False,
                                           default=str) + "\n", encoding="utf-8")
    paths["chart"].write_text(chart_svg, encoding="utf-8")
    return paths


def compare_table(a: SimulationResult, b: SimulationResult) -> str:
    """The KPIs of two runs month by month, each cell "A / B"."""
    headers = ("month", "consultants A / B", "model: at wp A / B", "at workplace A / B",
               "before wk 8 A / B", "late >3 wk A / B", "model: interv. A / B",
               "interv. <wk 13 A / B", "milestone wp")
    def pair(x: float | None, y: float | None) -> str:
        return f"{_pct(x)} / {_pct(y)}"
    rows = []
    for ra, rb in zip(a.months, b.months, strict=True):
        ka, kb = ra.kpis, rb.kpis
        rows.append((ka.label + (ARRIVING if ka.cases_arriving else ""),
                     f"{ra.consultants} / {rb.consultants}",
                     pair(ka.model_workplace_share, kb.model_workplace_share),
                     pair(ka.workplace_share, kb.workplace_share),
                     pair(ka.before_week8_share, kb.before_week8_share),
                     f"{ka.late_over_3_weeks} / {kb.late_over_3_weeks}",
                     pair(ka.model_intervention_share, kb.model_intervention_share),
                     pair(ka.intervention_share, kb.intervention_share),
                     _pct(ka.target("workplace_share"))))
    ta, tb = totals(a), totals(b)
    rows.append(("all", "", pair(ta["model_workplace_share"], tb["model_workplace_share"]),
                 pair(ta["workplace_share"], tb["workplace_share"]),
                 pair(ta["before_week8_share"], tb["before_week8_share"]),
                 f"{ta['late_over_3_weeks']} / {tb['late_over_3_weeks']}",
                 pair(ta["model_intervention_share"], tb["model_intervention_share"]),
                 pair(ta["intervention_share"], tb["intervention_share"]), ""))
    return render_table(headers, rows)
