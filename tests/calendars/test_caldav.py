"""A CalDAV calendar (a municipality's own server) imported as busy time: a real Radicale
server started on a free loopback port in a temporary directory, with htpasswd logins."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import caldav
import pytest
from sqlalchemy import select

from service.keys import DB
from service.platform.db.models import CalendarSource
from tests.calendars.helpers import case, get_feed, imported, overlapping, proposals_of, put_feed
from tests.calendars.samples import BUSY, OUTLOOK_EVENTS, calendar
from tests.meetings.email_cases import intake
from tests.support import Staff, wait_until

PASSWORD = "hemmelig-kalenderkode"


@dataclass(frozen=True)
class Radicale:
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def radicale_process(tmp_path: Path) -> Iterator[Radicale]:
    users = tmp_path / "users"
    users.write_text(f"anna:{PASSWORD}\n", encoding="utf-8")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "",
         "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(tmp_path / "collections"),
         "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(users),
         "--auth-htpasswd-encryption", "plain", "--rights-type", "owner_only",
         "--logging-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield Radicale(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stderr is not None
        process.stderr.close()


def _fill(server: Radicale) -> str:
    """anna's calendar "arbejde" with the Outlook sample's events (one object per UID, its
    overridden instances with it, as CalDAV keeps them); returns the calendar's URL."""
    with caldav.DAVClient(url=server.base + "/", username="anna",
                          password=PASSWORD) as client:
        work = client.principal().make_calendar(name="Arbejde", cal_id="arbejde")
        by_uid: dict[str, list[str]] = {}
        for event in OUTLOOK_EVENTS:
            uid = event.split("UID:", 1)[1].split("\n", 1)[0]
            by_uid.setdefault(uid, []).append(event)
        for events in by_uid.values():
            work.save_event(calendar(*events))
        return str(work.url)


@pytest.fixture
async def radicale(radicale_process: Radicale) -> AsyncIterator[tuple[Radicale, str]]:
    await wait_until(lambda: _accepts(radicale_process.port), what="Radicale to listen")
    url = await asyncio.to_thread(_fill, radicale_process)
    yield radicale_process, url


async def test_a_caldav_calendar_is_imported_and_planned_around(
        staff: Staff, radicale: tuple[Radicale, str]) -> None:
    api = staff.api
    server, url = radicale
    assert url.startswith(server.base + "/anna/arbejde")
    status, out = await put_feed(api, "consultant", "anna", {
        "kind": "caldav", "url": url, "username": "anna", "password": PASSWORD})
    assert status == 200, out
    assert out["kind"] == "caldav" and out["username"] == "anna"
    assert out["last_error"] is None and out["events"] == len(BUSY)
    assert PASSWORD not in str(out) and out["url"] == f"http://127.0.0.1:{server.port}/…"
    assert await imported(api) == BUSY
    async with api.client.app[DB].read() as session:
        source = (await session.execute(select(CalendarSource))).scalar_one()
    assert source.password_encrypted and PASSWORD not in source.password_encrypted

    await intake(api, *(case(f"dav-{n}", 56.10 + n / 100) for n in range(3)))
    slots = await proposals_of(api, "anna")
    assert len(slots) >= 3 and overlapping(slots, BUSY) == []

    # A wrong password: refused, said in words; the last good import stays.
    status, out = await put_feed(api, "manager", "anna", {
        "kind": "caldav", "url": url, "username": "anna", "password": "forkert-kode"})
    assert status == 200
    assert out["last_error"].startswith("Kalenderens server afviste adgangen")
    assert await imported(api) == BUSY
    _, out = await get_feed(api, "consultant", "anna")
    assert out["last_success_at"] is not None and out["events"] == len(BUSY)
