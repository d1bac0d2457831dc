"""Rendering the Danish email templates (Jinja2): subject, plain text and HTML.

Each message has `<name>.txt` (first line `Subject: …`, then the plain-text body) and
`<name>.html` (the same content as HTML, autoescaped, inline styles only, no remote content).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"

WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
          "september", "oktober", "november", "december")


def danish_date(value: date) -> str:
    """'tirsdag den 10. marts 2026'."""
    return f"{WEEKDAYS[value.weekday()]} den {value.day}. {MONTHS[value.month - 1]} {value.year}"


def danish_time(value: datetime) -> str:
    """'09.00' (Danish style)."""
    return f"{value.hour:02d}.{value.minute:02d}"


def danish_slot(start: datetime, end: datetime) -> str:
    """'tirsdag den 10. marts 2026 kl. 09.00-10.00'."""
    return f"{danish_date(start.date())} kl. {danish_time(start)}-{danish_time(end)}"


def make_environment(path: Path) -> Environment:
    env = Environment(loader=FileSystemLoader(str(path)),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["dato"] = danish_date
    env.filters["klokken"] = danish_time
    env.globals["slot"] = danish_slot
    return env


_env = make_environment(TEMPLATES)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render(name: str, **context: Any) -> RenderedEmail:
    """Render `<name>.txt` and `<name>.html` with the same context."""
    text = _env.get_template(f"{name}.txt").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {name}.txt must start with 'Subject: '")
    html = _env.get_template(f"{name}.html").render(**context)
    return RenderedEmail(subject=first.removeprefix("Subject: ").strip(),
                         text=body.lstrip("\n"), html=html)
