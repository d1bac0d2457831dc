"""CPR numbers at rest: encrypted (AES-GCM under FASTHOLD_DATA_KEY) with a keyed hash; the plain
digits are in no database file or write-ahead log the service writes; CPR numbers stored plain
by an older version are encrypted by the migration; `fasthold datakey rotate` moves every
number to a new key; the API still shows the number masked and merge patches still work."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from service.calendars.imports import PASSWORD_PURPOSE, URL_PURPOSE
from service.config import MunicipalityConfig
from service.keys import DB
from service.platform.crypto import DataCipher, DataKeyError, key_id_of, new_data_key
from service.platform.db.engine import Database
from service.platform.db.migrate import alembic_config
from service.platform.db.models import CalendarSource, Case, Consultant
from tests.cli import run_cli
from tests.meetings.email_cases import body
from tests.support import (
    SYSTEM_CLOCK,
    TEST_DATA_KEY,
    Api,
    make_secrets,
    start_api,
)

FASTHOLD = str(Path(sys.executable).parent / "fasthold")
ROOT = Path(__file__).resolve().parents[2]
CPRS = ["010190-1234", "311299-9876", "150575-4321", "290204-0007"]


def _digits(cpr: str) -> str:
    return cpr.replace("-", "")


def _forms(cpr: str) -> list[bytes]:
    """How a CPR number could be written into a file: digits, dashed, UTF-16."""
    plain = [_digits(cpr), cpr]
    return [p.encode("ascii") for p in plain] + [p.encode("utf-16-le") for p in plain]


def _database_files(url: str) -> list[Path]:
    path = Path(make_url(url).database or "")
    return [p for p in path.parent.iterdir() if p.name.startswith(path.name)]


def _leaks_in_files(url: str, cprs: list[str]) -> list[str]:
    found = []
    for file in _database_files(url):
        raw = file.read_bytes()
        found += [f"{file.name}: {cpr}" for cpr in cprs for form in _forms(cpr) if form in raw]
    return found


async def _leaks_in_rows(url: str, cprs: list[str]) -> list[str]:
    """Every row of every table, as text: does any hold a CPR number?"""
    db = Database(url, SYSTEM_CLOCK)
    try:
        async with db.read() as session:
            names = await (await session.connection()).run_sync(
                lambda c: inspect(c).get_table_names())
            found = []
            for name in names:
                for row in (await session.execute(text(f'SELECT * FROM "{name}"'))).all():
                    line = " ".join(str(v) for v in row)
                    found += [f"{name}: {cpr}" for cpr in cprs
                              if _digits(cpr) in line or cpr in line]
            return found
    finally:
        await db.dispose()


async def _register(api: Api, cprs: list[str]) -> None:
    for n, cpr in enumerate(cprs):
        resp = await api.client.post("/api/cases", json=body(f"cpr{n}", cpr=cpr),
                                     headers=api.auth("intake"))
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["cpr"] == cpr[:6] + "-XXXX"


async def _stored(api: Api) -> dict[str, tuple[str, str]]:
    async with api.client.app[DB].read() as session:
        rows = (await session.execute(select(Case.case_ref, Case.cpr_encrypted, Case.cpr_hash))
                ).all()
    return {ref: (token, hashed) for ref, token, hashed in rows}


async def test_cpr_is_encrypted_and_nowhere_in_the_sqlite_files(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    async for api in start_api(demo_config, make_secrets(sqlite_url)):
        await _register(api, CPRS)
        # The merge-patch base holds the number: a patch of something else keeps it...
        resp = await api.client.patch("/api/cases/cpr0", json={"citizen": {"phone": "2020"}},
                                      headers=api.auth("intake"))
        assert resp.status == 200 and (await resp.json())["cpr"] == "010190-XXXX"
        # ... and a new number replaces it.
        resp = await api.client.patch("/api/cases/cpr1", json={"cpr": "121212-1212"},
                                      headers=api.auth("intake"))
        assert resp.status == 200 and (await resp.json())["cpr"] == "121212-XXXX"
        got = await (await api.client.get("/api/cases/cpr2", headers=api.auth("manager"))).json()
        assert got["cpr"] == "150575-XXXX"
        listed = await (await api.client.get("/api/cases", headers=api.auth("manager"))).json()
        assert {c["cpr"] for c in listed["cases"]} == {
            "010190-XXXX", "121212-XXXX", "150575-XXXX", "290204-XXXX"}
        stored = await _stored(api)
        cipher = DataCipher.from_env_values(TEST_DATA_KEY)
        assert cipher.decrypt(stored["cpr3"][0], "cases.cpr") == "2902040007"
        assert stored["cpr3"][1] == cipher.lookup_hash("2902040007")
        assert key_id_of(stored["cpr0"][0]) == cipher.key_id
        # While the service runs: the database file and its write-ahead log.
        assert any(p.name.endswith("-wal") for p in _database_files(sqlite_url))
        assert _leaks_in_files(sqlite_url, [*CPRS, "121212-1212"]) == []
    assert _leaks_in_files(sqlite_url, [*CPRS, "121212-1212"]) == []
    assert await _leaks_in_rows(sqlite_url, [*CPRS, "121212-1212"]) == []


async def test_cpr_column_holds_no_plain_digits_on_postgresql(
        demo_config: MunicipalityConfig, postgres_url: str) -> None:
    async for api in start_api(demo_config, make_secrets(postgres_url)):
        await _register(api, CPRS)
        stored = await _stored(api)
        assert all(token.startswith("v1.") for token, _ in stored.values())
    assert await _leaks_in_rows(postgres_url, CPRS) == []


async def test_plain_cprs_from_before_are_encrypted_by_the_migration(
        demo_config: MunicipalityConfig, database_url: str) -> None:
    """Cases stored by the previous version (schema 0003, CPR in plain digits) are encrypted
    when the service starts, and the old digits are gone from the files too."""
    async for api in start_api(demo_config, make_secrets(database_url)):
        await _register(api, CPRS)
    # Back to the schema before encryption: the numbers in plain digits, as they were.
    cipher = DataCipher.from_env_values(TEST_DATA_KEY)
    await asyncio.to_thread(command.downgrade, alembic_config(database_url, cipher), "0003")
    assert len(await _leaks_in_rows(database_url, CPRS)) == len(CPRS)  # the check sees them
    sqlite = database_url.startswith("sqlite")
    if sqlite:
        assert _leaks_in_files(database_url, CPRS)

    async for api in start_api(demo_config, make_secrets(database_url)):  # upgrades
        got = await (await api.client.get("/api/cases/cpr1", headers=api.auth("intake"))).json()
        assert got["cpr"] == "311299-XXXX"
        resp = await api.client.patch("/api/cases/cpr1", json={"citizen": {"phone": "2020"}},
                                      headers=api.auth("intake"))
        assert resp.status == 200 and (await resp.json())["cpr"] == "311299-XXXX"
        stored = await _stored(api)
        assert cipher.decrypt(stored["cpr1"][0], "cases.cpr") == "3112999876"
    assert await _leaks_in_rows(database_url, CPRS) == []
    if sqlite:
        assert _leaks_in_files(database_url, CPRS) == []
    db = Database(database_url, SYSTEM_CLOCK)
    try:
        async with db.read() as session:
            columns = await (await session.connection()).run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("cases")})
    finally:
        await db.dispose()
    assert "cpr" not in columns and {"cpr_encrypted", "cpr_hash"} <= columns


def _fasthold(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A real `fasthold` process (the service refusing to start); the commands' answers to
    their input are run in this process (`tests.cli.run_cli`)."""
    return subprocess.run([FASTHOLD, *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


async def test_rotation_re_encrypts_every_cpr_under_the_new_key(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    old, new = new_data_key(), new_data_key()
    env = {**os.environ, "FASTHOLD_DATABASE_URL": sqlite_url, "FASTHOLD_DATA_KEY": old,
           "NEW_DATA_KEY": new}
    async for api in start_api(demo_config, make_secrets(sqlite_url, FASTHOLD_DATA_KEY=old)):
        await _register(api, CPRS[:2])
        # a consultant's CalDAV calendar: its address and password sealed under the key too
        sealing = DataCipher.from_env_values(old)
        async with api.client.app[DB].write() as session:
            anna = (await session.execute(select(Consultant.id).where(
                Consultant.key == "anna"))).scalar_one()
            session.add(CalendarSource(
                municipality_id="demo", consultant_id=anna, kind="caldav",
                url_encrypted=sealing.encrypt("https://cal.example/anna", URL_PURPOSE),
                username="anna", password_encrypted=sealing.encrypt("hemmelig",
                                                                    PASSWORD_PURPOSE),
                created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
    # During a rotation the service runs on the new key and still reads the old one.
    during = make_secrets(sqlite_url, FASTHOLD_DATA_KEY=new, FASTHOLD_DATA_KEY_PREVIOUS=old)
    async for api in start_api(demo_config, during):
        got = await (await api.client.get("/api/cases/cpr0", headers=api.auth("intake"))).json()
        assert got["cpr"] == "010190-XXXX"
        resp = await api.client.post("/api/cases", json=body("late", cpr="020202-2222"),
                                     headers=api.auth("intake"))
        assert resp.status == 201
        keys = {ref: key_id_of(token) for ref, (token, _) in (await _stored(api)).items()}
    new_id, old_id = DataCipher.from_env_values(new).key_id, DataCipher.from_env_values(old).key_id
    assert keys == {"cpr0": old_id, "cpr1": old_id, "late": new_id}
    # Without the old key the service refuses to start (not a 500 on every read later).
    with pytest.raises(DataKeyError, match=old_id):
        async for _api in start_api(demo_config, make_secrets(sqlite_url,
                                                              FASTHOLD_DATA_KEY=new)):
            pass
    refused = _fasthold("serve", "--port", "0", env={**env, "FASTHOLD_DATA_KEY": new,
                                                     "FASTHOLD_SECRET_KEY": "s" * 48})
    assert refused.returncode == 2 and old_id in refused.stderr, refused.stderr
    assert "FASTHOLD_DATA_KEY_PREVIOUS" in refused.stderr and old not in refused.stderr

    rotated = await asyncio.to_thread(run_cli, "datakey", "rotate", "--new-key-env",
                                      "NEW_DATA_KEY", env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert f"re-encrypted 2 CPR number(s) under data key {new_id}, and 1 consultant " \
        "calendar(s)" in rotated.stdout, rotated.stdout
    assert old not in rotated.stdout + rotated.stderr and new not in rotated.stdout
    again = await asyncio.to_thread(run_cli, "datakey", "rotate",
                                    env={**env, "FASTHOLD_DATA_KEY": new})
    assert again.returncode == 0 and "re-encrypted 0 CPR" in again.stdout, again.stderr

    async for api in start_api(demo_config, make_secrets(sqlite_url, FASTHOLD_DATA_KEY=new)):
        stored = await _stored(api)
        assert {key_id_of(token) for token, _ in stored.values()} == {new_id}
        # the calendar too (a rotation left it under the old key: unreadable from then on)
        async with api.client.app[DB].read() as session:
            source = (await session.execute(select(CalendarSource))).scalar_one()
        reading = DataCipher.from_env_values(new)
        assert reading.decrypt(source.url_encrypted, URL_PURPOSE) == "https://cal.example/anna"
        assert source.password_encrypted is not None and reading.decrypt(
            source.password_encrypted, PASSWORD_PURPOSE) == "hemmelig"
        cipher = DataCipher.from_env_values(new)
        assert stored["cpr1"][1] == cipher.lookup_hash("3112999876")
        got = await (await api.client.get("/api/cases/cpr1", headers=api.auth("intake"))).json()
        assert got["cpr"] == "311299-XXXX"
    assert _leaks_in_files(sqlite_url, CPRS) == []


@pytest.mark.parametrize("command_line", [["serve", "--port", "0"], ["db", "upgrade"],
                                          ["datakey", "rotate"]])
@pytest.mark.parametrize("value", [None, "", "too-short", "x" * 43 + "!"])
def test_commands_that_touch_cpr_need_a_valid_data_key(tmp_path: Path, command_line: list[str],
                                                       value: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FASTHOLD_DATA_KEY"}
    env.update({"FASTHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
                "FASTHOLD_SECRET_KEY": "s" * 48})
    if value is not None:
        env["FASTHOLD_DATA_KEY"] = value
    result = run_cli(*command_line, env=env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "FASTHOLD_DATA_KEY" in result.stderr and "Traceback" not in result.stderr
    assert "fasthold datakey new" in result.stderr


def test_rotation_names_a_missing_new_key_variable(tmp_path: Path) -> None:
    env = {**os.environ, "FASTHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
           "FASTHOLD_DATA_KEY": TEST_DATA_KEY}
    env.pop("NEXT_KEY", None)
    result = run_cli("datakey", "rotate", "--new-key-env", "NEXT_KEY", env=env)
    assert result.returncode == 2 and "NEXT_KEY is not set" in result.stderr


def test_datakey_new_prints_a_usable_key() -> None:
    made = run_cli("datakey", "new", env=dict(os.environ))
    assert made.returncode == 0
    assert DataCipher.from_env_values(made.stdout.strip()).key_id


async def test_apikey_create_on_plain_cprs_without_the_key_is_a_clear_error(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    async for api in start_api(demo_config, make_secrets(sqlite_url)):
        await _register(api, CPRS[:1])
    cipher = DataCipher.from_env_values(TEST_DATA_KEY)
    await asyncio.to_thread(command.downgrade, alembic_config(sqlite_url, cipher), "0003")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTHOLD_")}
    env["FASTHOLD_DATABASE_URL"] = sqlite_url
    done = await asyncio.to_thread(run_cli, "apikey", "create", "--role", "intake", "--name",
                                   "x", env=env)
    assert done.returncode == 2, done.stderr
    assert "FASTHOLD_DATA_KEY" in done.stderr and "Traceback" not in done.stderr
