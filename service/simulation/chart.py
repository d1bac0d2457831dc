"""The simulation's chart: the KPI shares month by month against the milestones, drawn by the
dashboard's own chart code (`service.kpis.charts`), as a standalone SVG file."""

from __future__ import annotations

from service.kpis.charts import BLUE, GREEN, ORANGE, Axis, Series, line_chart
from service.simulation.run import SimulationResult


def chart_svg(result: SimulationResult, title: str) -> str:
    """The model's figures the milestones are set for — first meetings at the workplace, and
    interventions before week 13, of the model's population (the excluded cases too) —
    against the milestones as dashed steps, and the target group's first meetings before
    the end of week 8."""
    kpis = [r.kpis for r in result.months]
    series = [
        Series("Arbejdspladsen (modellen)", [k.model_workplace_share for k in kpis], BLUE),
        Series("milepæl", [k.target("workplace_share") for k in kpis], BLUE, "dashed",
               step=True),
        Series("Indsats inden uge 13 (modellen)", [k.model_intervention_share for k in kpis],
               ORANGE),
        Series("milepæl", [k.target("intervention_share") for k in kpis], ORANGE, "dashed",
               step=True),
        Series("Inden uge 8", [k.before_week8_share for k in kpis], GREEN),
    ]
    svg = line_chart(title, [k.month for k in kpis], series,
                     Axis("Andel", 1.0, ticks=5, percent=True))
    return str(svg) + "\n"
