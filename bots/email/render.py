"""Rendering the email templates (Jinja2): subject, plain text and HTML.

Each message has `<name>.txt` (first line `Subject: …`, then the plain-text body) and
`<name>.html` (the same content as HTML, autoescaped, inline styles only, no remote content).
How dates and times are written comes from the caller (`filters`, `globals`), so pages, mail
and Slack share one way of writing them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"


def make_environment(path: Path, filters: Mapping[str, Callable[..., str]] | None = None,
                     globals_: Mapping[str, Callable[..., str]] | None = None) -> Environment:
    env = Environment(loader=FileSystemLoader(str(path)),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(filters or {})
    env.globals.update(globals_ or {})
    return env


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class EmailRenderer:
    """Renders `<name>.txt` and `<name>.html` of the email templates with the same context."""

    def __init__(self, filters: Mapping[str, Callable[..., str]] | None = None,
                 globals_: Mapping[str, Callable[..., str]] | None = None) -> None:
        self._env = make_environment(TEMPLATES, filters, globals_)
        # Each message's two templates, compiled at their first use: the templates are part
        # of the code (a change is a new release), so they are neither looked up again nor
        # checked on disk for every message (Jinja's auto-reload stats both files each time).
        self._templates: dict[str, tuple[Template, Template]] = {}

    def render(self, name: str, **context: Any) -> RenderedEmail:
        text_template, html_template = self._pair(name)
        text = text_template.render(**context)
        first, _, body = text.partition("\n")
        if not first.startswith("Subject: "):
            raise ValueError(f"template {name}.txt must start with 'Subject: '")
        html = html_template.render(**context)
        return RenderedEmail(subject=first.removeprefix("Subject: ").strip(),
                             text=body.lstrip("\n"), html=html)

    def _pair(self, name: str) -> tuple[Template, Template]:
        pair = self._templates.get(name)
        if pair is None:
            pair = self._templates[name] = (self._env.get_template(f"{name}.txt"),
                                            self._env.get_template(f"{name}.html"))
        return pair
