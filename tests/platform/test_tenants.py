"""Many municipalities in one process on one database (issue 21 item 1): each municipality's
app is chosen by the request's host, and no principal of one municipality can read, list,
count or change another's data — whatever route it calls (the routes are read from the
router: a new route is walked without touching this test, or fails it until it is)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, text

from bots.slack.fake_api import FakeSlackApi
from service.config import ConfigError, MunicipalityConfig, load_config_dir, secrets_for
from service.keys import CALENDAR_FEEDS, DB, JOBS, LINKS, MUNICIPALITY_APPS, NOTIFIER
from service.platform.auth import ROLES, Principal, create_key
from service.platform.db.models import Base, Case, Meeting, StaffUser
from service.wiring.tenants import create_tenants_app
from tests.jobs.test_queue import start_worker, stop_worker, with_runner
from tests.meetings.email_cases import body
from tests.support import (
    SOLVER,
    STAFF_PASSWORD,
    _staff_password_hash,
    make_secrets,
    scan_slack_at_end,
    today_local,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
A, B = "alfa", "beta"
HOSTS = {A: "alfa.fasthold.test", B: "beta.fasthold.test"}
SIGNING = {A: "alfa-slack-signing-secret", B: "beta-slack-signing-secret"}
# B's data carries these; nothing A's principals get may contain one.
B_MARKERS = ("kB-1", "Bettina Betasen", "Beta Byg ApS", "b-anna", "beta-admin")
CASE_B = "kB-1"
NONE_INT = 987654
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def tenant_config(demo: MunicipalityConfig, mid: str, prefix: str) -> MunicipalityConfig:
    """The demo municipality as `mid`, on its own host, its consultants' ids prefixed."""
    consultants = [c.model_copy(update={"id": prefix + c.id}) for c in demo.consultants]
    return demo.model_copy(update={
        "municipality": demo.municipality.model_copy(update={"id": mid,
                                                             "name": mid.capitalize()}),
        "mail": demo.mail.model_copy(update={"link_base_url": f"https://{HOSTS[mid]}"}),
        "consultants": consultants})


@dataclass
class Tenants:
    client: TestClient
    apps: dict[str, web.Application]
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    jars: dict[str, aiohttp.ClientSession] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)
    # With the job queue (procrastinate on PostgreSQL): the worker running both's jobs.
    worker: asyncio.Task[None] | None = None

    async def settle(self) -> None:
        """Every job asked for so far has run: the in-process runners idle, or the queue
        without a job waiting or running (planning waits a few seconds to settle: its
        `scheduled_at` is that near future)."""
        for app in self.apps.values():
            await app[JOBS].wait_idle()
        if self.worker is None:
            return

        async def drained() -> bool:
            async with self.apps[A][DB].read() as session:
                return (await session.execute(text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
                    " AND (scheduled_at IS NULL OR scheduled_at <= now() + interval '1 minute')"
                ))).scalar_one() == 0

        await wait_until(drained, what="the queue's jobs run")

    async def stop_worker(self) -> None:
        if self.worker is not None:
            await stop_worker(self.worker)
            self.worker = None

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def api(self, mid: str, method: str, path: str, role: str = "admin",
                  **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {"Host": HOSTS[mid], "Authorization": f"Bearer {self.keys[mid][role]}"}
        return await self.client.session.request(method, self.url(path), headers=headers,
                                                 allow_redirects=False, **kwargs)

    async def page(self, mid: str, method: str, path: str, **kwargs: Any
                   ) -> aiohttp.ClientResponse:
        """As `mid`'s logged-in admin (a browser of its own, on `mid`'s host)."""
        session = self.jars[mid]
        if method == "POST":
            kwargs.setdefault("data", {})["csrf_token"] = self.csrf[mid]
        return await session.request(method, self.url(path), headers={"Host": HOSTS[mid]},
                                     allow_redirects=False, **kwargs)


@pytest.fixture
def tenant_runner(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The job runner and database URL: the in-process runner on SQLite, or (`indirect`
    parameter "procrastinate") the job queue on PostgreSQL."""
    runner = getattr(request, "param", "inprocess")
    return runner, request.getfixturevalue(
        "postgres_url" if runner == "procrastinate" else "sqlite_url")


@pytest.fixture
async def tenants(demo_config: MunicipalityConfig, tenant_runner: tuple[str, str]
                  ) -> AsyncIterator[Tenants]:
    """Both municipalities in one app (with the job queue: a worker running their jobs)."""
    runner, url = tenant_runner
    configs = [with_runner(tenant_config(demo_config, A, ""), runner),
               with_runner(tenant_config(demo_config, B, "b-"), runner)]
    # Each municipality its own Slack workspace (a fake Web API each) and signing secret.
    fakes = {mid: scan_slack_at_end(await FakeSlackApi().start()) for mid in (A, B)}
    env: dict[str, str] = {}
    for mid, fake in fakes.items():
        env[f"FASTHOLD_SLACK_SIGNING_SECRET_{mid.upper()}"] = SIGNING[mid]
        env[f"FASTHOLD_SLACK_BOT_TOKEN_{mid.upper()}"] = fake.token
        env[f"FASTHOLD_SLACK_API_URL_{mid.upper()}"] = fake.base_url
    secrets = make_secrets(url)
    root = create_tenants_app(configs, secrets, solver=SOLVER, env=env)
    client = TestClient(TestServer(root))
    await client.start_server()
    apps = root[MUNICIPALITY_APPS]
    running = Tenants(client, apps)
    try:
        if runner == "procrastinate":
            running.worker = await start_worker(configs, secrets)  # type: ignore[arg-type]
        for config in configs:
            mid = config.municipality.id
            async with apps[mid][DB].write() as session:
                running.keys[mid] = {}
                for role in ROLES:
                    consultant = config.consultants[0].id if role == "consultant" else None
                    _, running.keys[mid][role] = await create_key(
                        session, mid, f"{mid}-{role}", role, consultant)
                session.add(StaffUser(municipality_id=mid, username=f"{mid}-admin",
                                      password_hash=_staff_password_hash(), role="admin",
                                      failed_logins=0))
            jar = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            running.jars[mid] = jar
            response = await jar.get(running.url("/login"), headers={"Host": HOSTS[mid]})
            token = _CSRF.search(await response.text())
            assert token, "no CSRF token on the login page"
            response = await jar.post(running.url("/login"), headers={"Host": HOSTS[mid]},
                                      data={"username": f"{mid}-admin",
                                            "password": STAFF_PASSWORD,
                                            "csrf_token": token.group(1), "next": ""})
            page = await response.text()
            assert response.status == 200 and "/login" not in response.url.path, page[:300]
            running.csrf[mid] = _CSRF.search(page).group(1)  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop_worker()
        for jar in running.jars.values():
            await jar.close()
        await client.close()
        for fake in fakes.values():
            await fake.stop()


async def _b_data(t: Tenants) -> dict[str, str]:
    """B's case (planned: a meeting, messages, tasks), an absence, a staff user, a calendar
    feed and the employer's and citizen's links; returns the ids to call A's routes with."""
    case = body(CASE_B, citizen={"name": "Bettina Betasen", "email": "bettina@example.org"})
    case["employer"]["name"] = "Beta Byg ApS"
    response = await t.api(B, "POST", "/api/cases", "intake", json=case)
    assert response.status == 201, await response.text()
    await t.settle()
    start = (today_local() + timedelta(days=30)).isoformat()
    response = await t.api(B, "POST", "/api/consultants/b-anna/absences", json={
        "from": start, "to": start, "reason": "ferie"})
    assert response.status == 201, await response.text()
    absence_id = (await response.json())["id"]
    response = await t.api(B, "GET", "/api/outbox")
    messages = (await response.json())
    message_id = (messages.get("messages") or messages.get("items") or [{}])[0].get("id")
    response = await t.api(B, "GET", "/api/tasks", "manager")
    tasks = await response.json()
    task_id = (tasks.get("tasks") or [{"id": NONE_INT}])[0]["id"]
    db = t.apps[B][DB]
    async with db.read() as session:
        meeting = (await session.execute(select(Meeting).where(
            Meeting.municipality_id == B))).scalars().first()
        user_id = (await session.execute(select(StaffUser.id).where(
            StaffUser.municipality_id == B))).scalar_one()
    if meeting is None:
        async with db.read() as session:
            jobs = (await session.execute(text(
                "SELECT task_name, status, queueing_lock, lock FROM procrastinate_jobs"))).all() \
                if t.worker is not None else []
        raise AssertionError(f"B's case was not planned; jobs {jobs}")
    expires = today_local() + timedelta(days=30)
    links = t.apps[B][LINKS]
    feed = await t.apps[B][CALENDAR_FEEDS].create(Principal(
        key_id=0, name="b", role="consultant", municipality_id=B, consultant_key="b-anna"))
    await t.settle()  # B's planning after the absence
    return {"case_id": CASE_B, "consultant_id": "b-anna", "absence_id": str(absence_id),
            "message_id": str(message_id or NONE_INT), "task_id": str(task_id),
            "user_id": str(user_id), "/m/": links.token(meeting.id, expires),
            "/samtale/": t.apps[B][NOTIFIER].talk_links.token(meeting.id, expires),
            "code": t.apps[B][NOTIFIER].talk_links.short_code(meeting.case_id),
            "/calendar/": feed}


def _nothing(b: dict[str, str], forged: str) -> dict[str, str]:
    """The same parameters naming nothing at all."""
    out = {k: (str(NONE_INT) if v.isdigit() else "x-none") for k, v in b.items()}
    out.update({"/m/": forged, "/samtale/": forged, "/calendar/": "x" * 43,
                "code": b["code"].split("-")[0] + "-AAAA-AAAA"})
    return out


async def _snapshot(t: Tenants) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of B's, table by table (those with a municipality)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with t.apps[B][DB].read() as session:
        for table in Base.metadata.sorted_tables:
            if "municipality_id" not in table.c:
                continue
            rows = (await session.execute(select(table).where(
                table.c.municipality_id == B))).all()
            out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


# Routes walked otherwise, with the reason.
NOT_WALKED: dict[str, str] = {
    "POST /slack/events": "signed per municipality: test_slack_events_verify_with_own_secret",
}
PARAMS = {"case_id", "consultant_id", "absence_id", "message_id", "task_id", "user_id",
          "token", "code"}


def _fill(canonical: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "token":
            prefix = next(p for p in ("/m/", "/samtale/", "/calendar/")
                          if canonical.startswith(p))
            return values[prefix]
        return values[name]

    return re.sub(r"\{(\w+)\}", one, canonical)


async def _call(t: Tenants, method: str, path: str) -> tuple[int, str]:
    if path.startswith("/api/"):
        response = await t.api(A, method, path, json={} if method != "GET" else None)
    else:
        response = await t.page(A, method, path)
    return response.status, await response.text()


# A's lists, counts, figures and exports: the same whether B has data or not.
COUNTED = ("/api/cases", "/api/kpis", "/api/register.csv", "/api/outbox", "/api/tasks",
           "/api/meetings/to-move", "/api/planning/runs", "/dashboard.csv")


async def _counted(t: Tenants) -> dict[str, tuple[int, str]]:
    out = {}
    for path in COUNTED:
        response = await (t.api(A, "GET", path) if path.startswith("/api/")
                          else t.page(A, "GET", path))
        out[path] = (response.status, await response.text())
    return out


@pytest.mark.parametrize("tenant_runner", ["inprocess", "procrastinate"], indirect=True)
async def test_a_principal_of_one_municipality_finds_nothing_of_another(
        tenants: Tenants) -> None:
    """Both runners: in-process on SQLite, and the job queue on PostgreSQL with a worker
    running both municipalities' jobs (A's "plan now" waits for its run)."""
    t = tenants
    response = await t.api(A, "POST", "/api/cases", "intake", json=body("kA-1"))
    assert response.status == 201, await response.text()
    await t.settle()
    alone = await _counted(t)
    b = await _b_data(t)
    await t.settle()
    assert await _counted(t) == alone, "B's data counted in A's lists or figures"
    nothing = _nothing(b, t.apps[A][LINKS].token(NONE_INT, today_local()) + "x")
    before = await _snapshot(t)
    walked: list[str] = []
    problems: list[str] = []
    # Logging out and in again last: the walk runs in the admin's one session.
    routes = sorted(t.apps[A].router.routes(), key=lambda r: r.resource is not None and
                    r.resource.canonical in ("/logout", "/login"))
    for route in routes:
        canonical = route.resource.canonical if route.resource is not None else ""
        name = f"{route.method} {canonical}"
        if route.method == "HEAD" or name in NOT_WALKED:
            continue
        params = set(re.findall(r"\{(\w+)", canonical))
        assert params <= PARAMS, f"{name}: parameters {params - PARAMS} are not walked"
        walked.append(name)
        path = _fill(canonical, b)
        status, text = await _call(t, route.method, path)
        leaked = [m for m in B_MARKERS if m in text and m not in path]  # not the echo
        if leaked:
            problems.append(f"{name}: {status} shows B's {leaked}")
        if params:
            none_status, _ = await _call(t, route.method, _fill(canonical, nothing))
            if status != none_status:
                problems.append(f"{name}: {status} for B's, {none_status} for nothing")
            # A token of B's is a forged one here (the forgery limiter counts its 403s).
            if status < 400 or status == 403 and not params & {"token", "code"}:
                problems.append(f"{name}: {status} for B's object")
    await t.settle()
    assert not problems, "\n".join(problems)
    after = await _snapshot(t)
    changed = {name: (set(after[name]) - set(rows), set(rows) - set(after[name]))
               for name, rows in before.items() if after[name] != rows}
    assert not changed, f"A's calls changed B's data: {changed}"
    assert len(walked) > 60


async def test_a_key_or_session_works_only_on_its_own_municipalitys_host(
        tenants: Tenants) -> None:
    t = tenants
    await _b_data(t)
    headers = {"Host": HOSTS[B], "Authorization": f"Bearer {t.keys[A]['admin']}"}
    response = await t.client.session.get(t.url("/api/cases"), headers=headers)
    assert response.status == 401
    response = await t.api(B, "GET", "/api/cases")
    assert CASE_B in await response.text()
    # A's session cookie sent to B's host: not logged in there.
    cookie = "; ".join(f"{c.key}={c.value}" for c in t.jars[A].cookie_jar)
    response = await t.client.session.get(t.url("/cases"), allow_redirects=False,
                                          headers={"Host": HOSTS[B], "Cookie": cookie})
    assert response.status in (302, 303) and "/login" in response.headers["Location"]
    # The root: the municipalities' login pages and the shared database's health.
    response = await t.client.session.get(t.url("/"), headers={"Host": "fasthold.test"})
    page = await response.text()
    assert f"https://{HOSTS[A]}/login" in page and f"https://{HOSTS[B]}/login" in page
    response = await t.client.session.get(t.url("/healthz"))
    assert (await response.json())["municipalities"] == [A, B]
    response = await t.client.session.get(t.url("/healthz"), headers={"Host": HOSTS[B]})
    assert (await response.json())["municipality"] == B


def _signed(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(payload).encode()
    stamp = str(int(time.time()))  # Slack's own signature: the wall clock is its contract
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256)
    return raw, {"X-Slack-Request-Timestamp": stamp, "Content-Type": "application/json",
                 "X-Slack-Signature": "v0=" + digest.hexdigest()}


async def test_slack_events_verify_with_own_secret(tenants: Tenants) -> None:
    """Each municipality's `/slack/events` answers its own Slack app only."""
    t = tenants
    challenge = {"type": "url_verification", "challenge": "abc", "token": "t"}
    for mid, other in ((A, B), (B, A)):
        raw, headers = _signed(SIGNING[mid], challenge)
        response = await t.client.session.post(t.url("/slack/events"), data=raw,
                                               headers={**headers, "Host": HOSTS[mid]})
        assert response.status == 200, (mid, await response.text())
        raw, headers = _signed(SIGNING[other], challenge)
        response = await t.client.session.post(t.url("/slack/events"), data=raw,
                                               headers={**headers, "Host": HOSTS[mid]})
        assert response.status == 401, (mid, response.status)


async def test_the_same_external_ids_are_two_municipalities_own(tenants: Tenants) -> None:
    """A's case with B's external case id is A's own new case; B's stays as it was."""
    t = tenants
    await _b_data(t)
    before = await _snapshot(t)
    case = body(CASE_B)
    response = await t.api(A, "POST", "/api/cases", "intake", json=case)
    assert response.status == 201, await response.text()
    await t.apps[A][JOBS].wait_idle()
    assert await _snapshot(t) == before
    response = await t.api(A, "GET", f"/api/cases/{CASE_B}")
    assert response.status == 200
    assert "Bettina" not in await response.text()


async def test_one_worker_runs_every_municipalitys_jobs_on_the_queue(
        demo_config: MunicipalityConfig, postgres_url: str) -> None:
    """PostgreSQL and procrastinate: the web defers, one worker (`--config-dir`) plans each
    municipality with its own services — the same external case id in both stays two cases."""
    configs = [with_runner(tenant_config(demo_config, A, ""), "procrastinate"),
               with_runner(tenant_config(demo_config, B, "b-"), "procrastinate")]
    secrets = make_secrets(postgres_url)
    root = create_tenants_app(configs, secrets, solver=SOLVER, env={})
    client = TestClient(TestServer(root))
    await client.start_server()
    worker = None
    try:
        t = Tenants(client, root[MUNICIPALITY_APPS])
        for mid in (A, B):
            async with t.apps[mid][DB].write() as session:
                _, key = await create_key(session, mid, f"{mid}-intake", "intake")
            t.keys[mid] = {"intake": key}
            response = await t.api(mid, "POST", "/api/cases", "intake", json=body("q1"))
            assert response.status == 201, await response.text()
        worker = await start_worker(configs, secrets)  # type: ignore[arg-type]

        async def planned() -> bool:
            async with t.apps[A][DB].read() as session:
                rows = (await session.execute(
                    select(Meeting.municipality_id, Case.municipality_id).join(
                        Case, Meeting.case_id == Case.id).where(Case.case_ref == "q1"))).all()
            return sorted(rows) == [(A, A), (B, B)]

        await wait_until(planned, what="a meeting proposed for each municipality's case")
    finally:
        if worker is not None:
            await stop_worker(worker)
        await client.close()


def test_a_config_dir_names_each_municipality_and_host_once(tmp_path: Path) -> None:
    demo = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")

    def write(name: str, mid: str, url: str) -> None:
        (tmp_path / name).write_text(demo.replace('id = "demo"', f'id = "{mid}"', 1).replace(
            'link_base_url = "http://127.0.0.1:8080"', f'link_base_url = "{url}"'))

    write("a.toml", "alfa", "https://alfa.example")
    write("b.toml", "beta", "https://beta.example")
    assert [c.municipality.id for c in load_config_dir(tmp_path)] == ["alfa", "beta"]
    write("c.toml", "gamma", "https://beta.example")
    with pytest.raises(ConfigError, match=r"c.toml: mail.link_base_url: host 'beta.example'"):
        load_config_dir(tmp_path)
    write("c.toml", "beta", "https://gamma.example")
    with pytest.raises(ConfigError, match=r"c.toml: municipality.id: 'beta' is also in b"):
        load_config_dir(tmp_path)
    write("c.toml", "gamma", "https://example.org/gamma")
    with pytest.raises(ConfigError, match=r"c.toml: mail.link_base_url: must be"):
        load_config_dir(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no configuration files"):
        load_config_dir(tmp_path / "empty")


def test_each_municipality_has_its_own_slack_app() -> None:
    secrets = make_secrets("sqlite://", FASTHOLD_SLACK_BOT_TOKEN="xoxb-shared")
    env = {"FASTHOLD_SLACK_BOT_TOKEN_IKAST_BRANDE": "xoxb-ikast",
           "FASTHOLD_SLACK_SIGNING_SECRET_IKAST_BRANDE": "ikast-secret"}
    own = secrets_for(secrets, "ikast-brande", env)
    assert (own.slack_bot_token, own.slack_signing_secret) == ("xoxb-ikast", "ikast-secret")
    other = secrets_for(secrets, "herning", env)
    assert (other.slack_bot_token, other.slack_signing_secret) == ("xoxb-shared", None)
