"""`fasthold bench load`: the running service under load, on SQLite and on PostgreSQL.

For each database the benchmark starts the service itself as a separate process
(`fasthold serve` with a fresh database: a SQLite file in a temporary directory, or a new
database in a throwaway PostgreSQL cluster), creates an intake API key with
`fasthold apikey create`, and drives it over loopback from another process (an asyncio aiohttp
client, spawned): phase "intake" posts distinct target cases (`POST /api/cases`), phase
"read" fetches cases created before (`GET /api/cases/{id}`). Each phase runs at each
concurrency level: that many workers in a closed loop (send, wait for the answer, send the
next) for `--duration` seconds.

Per request it records the latency and the status: anything but 200/201, and any connection
error or timeout, is an error. requests/s counts the successful answers; the percentiles are
over every request. The service's memory is the RSS of the server process and its children,
sampled during each phase; its CPU per request is the web process's own CPU time (all its
threads, not the planner's solver process) over the phase divided by the requests. The
table compares with the targets; the benchmark reports them, it does not fail on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from service.clock import SystemClock
from service.commands._common import EXIT_INVALID
from service.platform.crypto import new_data_key
from service.platform.throwaway_postgres import (
    POSTGRES_GLOB,
    PostgresStartError,
    ThrowawayPostgres,
    free_port,
    postgres_bindir,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLOCK = SystemClock()  # Europe/Copenhagen, as the demo municipality
DATABASES = ("sqlite", "postgresql")
ALIASES = {"postgres": "postgresql", "pg": "postgresql", "sqlite3": "sqlite"}
PHASES = ("intake", "read")
MAX_CONCURRENCY = 1000
COLUMNS = ["database", "phase", "concurrency", "requests/s", "p50 ms", "p95 ms", "p99 ms",
           "errors", "peak RSS MB", "web CPU ms/req"]
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 30.0
RSS_SAMPLE_SECONDS = 0.1
# Settings the service must not take from the caller's environment during a benchmark:
# no real mail or Slack messages, and the address is the benchmark's own.
SCRUBBED_ENV_PREFIXES = ("FASTHOLD_SMTP_", "FASTHOLD_SLACK_")
SCRUBBED_ENV = ("FASTHOLD_HOST", "FASTHOLD_PORT")


@dataclass(frozen=True)
class Target:
    database: str
    phase: str
    requests_per_second: float
    p99_ms: float | None  # None: no latency bound

    def describe(self) -> str:
        bound = f" at p99 ≤ {self.p99_ms:g} ms" if self.p99_ms is not None else ""
        return (f"{self.database} {self.phase} ≥ {self.requests_per_second:,.0f} requests/s"
                f"{bound}, 0 errors")

    def met_by(self, row: dict[str, Any]) -> bool:
        return (row["requests_per_second"] >= self.requests_per_second
                and row["errors"] == 0
                and (self.p99_ms is None or (row["latency_ms"]["p99"] is not None
                                             and row["latency_ms"]["p99"] <= self.p99_ms)))


TARGETS = (
    Target("postgresql", "intake", 300, 100),
    Target("postgresql", "read", 1000, 100),
    Target("sqlite", "intake", 150, None),
    Target("sqlite", "read", 500, 100),
)


class BenchError(RuntimeError):
    """The service could not be started or stopped working; the message says why."""


# -- options ---------------------------------------------------------------------------------

@dataclass
class Options:
    databases: list[str]
    concurrency: list[int]
    duration: float
    config: Path
    json_out: Path


def _invalid(message: str) -> None:
    print(f"fasthold bench load: {message}", file=sys.stderr)


def _options(args: argparse.Namespace) -> Options | None:
    """Validate the arguments; print what is wrong (naming the option) and return None."""
    databases: list[str] = []
    for item in str(getattr(args, "databases", None) or ",".join(DATABASES)).split(","):
        name = ALIASES.get(item.strip().lower(), item.strip().lower())
        if not name:
            continue
        if name not in DATABASES:
            _invalid(f"--databases: unknown database {item.strip()!r} (sqlite, postgresql)")
            return None
        if name not in databases:
            databases.append(name)
    if not databases:
        _invalid("--databases: name at least one of sqlite, postgresql")
        return None
    concurrency: list[int] = []
    for item in str(getattr(args, "concurrency", None) or "1,10,50").split(","):
        text = item.strip()
        if not text:
            continue
        if not text.isdigit() or not 1 <= int(text) <= MAX_CONCURRENCY:
            _invalid(f"--concurrency: each level must be a whole number from 1 to "
                     f"{MAX_CONCURRENCY}, got {text!r}")
            return None
        if int(text) not in concurrency:
            concurrency.append(int(text))
    if not concurrency:
        _invalid("--concurrency: give at least one level, e.g. 1,10,50")
        return None
    duration = getattr(args, "duration", None)
    duration = 10.0 if duration is None else duration
    if not isinstance(duration, int | float) or not 0 < duration <= 3600:
        _invalid(f"--duration: must be more than 0 and at most 3600 seconds, got {duration!r}")
        return None
    config = Path(getattr(args, "config", None) or "config/demo.toml")
    if not config.is_file() and not config.is_absolute() and (PROJECT_ROOT / config).is_file():
        config = PROJECT_ROOT / config
    if not config.is_file():
        _invalid(f"--config: no such file: {config}")
        return None
    json_out = Path(getattr(args, "json_out", None) or "var/bench/load.json")
    return Options(databases, concurrency, float(duration), config.resolve(), json_out)


# -- the load driver (runs in a separate, spawned process) -----------------------------------

_EMPLOYERS = 200


def case_body(case_id: str, rng: random.Random, today: date) -> dict[str, Any]:
    """A new sick-leave case from employment, category 2 or 3: a target case to be planned."""
    employer = rng.randrange(_EMPLOYERS)
    return {
        "case_id": case_id,
        "first_absence_day": (today - timedelta(days=rng.randint(7, 42))).isoformat(),
        "employment": "employed",
        "employer": {
            "cvr": str(30_000_000 + employer * 4_517),
            "name": f"Virksomhed {employer} ApS",
            "contact_email": f"hr@virksomhed{employer}.example",
            "location": {"lat": round(56.05 + rng.random() * 0.3, 4),
                         "lon": round(8.80 + rng.random() * 0.5, 4)},
        },
        "visitation_category": rng.choice((2, 3)),
        "diagnosis_group": rng.choice(("physical", "mental", "other")),
        "citizen": {"name": "Test Borger", "email": f"borger-{case_id}@example.org"},
    }


def drive_phase(base_url: str, key: str, phase: str, concurrency: int, duration: float,
                prefix: str, read_ids: list[str], today_iso: str, seed: int) -> dict[str, Any]:
    """One phase: `concurrency` workers in a closed loop for `duration` seconds.

    Returns the latencies (ms) of every request, a count per status (or error kind), the
    ids of the cases created (intake), the wall time and this process's CPU time.
    """
    cpu_started = time.process_time()
    result = asyncio.run(_drive(base_url, key, phase, concurrency, duration, prefix,
                                read_ids, date.fromisoformat(today_iso), seed))
    result["driver_cpu_seconds"] = time.process_time() - cpu_started
    return result


async def _drive(base_url: str, key: str, phase: str, concurrency: int, duration: float,
                 prefix: str, read_ids: list[str], today: date, seed: int) -> dict[str, Any]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    created: list[str] = []
    headers = {"Authorization": f"Bearer {key}"}
    post_headers = {**headers, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    loop = asyncio.get_running_loop()

    async def worker(session: aiohttp.ClientSession, number: int, deadline: float) -> None:
        rng = random.Random(seed * 100_003 + number)
        sent = 0
        while loop.time() < deadline:
            if phase == "intake":
                case_id = f"{prefix}-w{number}-{sent}"
                data = json.dumps(case_body(case_id, rng, today)).encode()
                request = session.post(f"{base_url}/api/cases", data=data,
                                       headers=post_headers)
            else:
                case_id = read_ids[rng.randrange(len(read_ids))]
                request = session.get(f"{base_url}/api/cases/{case_id}", headers=headers)
            sent += 1
            outcome, latency = await timed(request)
            latencies.append(latency)
            outcomes[outcome] += 1
            if phase == "intake" and outcome in ("200", "201"):
                created.append(case_id)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        deadline = loop.time() + duration
        await asyncio.gather(*(worker(session, n, deadline) for n in range(concurrency)))
        seconds = time.perf_counter() - started
    return {"latencies_ms": latencies, "outcomes": dict(outcomes), "created": created,
            "seconds": seconds}


# -- the service under test ------------------------------------------------------------------

def _fasthold_command() -> list[str]:
    script = Path(sys.executable).parent / "fasthold"
    if not script.exists():
        raise BenchError(f"the fasthold command is not installed next to {sys.executable} "
                         "(run `make venv`)")
    return [str(script)]


def _service_env(database_url: str, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(SCRUBBED_ENV_PREFIXES) and k not in SCRUBBED_ENV}
    env.update({"FASTHOLD_SECRET_KEY": secrets.token_urlsafe(48),
                "FASTHOLD_DATA_KEY": new_data_key(),
                "FASTHOLD_DATABASE_URL": database_url,
                "FASTHOLD_CONFIG": str(config),
                "PYTHONUNBUFFERED": "1"})
    return env


def _create_key(env: dict[str, str], config: Path) -> str:
    """`fasthold apikey create --role intake`: prints `id<TAB>role<TAB>name<TAB>key`."""
    done = subprocess.run([*_fasthold_command(), "apikey", "create", "--role", "intake",
                           "--name", "bench", "--config", str(config)],
                          env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or len(lines[-1].split("\t")) != 4:
        raise BenchError(f"`fasthold apikey create` failed (exit {done.returncode}): "
                         f"{done.stderr.strip()[-2000:]}")
    return lines[-1].split("\t")[-1]


class Service:
    """`fasthold serve` as a separate process on a free loopback port; output to a log file."""

    def __init__(self, env: dict[str, str], config: Path, log_path: Path, key: str) -> None:
        self.env = env
        self.key = key
        self.config = config
        self.log_path = log_path
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            # A session of its own: Ctrl-C reaches the benchmark, which then stops the service
            # in order (SIGTERM) instead of both dying at once.
            self.process = subprocess.Popen(
                [*_fasthold_command(), "serve", "--config", str(self.config),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the service exited with status {self.process.returncode} "
                                 f"while starting:\n{self.log_tail()}")
            if "listening on" in self.log_path.read_text(errors="replace") and self._healthy():
                return
            time.sleep(0.1)
        raise BenchError(f"the service did not answer GET /healthz with 200 within "
                         f"{START_TIMEOUT_SECONDS:.0f} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join("    " + line for line in text.splitlines()[-lines:])

    def rss_bytes(self) -> int | None:
        """RSS of the server process plus all its children (the planner may run in one)."""
        if not self.alive():
            return None
        assert self.process is not None
        try:
            root = psutil.Process(self.process.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system, all its threads) of the web process itself — not of its
        children (the planner's solver) nor of the database server."""
        if not self.alive():
            return None
        assert self.process is not None
        try:
            times = psutil.Process(self.process.pid).cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)

    def children_cpu_seconds(self) -> float:
        """CPU time of the web process's children now (the planner's solver processes)."""
        if not self.alive():
            return 0.0
        assert self.process is not None
        total = 0.0
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            return 0.0
        for child in children:
            try:
                times = child.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> int | None:
        """SIGTERM and wait; after STOP_TIMEOUT_SECONDS kill it and its children."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is not None:
            return process.returncode
        try:
            children = psutil.Process(process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"fasthold bench load: the service did not stop within "
                  f"{STOP_TIMEOUT_SECONDS:.0f} s of SIGTERM; killing it", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: it and its children
            for child in children:  # and any child that left the group
                with contextlib.suppress(psutil.Error):
                    child.kill()
            return process.wait(timeout=30)


# -- measuring -------------------------------------------------------------------------------

async def timed(request: Any) -> tuple[str, float]:
    """Send `request` (an aiohttp request context) and read the answer: its status, or the
    error's name for a connection error or timeout, and the latency in ms."""
    started = time.perf_counter()
    try:
        async with request as response:
            await response.read()
            outcome = str(response.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        outcome = type(exc).__name__
    return outcome, (time.perf_counter() - started) * 1000


def _percentile(ordered: list[float], percent: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 1024 / 1024, 1)


def _run_phase(executor: ProcessPoolExecutor, service: Service, database: str, phase: str,
               concurrency: int, duration: float, prefix: str, read_ids: list[str],
               seed: int) -> tuple[dict[str, Any], list[str]]:
    today = CLOCK.today()  # the service's "today"
    started_at = CLOCK.utcnow()
    rss_before = service.rss_bytes()
    cpu_before = service.cpu_seconds()
    solver_before = service.children_cpu_seconds()
    future: Future[dict[str, Any]] = executor.submit(
        drive_phase, service.base_url, service.key, phase, concurrency, duration,
        prefix, read_ids, today.isoformat(), seed)
    peak = rss_before or 0
    while not future.done():
        rss = service.rss_bytes()
        if rss is not None:
            peak = max(peak, rss)
        time.sleep(RSS_SAMPLE_SECONDS)
    rss = service.rss_bytes()
    peak = max(peak, rss or 0)
    cpu_after = service.cpu_seconds()
    solver_cpu = max(0.0, service.children_cpu_seconds() - solver_before)
    ended_at = CLOCK.utcnow()
    result = future.result()
    if not service.alive():
        raise BenchError(f"the service exited during the {phase} phase at concurrency "
                         f"{concurrency}:\n{service.log_tail()}")
    latencies = sorted(result["latencies_ms"])
    outcomes: dict[str, int] = result["outcomes"]
    ok = outcomes.get("200", 0) + outcomes.get("201", 0)
    seconds = result["seconds"]
    row = {
        "database": database,
        "phase": phase,
        "concurrency": concurrency,
        "seconds": round(seconds, 3),
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "requests": len(latencies),
        "ok": ok,
        "errors": len(latencies) - ok,
        "outcomes": dict(sorted(outcomes.items())),
        "requests_per_second": round(ok / seconds, 1) if seconds > 0 else 0.0,
        "latency_ms": {
            "p50": _round(_percentile(latencies, 50)),
            "p95": _round(_percentile(latencies, 95)),
            "p99": _round(_percentile(latencies, 99)),
            "max": _round(latencies[-1] if latencies else None),
            "mean": _round(sum(latencies) / len(latencies) if latencies else None),
        },
        "rss_before_mb": _mb(rss_before),
        "peak_rss_mb": _mb(peak) if peak else None,
        # What one request costs the web process (and the planning it does in between): a
        # figure that holds on a busy machine, unlike requests/s.
        "web_cpu_ms_per_request": round(1000 * (cpu_after - cpu_before) / len(latencies), 2)
        if latencies and cpu_before is not None and cpu_after is not None else None,
        # The planner's solver at work meanwhile (its processes' CPU; also a run under way).
        "solver_cpu_seconds": round(solver_cpu, 1),
        "driver_cpu_percent": round(100 * result["driver_cpu_seconds"] / seconds, 1)
        if seconds > 0 else None,
    }
    return row, result["created"]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _print_row(row: dict[str, Any]) -> None:
    latency = row["latency_ms"]
    cells = [row["database"], row["phase"], row["concurrency"],
             _cell(row["requests_per_second"]), _cell(latency["p50"]), _cell(latency["p95"]),
             _cell(latency["p99"]), row["errors"], _cell(row["peak_rss_mb"], 0),
             _cell(row["web_cpu_ms_per_request"], 2)]
    print(" | ".join(_cell(c) for c in cells), flush=True)


def _bench_database(database: str, options: Options, executor: ProcessPoolExecutor,
                    rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Start the service on a fresh database, run every phase, stop everything."""
    workdir = Path(tempfile.mkdtemp(prefix=f"fasthold-bench-{database}-"))
    cluster: ThrowawayPostgres | None = None
    service: Service | None = None
    info: dict[str, Any] = {"database": database}
    try:
        if database == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            cluster = ThrowawayPostgres().start()
            cluster.create_database("fasthold_bench")
            url = cluster.url("fasthold_bench", driver="postgresql")
            info["postgres_bindir"] = str(cluster.bindir)
        env = _service_env(url, options.config)
        key = _create_key(env, options.config)
        service = Service(env, options.config, workdir / "service.log", key)
        started = time.perf_counter()
        service.start()
        info["startup_seconds"] = round(time.perf_counter() - started, 2)
        run = secrets.token_hex(3)
        created: list[str] = []
        for phase in PHASES:
            for concurrency in options.concurrency:
                if phase == "read" and not created:
                    print(f"{database} | read | {concurrency} | skipped: no case was created",
                          flush=True)
                    continue
                row, new_ids = _run_phase(
                    executor, service, database, phase, concurrency, options.duration,
                    prefix=f"load-{run}-c{concurrency}",
                    read_ids=created if phase == "read" else [],
                    seed=len(rows) + 1)
                created.extend(new_ids)
                rows.append(row)
                _print_row(row)
        info["cases_created"] = len(created)
        _planning_during(service, [r for r in rows if r["database"] == database])
        return info
    finally:
        if service is not None:
            info["service_exit_status"] = service.stop()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _planning_during(service: Service, rows: list[dict[str, Any]]) -> None:
    """How long the planner was planning during each phase (`planning_seconds` of each row),
    from the service's planning runs (`GET /api/planning/runs`: a run's row is written when
    it ends, `run_seconds` before that it began). A run still going now is not counted."""
    request = urllib.request.Request(f"{service.base_url}/api/planning/runs",
                                     headers={"Authorization": f"Bearer {service.key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            runs = json.loads(response.read())["runs"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        print(f"planning during the phases: unknown ({type(exc).__name__})", flush=True)
        return
    spans = []
    for run in runs:
        ended = datetime.fromisoformat(run["started_at"])  # stamped when the run's row is
        took = float((run.get("metrics") or {}).get("run_seconds") or 0.0)
        spans.append((ended - timedelta(seconds=took), ended))
    spans = _union(spans)
    cells = []
    for row in rows:
        start = datetime.fromisoformat(row["started_at"])
        end = datetime.fromisoformat(row["ended_at"])
        overlap = sum(max(0.0, (min(end, b) - max(start, a)).total_seconds())
                      for a, b in spans)
        row["planning_seconds"] = round(overlap, 1)
        cells.append(f"{row['phase']} {row['concurrency']}: {overlap:.1f} s "
                     f"({row['solver_cpu_seconds']:.1f} solver CPU s)")
    print(f"planning during the phases ({len(spans)} runs finished; the solver's CPU also "
          f"counts a run under way): {', '.join(cells)}", flush=True)


def _union(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The time covered by `spans`, as disjoint spans: runs' spans may overlap (a run's
    `run_seconds` includes waiting for the solver process a run before it still holds), and
    the planner's busy time counts once."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _target_lines(rows: list[dict[str, Any]], measured: list[str]) -> list[dict[str, Any]]:
    results = []
    for target in TARGETS:
        candidates = [r for r in rows
                      if r["database"] == target.database and r["phase"] == target.phase]
        if target.database not in measured or not candidates:
            results.append({"target": target.describe(), "database": target.database,
                            "phase": target.phase, "met": None, "best": None})
            continue
        passing = [r for r in candidates if target.met_by(r)]
        best = max(passing or candidates, key=lambda r: r["requests_per_second"])
        results.append({"target": target.describe(), "database": target.database,
                        "phase": target.phase, "met": bool(passing),
                        "requests_per_second": target.requests_per_second,
                        "p99_ms": target.p99_ms,
                        "best": {"concurrency": best["concurrency"],
                                 "requests_per_second": best["requests_per_second"],
                                 "p99_ms": best["latency_ms"]["p99"],
                                 "errors": best["errors"]}})
    return results


def _print_targets(targets: list[dict[str, Any]]) -> None:
    print("targets:")
    for item in targets:
        best = item["best"]
        if item["met"] is None:
            verdict = "not measured"
        else:
            verdict = "met" if item["met"] else "NOT met"
            verdict += (f" (best: concurrency {best['concurrency']}, "
                        f"{best['requests_per_second']:,.1f} requests/s, "
                        f"p99 {_cell(best['p99_ms'])} ms, {best['errors']} errors)")
        print(f"  {item['target']}: {verdict}")


def run(args: argparse.Namespace) -> int:
    """Benchmark each database in --databases; print a table; write JSON to --json."""
    options = _options(args)
    if options is None:
        return EXIT_INVALID
    print(f"fasthold bench load: {options.duration:g} s per phase, concurrency "
          f"{','.join(map(str, options.concurrency))}, config {options.config.name}; "
          f"service and load driver are separate processes on 127.0.0.1 "
          f"({os.cpu_count()} CPUs)", flush=True)
    started = CLOCK.now().isoformat(timespec="seconds")
    rows: list[dict[str, Any]] = []
    databases: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    measured: list[str] = []
    error: str | None = None
    print(" | ".join(COLUMNS), flush=True)
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        for database in options.databases:
            if database == "postgresql" and postgres_bindir() is None:
                skipped[database] = (f"PostgreSQL server binaries not found ({POSTGRES_GLOB}); "
                                     "install the postgresql package to measure it")
                print(f"postgresql: skipped — {skipped[database]}", flush=True)
                continue
            try:
                databases.append(_bench_database(database, options, executor, rows))
                measured.append(database)
            except (BenchError, PostgresStartError, subprocess.SubprocessError) as exc:
                error = f"{database}: {exc}"
                print(f"fasthold bench load: {error}", file=sys.stderr)
                break
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    targets = _target_lines(rows, measured)
    _print_targets(targets)
    report = {
        "benchmark": "load",
        "started": started,
        "duration_seconds": options.duration,
        "concurrency": options.concurrency,
        "databases": databases,
        "skipped": skipped,
        "rows": rows,
        "targets": targets,
        "error": error,
        "config": str(options.config),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    out = options.json_out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {out}")
    return 1 if error else 0
