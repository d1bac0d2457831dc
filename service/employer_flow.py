"""The email flow (issue 5): outbox deliverer, employer link pages, demo mailbox.

`setup` is called by the app factory; it registers routes and background jobs.
"""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application, *, demo: bool) -> None:
    """Register the email flow's routes and background jobs on the app."""
