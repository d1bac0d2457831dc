"""The simulation's chart: the KPI shares month by month against the milestones (SVG)."""

from __future__ import annotations

from html import escape

from service.simulation.run import SimulationResult

WIDTH, HEIGHT = 820, 380
LEFT, RIGHT, TOP, BOTTOM = 56, 190, 40, 56
# (figure, Danish label, colour, milestone figure or None)
LINES = (("workplace_share", "Første samtale på arbejdspladsen", "#1f6f8b", True),
         ("intervention_share", "Virksomhedsrettet indsats inden uge 13", "#c2571a", True),
         ("before_week8_share", "Første samtale inden udgangen af uge 8", "#4d8b31", False))


def chart_svg(result: SimulationResult, title: str) -> str:
    months = [r.kpis for r in result.months]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(months) - 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(share: float) -> float:
        return TOP + plot_h * (1 - share)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
           f'<title>{escape(title)}</title>',
           '<rect width="100%" height="100%" fill="#fff"/>',
           f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    for tick in range(0, 101, 20):
        ty = y(tick / 100)
        out.append(f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{LEFT + plot_w}" y2="{ty:.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 8}" y="{ty + 4:.1f}" text-anchor="end">{tick} %</text>')
    for i, k in enumerate(months):
        out.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" '
                   f'font-size="10">{k.month:%m}</text>')
        if i == 0 or k.month.month == 1:
            out.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 32}" text-anchor="middle" '
                       f'font-size="10">{k.month:%Y}</text>')
    for row, (key, label, colour, has_milestone) in enumerate(LINES):
        points = [(x(i), y(v)) for i, k in enumerate(months)
                  if (v := k.value(key)) is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                       'stroke-width="2.5"/>')
        out += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>'
                for px, py in points]
        if has_milestone:
            targets = [(i, t) for i, k in enumerate(months) if (t := k.target(key)) is not None]
            steps = []
            for n, (i, t) in enumerate(targets):
                end = targets[n + 1][0] if n + 1 < len(targets) else len(months) - 1
                steps.append(f"{x(i):.1f},{y(t):.1f} {x(end):.1f},{y(t):.1f}")
            for segment in steps:
                out.append(f'<polyline points="{segment}" fill="none" stroke="{colour}" '
                           'stroke-width="1.5" stroke-dasharray="5,4"/>')
        ly = TOP + 10 + row * 40
        lx = LEFT + plot_w + 14
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 22}" y2="{ly}" stroke="{colour}" '
                   'stroke-width="2.5"/>')
        words = label.split(" ")
        out.append(f'<text x="{lx + 28}" y="{ly + 4}" font-size="11">'
                   f'{escape(" ".join(words[:3]))}</text>')
        out.append(f'<text x="{lx + 28}" y="{ly + 17}" font-size="11">'
                   f'{escape(" ".join(words[3:]))}</text>')
    ly = TOP + 10 + len(LINES) * 40
    lx = LEFT + plot_w + 14
    out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 22}" y2="{ly}" stroke="#555" '
               'stroke-width="1.5" stroke-dasharray="5,4"/>')
    out.append(f'<text x="{lx + 28}" y="{ly + 4}" font-size="11">milepæl</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
