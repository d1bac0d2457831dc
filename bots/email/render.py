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

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"


def make_environment(path: Path, filters: Mapping[str, Callable[..., str]] | None = None,
                     globals_: Mapping[str, Callable[..., str]] | None = None, *,
                     auto_reload: bool = True) -> Environment:
    """`auto_reload=False`: a template once compiled is used as it is, without asking the
    disk whether it changed at every use (a changed template is then a restart away)."""
    env = Environment(loader=FileSystemLoader(str(path)),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      auto_reload=auto_reload)
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
        # The templates are part of the code (a change is a new release): compiled once, not
        # checked on disk for every message (Jinja's auto-reload stats the message's two files
        # and the HTML layout it extends at each use).
        self._env = make_environment(TEMPLATES, filters, globals_, auto_reload=False)

    def render(self, name: str, **context: Any) -> RenderedEmail:
        text = self._env.get_template(f"{name}.txt").render(**context)
        first, _, body = text.partition("\n")
        if not first.startswith("Subject: "):
            raise ValueError(f"template {name}.txt must start with 'Subject: '")
        html = self._env.get_template(f"{name}.html").render(**context)
        return RenderedEmail(subject=first.removeprefix("Subject: ").strip(),
                             text=body.lstrip("\n"), html=html)

    def short_text(self, name: str, **context: Any) -> str:
        """`<name>.sms.txt`: a text message, its lines joined into one paragraph (an SMS
        shows no layout; short, so it fits in two or three parts)."""
        text = self._env.get_template(f"{name}.sms.txt").render(**context)
        return " ".join(text.split())
