"""Charts drawn on the server as inline SVG: line charts of shares against a milestone, bar
charts of counts, the consultants' load against capacity.

Plain SVG (no library, no script, nothing from another host): each chart has a title and a
description for screen readers, labelled axes with Danish numbers, a legend (wrapped onto
more rows when narrow), and scales to the width of its box (viewBox). Each chart is drawn for
a `width`: the dashboard draws it wide for a desktop and narrow (`PHONE_WIDTH`) for a phone,
so that its labels stay readable at the phone's width without scrolling. A missing value (a
month with nothing to divide) leaves a gap in a line, never a false zero; a month still
running (`running`) is drawn with open points and a lighter bar, its label marked '*'.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from service.text.danish import danish_number

MONTHS_SHORT = ("jan.", "feb.", "mar.", "apr.", "maj", "jun.", "jul.", "aug.", "sep.",
                "okt.", "nov.", "dec.")

# Colours with enough contrast on white; a milestone is always dashed, a goal dotted.
BLUE, ORANGE, GREEN, GREY, RED = "#1f4e79", "#c45f00", "#2f6b1f", "#6b6f76", "#a4161a"

WIDTH, HEIGHT = 640, 300
PHONE_WIDTH = 360
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 58  # plot margins (legend above, months below)
LEGEND_ROW = 20  # each further row of the legend moves the plot down this much


def month_label(month: date) -> str:
    """'nov. 2026'."""
    return f"{MONTHS_SHORT[month.month - 1]} {month.year}"


def danish_percent(share: float | None) -> str:
    """'39 %' for 0.39; '–' when there is nothing to divide."""
    if share is None:
        return "–"
    return f"{danish_number(round(share * 100, 1))} %"


@dataclass(frozen=True)
class Series:
    """One line or one bar colour: a value per month (None: no value)."""

    label: str
    values: Sequence[float | None]
    colour: str
    # solid | dashed (a milestone) | dotted (a goal) | dashdot (a figure shown beside the
    # main one: told apart by its line, not its colour only)
    style: str = "solid"
    step: bool = False  # a milestone holds until the next: drawn as steps


@dataclass(frozen=True)
class Axis:
    """The value axis: from 0 to `top`, with `ticks` gridlines; `percent` shows 0.39 as 39 %."""

    title: str
    top: float
    ticks: int = 4
    percent: bool = False

    def text(self, value: float) -> str:
        return danish_percent(value) if self.percent else danish_number(value)


def nice_top(largest: float) -> float:
    """A round upper end for a count axis: 1, 2, 5 or 10 times a power of ten."""
    if largest <= 0:
        return 1
    power = 10 ** math.floor(math.log10(largest))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= largest)


def nice_ticks(top: float) -> int:
    """How many steps divide `top` (from `nice_top`) into round numbers: 50 in steps of 10,
    20 in steps of 5, 2 in steps of 1."""
    if top <= 2:
        return max(int(top), 1)
    leading = top / 10 ** math.floor(math.log10(top))
    return 4 if round(leading) == 2 else 5


def _dash(style: str) -> str:
    return {"dashed": ' stroke-dasharray="7 5"', "dotted": ' stroke-dasharray="2 4"',
            "dashdot": ' stroke-dasharray="10 4 2 4"'}.get(style, "")


class _Frame:
    """Coordinates of one chart: months across, values up; `top`: the plot's upper edge (below
    the legend's rows)."""

    def __init__(self, months: Sequence[date], axis: Axis, width: int = WIDTH,
                 top: int = TOP, running: int | None = None) -> None:
        self.months = months
        self.axis = axis
        self.width = width
        self.top = top
        self.height = HEIGHT + top - TOP
        self.running = running
        self.plot_w = width - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM
        self.band = self.plot_w / max(len(months), 1)

    def x(self, index: float) -> float:
        return LEFT + self.band * (index + 0.5)

    def y(self, value: float) -> float:
        clipped = max(0.0, min(value, self.axis.top))
        return self.top + self.plot_h * (1 - clipped / self.axis.top)

    def label(self, index: int) -> str:
        text = month_label(self.months[index])
        return f"{text}*" if index == self.running else text

    def grid(self) -> list[str]:
        out = []
        for i in range(self.axis.ticks + 1):
            value = self.axis.top * i / self.axis.ticks
            y = self.y(value)
            out.append(f'<line x1="{LEFT}" x2="{self.width - RIGHT}" y1="{y:.1f}" '
                       f'y2="{y:.1f}" stroke="#d6d9de" stroke-width="1"/>')
            out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                       f'font-size="13" fill="#444">{escape(self.axis.text(value))}</text>')
        # The value axis' title, turned up along the axis.
        mid = self.top + self.plot_h / 2
        out.append(f'<text x="14" y="{mid:.1f}" transform="rotate(-90 14 {mid:.1f})" '
                   f'text-anchor="middle" font-size="13" fill="#444">'
                   f'{escape(self.axis.title)}</text>')
        return out

    def month_axis(self) -> list[str]:
        # Every month labelled while they fit; else every 2nd, 3rd, … month.
        every = max(1, math.ceil(len(self.months) * 64 / self.plot_w))
        bottom = self.top + self.plot_h
        out = [f'<line x1="{LEFT}" x2="{self.width - RIGHT}" y1="{bottom}" y2="{bottom}" '
               f'stroke="#444" stroke-width="1"/>']
        for i in range(len(self.months)):
            # The month still running is always named (it is the one the '*' explains).
            if i % every and i != self.running:
                continue
            if i != self.running and self.running is not None and \
                    abs(i - self.running) * self.band < 64:
                continue
            x = self.x(i)
            out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" '
                       f'font-size="13" fill="#444">{escape(self.label(i))}</text>')
        note = "Måned" if self.running is None else "Måned (* ikke slut endnu)"
        out.append(f'<text x="{LEFT + self.plot_w / 2:.1f}" y="{self.height - 8}" '
                   f'text-anchor="middle" font-size="13" fill="#444">{note}</text>')
        return out


def _legend_places(labels: Sequence[str], width: int) -> list[tuple[int, int]]:
    """Where each legend entry goes (x, row): across, onto a new row when the next would not
    fit in `width`."""
    places, x, row = [], LEFT, 0
    for label in labels:
        size = 30 + 7 * len(label)
        if x > LEFT and x + size - 8 > width - RIGHT:
            x, row = LEFT, row + 1
        places.append((x, row))
        x += size
    return places


def _legend_top(labels: Sequence[str], width: int) -> int:
    """The plot's upper edge below a legend of these entries."""
    rows = max((row for _, row in _legend_places(labels, width)), default=0)
    return TOP + LEGEND_ROW * rows


def _legend(series: Sequence[Series], bars: bool = False, width: int = WIDTH) -> list[str]:
    out = []
    for s, (x, row) in zip(series, _legend_places([s.label for s in series], width),
                           strict=True):
        dy = LEGEND_ROW * row
        if bars and s.style == "solid":
            out.append(f'<rect x="{x}" y="{10 + dy}" width="14" height="10" '
                       f'fill="{s.colour}"/>')
        else:
            out.append(f'<line x1="{x}" x2="{x + 18}" y1="{15 + dy}" y2="{15 + dy}" '
                       f'stroke="{s.colour}" stroke-width="2.5"{_dash(s.style)}/>')
        out.append(f'<text x="{x + 22}" y="{19 + dy}" font-size="13" fill="#1b1b1b">'
                   f'{escape(s.label)}</text>')
    return out


def _svg(title: str, description: str, body: list[str], height: int = HEIGHT,
         width: int = WIDTH) -> Markup:
    # Ids for the title and description: from the title and width, so the same chart is the
    # same markup every time (a page's charts have different titles; a chart drawn for a
    # desktop and for a phone has two widths).
    n = hashlib.sha256(f"{title}|{width}".encode()).hexdigest()[:10]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-labelledby="chart-{n}-t chart-{n}-d" '
             f'class="chart" font-family="system-ui, sans-serif">',
             f'<title id="chart-{n}-t">{escape(title)}</title>',
             f'<desc id="chart-{n}-d">{escape(description)}</desc>',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
             *body, "</svg>"]
    return Markup("\n".join(parts))


def _describe(months: Sequence[date], series: Sequence[Series], axis: Axis,
              running: int | None = None) -> str:
    lines = []
    for s in series:
        values = ", ".join(f"{month_label(m)}{' (ikke slut endnu)' if i == running else ''}: "
                           f"{'–' if v is None else axis.text(v)}"
                           for i, (m, v) in enumerate(zip(months, s.values, strict=True)))
        lines.append(f"{s.label}: {values}.")
    return " ".join(lines)


def line_chart(title: str, months: Sequence[date], series: Sequence[Series], axis: Axis,
               width: int = WIDTH, running: int | None = None, summary: str = "") -> Markup:
    """Lines over the months; a step series (a milestone) as steps across each month;
    `running`: the index of a month not yet ended (its points drawn open); `summary`: a
    sentence the description starts with (what the main line is, what it is measured
    against)."""
    frame = _Frame(months, axis, width, _legend_top([s.label for s in series], width),
                   running)
    body = frame.grid() + frame.month_axis()
    for s in series:
        dash = _dash(s.style)
        if s.step:
            for i, value in enumerate(s.values):
                if value is None:
                    continue
                x0, x1 = LEFT + frame.band * i, LEFT + frame.band * (i + 1)
                y = frame.y(value)
                body.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                            f'stroke="{s.colour}" stroke-width="2"{dash}/>')
            continue
        run: list[str] = []
        for i, value in enumerate([*s.values, None]):
            if value is not None:
                run.append(f"{frame.x(i):.1f},{frame.y(value):.1f}")
                fill = (f'fill="#fff" stroke="{s.colour}" stroke-width="2" class="running"'
                        if i == running else f'fill="{s.colour}"')
                body.append(f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(value):.1f}" r="3.5" '
                            f'{fill}><title>{escape(s.label)}, '
                            f'{escape(frame.label(i))}: '
                            f'{escape(axis.text(value))}</title></circle>')
            elif run:
                if len(run) > 1:
                    body.append(f'<polyline points="{" ".join(run)}" fill="none" '
                                f'stroke="{s.colour}" stroke-width="2.5"{dash}/>')
                run = []
    body += _legend(series, width=width)
    description = _describe(months, series, axis, running)
    return _svg(title, f"{summary} {description}" if summary else description, body,
                frame.height, width)


def bar_chart(title: str, months: Sequence[date], series: Sequence[Series], axis: Axis,
              reference: Series | None = None, width: int = WIDTH,
              running: int | None = None) -> Markup:
    """Bars per month, stacked in the order given; `reference` a dashed line across;
    `running`: the index of a month not yet ended (its bars lighter)."""
    shown = list(series) + ([reference] if reference is not None else [])
    frame = _Frame(months, axis, width, _legend_top([s.label for s in shown], width),
                   running)
    body = frame.grid() + frame.month_axis()
    bar_w = min(frame.band * 0.6, 48)
    for i in range(len(months)):
        base = 0.0
        for s in series:
            value = s.values[i] or 0
            if not value:
                continue
            y_top, y_base = frame.y(base + value), frame.y(base)
            light = ' fill-opacity="0.45" class="running"' if i == running else ""
            body.append(f'<rect x="{frame.x(i) - bar_w / 2:.1f}" y="{y_top:.1f}" '
                        f'width="{bar_w:.1f}" height="{max(y_base - y_top, 0.5):.1f}" '
                        f'fill="{s.colour}"{light}><title>{escape(s.label)}, '
                        f'{escape(frame.label(i))}: {escape(axis.text(value))}'
                        f'</title></rect>')
            base += value
    if reference is not None:
        value = next((v for v in reference.values if v is not None), None)
        if value is not None:
            y = frame.y(value)
            body.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                        f'stroke="{reference.colour}" stroke-width="2"'
                        f'{_dash(reference.style)}/>')
    body += _legend(shown, bars=True, width=width)
    return _svg(title, _describe(months, shown, axis, running), body, frame.height, width)


@dataclass(frozen=True)
class LoadBar:
    label: str
    value: int
    capacity: int


def load_chart(title: str, bars: Sequence[LoadBar], width: int = WIDTH) -> Markup:
    """One horizontal bar per consultant: open cases, the capacity as a dark mark; a bar over
    its capacity is red."""
    row = 26
    label_w = 150 if width >= WIDTH else 104
    # The legend: on one row when wide, on two when narrow.
    legend_rows = 1 if width - label_w >= 330 else 2
    top = TOP + LEGEND_ROW * (legend_rows - 1)
    height = top + row * max(len(bars), 1) + 40
    top = max([b.capacity for b in bars] + [b.value for b in bars] + [1])
    scale = nice_top(top)
    steps = nice_ticks(scale)
    plot_w = width - label_w - RIGHT - 40

    def x(value: float) -> float:
        return label_w + plot_w * value / scale

    body = []
    for i in range(steps + 1):
        value = scale * i / steps
        body.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top - 4}" '
                    f'y2="{height - 36}" stroke="#d6d9de"/>')
        body.append(f'<text x="{x(value):.1f}" y="{height - 22}" text-anchor="middle" '
                    f'font-size="13" fill="#444">{escape(danish_number(value))}</text>')
    body.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                f'font-size="13" fill="#444">Åbne sager</text>')
    for i, bar in enumerate(bars):
        y = top + row * i
        colour = RED if bar.value > bar.capacity else BLUE
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="13" '
                    f'fill="#1b1b1b">{escape(bar.label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{max(x(bar.value) - label_w, 0):.1f}" '
                    f'height="14" fill="{colour}"><title>{escape(bar.label)}: '
                    f'{bar.value} af {bar.capacity}</title></rect>')
        body.append(f'<line x1="{x(bar.capacity):.1f}" x2="{x(bar.capacity):.1f}" y1="{y + 1}" '
                    f'y2="{y + 21}" stroke="#1b1b1b" stroke-width="3"/>')
        body.append(f'<text x="{x(max(bar.value, bar.capacity)) + 6:.1f}" y="{y + 15}" '
                    f'font-size="13" fill="#444">{bar.value}/{bar.capacity}</text>')
    left = label_w if legend_rows == 1 else LEFT
    over_x, over_y = (left + 210, 0) if legend_rows == 1 else (left, LEGEND_ROW)
    body.append(f'<rect x="{left}" y="10" width="14" height="10" fill="{BLUE}"/>'
                f'<text x="{left + 20}" y="19" font-size="13">Åbne sager</text>'
                f'<line x1="{left + 120}" x2="{left + 120}" y1="8" y2="22" '
                f'stroke="#1b1b1b" stroke-width="3"/>'
                f'<text x="{left + 128}" y="19" font-size="13">Kapacitet</text>'
                f'<rect x="{over_x}" y="{10 + over_y}" width="14" height="10" fill="{RED}"/>'
                f'<text x="{over_x + 20}" y="{19 + over_y}" font-size="13">Over kapacitet'
                f'</text>')
    description = " ".join(f"{b.label}: {b.value} åbne sager af {b.capacity}." for b in bars)
    return _svg(title, description, body, height, width)
