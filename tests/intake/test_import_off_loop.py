"""A CSV preview of the documented maximum (20,000 rows) is read and judged off the event
loop, and so is its page: the service keeps answering meanwhile (issue 16, item 8;
`/healthz` used to wait 4 s, longer than Slack's 3-second acknowledgement)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from service.commands.bench_import import generate_file
from service.intake import csv_import
from service.intake.csv_import import MAX_ROWS
from service.keys import PAGES
from tests.intake.test_csv_import import _upload
from tests.support import Staff, today_local, wait_until


async def test_the_service_answers_while_a_large_preview_is_read(
        staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    reading, read = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []
    real = csv_import.read_file

    def watched(data: bytes, intake: Any) -> csv_import.ImportCheck:
        threads.append(threading.current_thread())
        reading.set()
        try:
            return real(data, intake)
        finally:
            read.set()

    monkeypatch.setattr(csv_import, "read_file", watched)
    pages = staff.api.client.app[PAGES]
    real_render = pages.render_text
    rendered_in: list[threading.Thread] = []

    def render_text(name: str, **context: Any) -> str:
        if name == "intake/import.html" and context.get("check") is not None:
            rendered_in.append(threading.current_thread())
        return real_render(name, **context)

    monkeypatch.setattr(pages, "render_text", render_text)
    browser = await staff.login("intake")
    data = generate_file(MAX_ROWS, 1, today_local())
    preview = asyncio.create_task(_upload(browser, data))
    await wait_until(reading.is_set)
    health = await staff.api.client.get("/healthz")
    assert health.status == 200
    assert not read.is_set(), "the health check waited until the file was read"
    response, page = await preview
    assert response.status in (200, 422), page[:300]
    assert "Forhåndsvisning" in page or "række" in page
    # Read, judged and rendered in worker threads, never on the event loop's.
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert len(rendered_in) == 1 and rendered_in[0] is not threading.main_thread()
