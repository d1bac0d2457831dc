"""`fasthold demo` end to end, as `make run` starts it: weeks of history, then the service
answers with that history, the mailbox holds the last planning run's invitations; a second
start adds nothing."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from tests.support import TEST_DATA_KEY, wait_until

FASTHOLD = str(Path(sys.executable).parent / "fasthold")


def _read_lines(stream: IO[str], sink: list[str]) -> None:
    for line in stream:
        sink.append(line)


def _get(url: str, key: str | None = None, opener: urllib.request.OpenerDirector | None = None
         ) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key
                                     else {})
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=30) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


async def _start_demo(port: int, env: dict[str, str]
                      ) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen([FASTHOLD, "demo", "--weeks", "2", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    await wait_until(lambda: any("listening on" in line for line in lines), timeout=120,
                     what=lambda: f"'listening on' in the output; got {lines!r}")
    healthz = f"http://127.0.0.1:{port}/healthz"
    await wait_until(lambda: asyncio.to_thread(lambda: _get(healthz)[0] == 200), timeout=30,
                     what="an answer from GET /healthz")
    return proc, lines


def _intake_key(lines: list[str]) -> str:
    path = next(line.split(": ", 1)[1].strip() for line in lines
                if line.startswith("Demo API keys"))
    return next(line.split("\t")[1] for line in Path(path).read_text().splitlines()
                if line.startswith("intake\t"))


def _assert_a_screenful(lines: list[str], base: str) -> None:
    """The first start's output, once the start-up mail has gone out, is a screenful: the
    URLs and the logins, no migration or planning log (requests are logged, one line each)."""
    shown = [line for line in lines if " aiohttp.access: " not in line]
    assert len(shown) <= 25, "".join(shown)
    text = "".join(shown)
    for wanted in ("Simulating ", f"listening on {base}/", f"{base}/login",
                   f"{base}/demo/mailbox", f"{base}/demo/slack", "visitation / ",
                   "konsulent / ", "leder / ", "admin / "):
        assert wanted in text, (wanted, text)


async def test_demo_starts_with_history_once(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "FASTHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
           "FASTHOLD_DATA_KEY": TEST_DATA_KEY}
    base = f"http://127.0.0.1:{port}"
    proc, lines = await _start_demo(port, env)
    try:
        assert any(line.startswith("History from ") for line in lines), lines
        # What the history holds for the dashboard, and how its planning differs.
        assert any(line.startswith("Dashboard: ") and "the service plans" in line
                   for line in lines), lines
        assert any("konsulent /" in line for line in lines), lines  # a login per role
        # Its keys and logins lie beside its database: another demo database's (var/'s,
        # a developer's) are left as they were.
        assert any(line.startswith("Demo API keys") and str(tmp_path) in line
                   for line in lines), lines
        assert sorted(p.name for p in tmp_path.glob("demo-*.txt")) == [
            "demo-api-keys-demo.txt", "demo-logins-demo.txt"]
        key = _intake_key(lines)
        status, body = await asyncio.to_thread(_get, f"{base}/api/cases?limit=200", key)
        assert status == 200
        cases = json.loads(body)["cases"]
        assert len(cases) > 10 and all(c["case_id"].startswith("demo-") for c in cases)
        # The invitations of today's planning run reach the demo mailbox after the start.
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

        async def invitations() -> bool:
            _, page = await asyncio.to_thread(_get, f"{base}/demo/mailbox?key={key}", None,
                                              opener)
            return "vælg et tidspunkt" in page
        await wait_until(invitations, timeout=60, what="an invitation in the demo mailbox")
        _assert_a_screenful(lines, base)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    proc, lines = await _start_demo(port, env)
    try:
        assert any("already holds cases" in line for line in lines), lines
        # A start that adds nothing does not say it simulates.
        assert not any("Simulating" in line for line in lines), lines
        # The key of the first start.
        status, body = await asyncio.to_thread(_get, f"{base}/api/cases?limit=200", key)
        assert status == 200 and len(json.loads(body)["cases"]) == len(cases)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
