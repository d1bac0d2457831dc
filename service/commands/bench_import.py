"""`fasthold bench import`: the CSV import of a generated file through the real page.

For each database (a fresh SQLite file in a temporary directory; a new database in a
throwaway PostgreSQL cluster) the benchmark starts the service in this process on a free
loopback port (the planner's solver in its worker process, as in production), creates an
intake user, logs in like a browser, and times, over HTTP:

- "preview": upload the file to `/import/preview` (read, judge every row, look up which
  cases exist) until the preview page has arrived;
- "import": post the previewed file to `/import` until the report page has arrived;
- "import again": the same file once more (every case unchanged: the idempotent path).

The file has `--rows` rows (about 2 % of them invalid, to be rejected). The table shows
seconds, rows/s and the outcome counts against the target (5,000 rows in under 30 s); the
JSON result goes to `--json`. The benchmark reports; it does not fail on the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from service.app import create_app
from service.clock import SystemClock
from service.commands._common import EXIT_INVALID, load_config_or_exit
from service.config import MunicipalityConfig, Secrets
from service.intake.csv_import import COLUMNS
from service.keys import JOBS, STAFF_USERS
from service.platform.crypto import new_data_key
from service.platform.throwaway_postgres import (
    PostgresStartError,
    PostgresUnavailable,
    ThrowawayPostgres,
    free_port,
)

TARGET_SECONDS = 30.0
TARGET_ROWS = 5_000
PASSWORD = "bench-import-adgangskode"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="(csrf_token|data|digest)" value="([^"]*)"')
_COUNTS = re.compile(r"<strong>(\d+)</strong> (oprettet|opdateret|uændret|afvist)")

FIRST_NAMES = ("Søren", "Åse", "Jørgen", "Mette", "Bjørn", "Lærke", "Ærøe", "Niels", "Ida")
LAST_NAMES = ("Ærbø", "Østergaard", "Åberg", "Madsen", "Kjær", "Sørensen", "Holm", "Lund")
EMPLOYER_WORDS = ("Ærø", "Østjysk", "Ålbæk", "Herning", "Brande", "Sunds", "Ikast", "Vildbjerg")


def generate_file(rows: int, seed: int, today: date) -> bytes:
    """A realistic import file: UTF-8 with BOM, ';', Danish letters, a pool of employers,
    about 2 % invalid rows (a CVR of 4 digits, a date that does not exist)."""
    rng = random.Random(seed)
    employers = [(f"{rng.randrange(10_000_000, 99_999_999)}",
                  f"{rng.choice(EMPLOYER_WORDS)} {rng.choice(('Træ', 'Stål', 'Møbler', 'Øko'))}"
                  f" {rng.choice(('ApS', 'A/S', 'I/S'))}") for _ in range(300)]
    lines = [";".join(COLUMNS)]
    for number in range(rows):
        cvr, name = rng.choice(employers)
        first = today - timedelta(days=rng.randrange(5, 45))
        values = {name_: "" for name_ in COLUMNS}
        values.update({
            "case_id": f"bench-{number:06d}", "first_absence_day": first.isoformat(),
            "employment": rng.choices(("employed", "unemployed", "self_employed"),
                                      (90, 6, 4))[0],
            "visitation_category": rng.choice(("1", "2", "2", "3", "")),
            "expected_absence_weeks": rng.choice(("", "6", "10", "12,5", "20")),
            "employer_cvr": cvr, "employer_name": name,
            "employer_contact_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "employer_contact_email": f"hr{rng.randrange(1000)}@firma.example",
            "cpr": f"{rng.randrange(1, 28):02d}{rng.randrange(1, 13):02d}"
                   f"{rng.randrange(40, 99):02d}-{rng.randrange(1000, 9999)}",
            "citizen_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "diagnosis_group": rng.choice(("physical", "mental", "other", "psykisk")),
            "serious_illness": rng.choice(("nej",) * 19 + ("ja",)),
            "workplace_cause": "nej"})
        if rng.random() < 0.02:
            values[rng.choice(("employer_cvr", "first_absence_day"))] = rng.choice(
                ("1234", "2026-02-30"))
        lines.append(";".join(values[c] for c in COLUMNS))
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


async def _phase(session: aiohttp.ClientSession, url: str, form: aiohttp.FormData
                 ) -> tuple[float, str, int]:
    started = time.perf_counter()
    async with session.post(url, data=form) as response:
        text = await response.text()
        status = response.status
    return time.perf_counter() - started, text, status


async def _bench_one(database: str, url: str, config: MunicipalityConfig, data: bytes,
                     rows: int) -> list[dict[str, Any]]:
    secrets = Secrets.from_env(url, {"FASTHOLD_SECRET_KEY": "bench-" + "x" * 40,
                                     "FASTHOLD_DATA_KEY": new_data_key(),
                                     "FASTHOLD_DATABASE_URL": url})
    app = create_app(config, secrets, clock=SystemClock(config.municipality.timezone))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    results: list[dict[str, Any]] = []
    try:
        await app[STAFF_USERS].create("bench-visitation", "intake", PASSWORD)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(f"{base}/login") as response:
                token = _CSRF.search(await response.text())
            assert token, "no login form"
            async with session.post(f"{base}/login", data={
                    "username": "bench-visitation", "password": PASSWORD,
                    "csrf_token": token.group(1)}) as response:
                await response.text()
            async with session.get(f"{base}/import") as response:
                csrf = _CSRF.search(await response.text())
            assert csrf, "not logged in"
            upload = aiohttp.FormData()
            upload.add_field("csrf_token", csrf.group(1))
            upload.add_field("file", data, filename="sager.csv", content_type="text/csv")
            seconds, preview, status = await _phase(session, f"{base}/import/preview", upload)
            results.append({"database": database, "phase": "preview", "rows": rows,
                            "seconds": seconds, "status": status, "counts": {}})
            fields = dict(_HIDDEN.findall(preview))
            for phase in ("import", "import again"):
                form = aiohttp.FormData(default_to_multipart=True)
                for name, value in fields.items():
                    form.add_field(name, value)
                seconds, report, status = await _phase(session, f"{base}/import", form)
                counts = {word: int(n) for n, word in _COUNTS.findall(report)}
                results.append({"database": database, "phase": phase, "rows": rows,
                                "seconds": seconds, "status": status, "counts": counts})
    finally:
        await app[JOBS].stop()
        await runner.cleanup()
    return results


def _row_text(row: dict[str, Any]) -> str:
    counts = row["counts"]
    outcome = (" / ".join(str(counts.get(w, 0)) for w in ("oprettet", "opdateret", "uændret",
                                                           "afvist")) if counts else "–")
    met = "–" if row["phase"] == "preview" else (
        "yes" if row["seconds"] <= TARGET_SECONDS * row["rows"] / TARGET_ROWS else "no")
    return (f"| {row['database']:<10} | {row['phase']:<12} | {row['rows']:>6} | "
            f"{row['seconds']:>7.2f} | {row['rows'] / row['seconds']:>7.0f} | {row['status']} | "
            f"{outcome:<22} | {met:<6} |")


async def _run(args: argparse.Namespace, config: MunicipalityConfig, data: bytes
               ) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for database in args.databases:
        if database == "sqlite":
            with tempfile.TemporaryDirectory(prefix="fasthold-bench-import-") as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                rows = await _bench_one("SQLite", url, config, data, args.rows)
        else:
            cluster = ThrowawayPostgres()
            try:
                cluster.start()
            except (PostgresUnavailable, PostgresStartError) as exc:
                print(f"  PostgreSQL skipped: {exc}")
                continue
            try:
                await _create_database(cluster, "bench_import")
                rows = await _bench_one("PostgreSQL", cluster.url("bench_import"), config,
                                        data, args.rows)
            finally:
                cluster.stop()
        for row in rows:
            print(_row_text(row), flush=True)
        results.extend(rows)
    return results


async def _create_database(cluster: ThrowawayPostgres, name: str) -> None:
    connection = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user=cluster.user,
                                       database="postgres", timeout=30)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def run(args: argparse.Namespace) -> int:
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = [d for d in databases if d not in ("sqlite", "postgresql")]
    if unknown or not databases:
        print(f"fasthold: --databases: unknown {', '.join(unknown) or '(none)'}; use sqlite, "
              "postgresql", file=sys.stderr)
        return EXIT_INVALID
    args.databases = databases
    config = load_config_or_exit(args.config)
    today = SystemClock(config.municipality.timezone).today()
    data = generate_file(args.rows, args.seed, today)
    print(f"CSV import of {args.rows} rows ({len(data) / 1024:.0f} KiB, seed {args.seed}); "
          f"target: {TARGET_ROWS} rows in under {TARGET_SECONDS:.0f} s")
    print("| database   | phase        |   rows |       s |  rows/s | HTTP | "
          "new / upd. / same / rej. | target |")
    print("|---|---|---|---|---|---|---|---|")
    results = asyncio.run(_run(args, config, data))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of this process (service + client): {peak_mb:.0f} MB")
    out = Path(args.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "import", "rows": args.rows, "seed": args.seed, "bytes": len(data),
        "target": {"rows": TARGET_ROWS, "seconds": TARGET_SECONDS},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count() or 1},
        "peak_rss_mb": round(peak_mb, 1),
        "results": [{**r, "seconds": round(r["seconds"], 3),
                     "rows_per_second": round(r["rows"] / r["seconds"], 1)} for r in results],
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"  written to {out}")
    return 0
