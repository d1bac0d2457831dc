"""`fasthold bench scale`: one deployment of many municipalities beyond one process, on this
machine, with a worker killed mid-run.

- a throwaway PostgreSQL; N municipalities generated from config/herning.toml (distinct ids,
  hosts, consultants, `[jobs] runner = "procrastinate"`), all served by ONE deployment
  (`--config-dir`); `fasthold db upgrade`; an intake API key per municipality
  (`fasthold apikey create`); a local SMTP sink (aiosmtpd) as the mail server;
- W `fasthold serve --config-dir` processes (web only, each on its own port: the load
  driver spreads its requests over them, a load balancer's role) and K `fasthold worker
  --config-dir` processes (concurrency 1 each);
- intake: a day of intake at 10x Herning's rate (`[simulation] inflow_per_month` / 21 working
  days x 10, per municipality), distinct CPR and CVR numbers, posted over the API from a
  spawned aiohttp client process (each intake requests a planning run, coalesced);
- the morning: the daily planning job deferred through the queue for every municipality
  (as the periodic task does, each its own run); `planning_makespan_s` is first defer -> the
  last municipality's plan stored (its `planning_runs` row);
- meanwhile `--duration` seconds of reads (`GET /api/cases/{id}`) over the web processes,
  and one worker SIGKILLed (with its solver process) while every worker holds a planning job
  (so the killed one held one), a replacement started; the queue's stalled-job task
  (`ProcrastinateQueue.retry_stalled_jobs`, which the workers run each minute) is run each
  second by the bench too, so the run waits for three missed heartbeats (`--heartbeat`,
  default 10 s) but not the tick;
- reads per CPU-second of one web process (psutil, over the read phase) against a bare
  aiohttp+asyncpg handler (`service.commands.bench_bare`) read the same way;
- at the end, from the database and the SMTP sink: target cases without an owner that the
  planner did not explain (`cases_unowned`; those it left unassigned with a reason, e.g. no
  capacity, are counted apart), e-mails lost (not sent, or sent but never received) and
  duplicated (received twice, by Message-ID), request errors.

Prints a table and writes JSON. Figures are the machine's; the bench fails (exit 1) only when
something broke: an error, a lost or duplicated message, an unowned case, no retry.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from aiosmtpd.controller import Controller

from service.commands._common import EXIT_INVALID
from service.commands.bench_load import (
    CLOCK,
    PROJECT_ROOT,
    REQUEST_TIMEOUT_SECONDS,
    START_TIMEOUT_SECONDS,
    BenchError,
    Service,
    _create_key,
    _fasthold_command,
    _percentile,
    _service_env,
    case_body,
    timed,
)
from service.config import ConfigError, load_config
from service.jobs.queue import ProcrastinateQueue
from service.platform.jobqueue import HEARTBEAT_SECONDS, PLAN
from service.platform.throwaway_postgres import (
    POSTGRES_GLOB,
    PostgresStartError,
    ThrowawayPostgres,
    free_port,
    postgres_bindir,
)

HERNING = PROJECT_ROOT / "config" / "herning.toml"
RATE_FACTOR = 10
WORKING_DAYS_PER_MONTH = 21
CONCURRENCY = 16  # requests under way at once from the load driver
MORNING = "morning"  # the planning runs' trigger (`planning_runs.trigger`)
# A killed worker's job is stalled three heartbeats (`--heartbeat`, 10 s) after its last.
RETRY_WAIT_SECONDS = 90.0
SETTLE_TIMEOUT_SECONDS = 180.0
KILL_WAIT_MIN_SECONDS = 5.0
POLL_SECONDS = 0.2
MAIL_QUIET_SECONDS = 2.0  # no e-mail waiting, and none new, for this long: delivery is over
DONE_STATUSES = ("succeeded", "failed", "cancelled", "aborted")
KEYS = ("municipalities", "web_processes", "workers", "cases", "intake_per_s", "read_per_s",
        "p99_ms", "planning_makespan_s", "errors", "cases_unowned", "messages_lost",
        "messages_duplicated", "worker_killed", "reads_per_cpu_s", "bare_reads_per_cpu_s",
        "read_cpu_ratio")


@dataclass
class Options:
    municipalities: int
    web: int
    workers: int
    duration: float
    cases: int  # per municipality
    time_limit: float | None
    json_out: Path
    heartbeat: float = HEARTBEAT_SECONDS


def _invalid(message: str) -> None:
    print(f"fasthold bench scale: {message}", file=sys.stderr)


def day_at_ten_times_herning() -> int:
    """A working day of intake at 10x Herning's rate (its `[simulation] inflow_per_month`)."""
    monthly = load_config(HERNING).simulation.inflow_per_month
    return max(1, round(monthly * RATE_FACTOR / WORKING_DAYS_PER_MONTH))


def _options(args: argparse.Namespace) -> Options | None:
    checks = (("municipalities", 1, 99), ("web", 1, 16), ("workers", 2, 16))
    values: dict[str, int] = {}
    for name, low, high in checks:
        value = getattr(args, name)
        if not isinstance(value, int) or not low <= value <= high:
            _invalid(f"--{name}: must be a whole number from {low} to {high}, got {value!r}")
            return None
        values[name] = value
    duration = args.duration
    if not 0 < duration <= 3600:
        _invalid(f"--duration: must be more than 0 and at most 3600 seconds, got {duration!r}")
        return None
    cases = args.cases if args.cases is not None else day_at_ten_times_herning()
    if not 1 <= cases <= 100_000:
        _invalid(f"--cases: must be from 1 to 100000 a municipality, got {cases!r}")
        return None
    if args.time_limit is not None and not 0 < args.time_limit <= 600:
        _invalid(f"--time-limit: must be more than 0 and at most 600 seconds, "
                 f"got {args.time_limit!r}")
        return None
    return Options(values["municipalities"], values["web"], values["workers"],
                   float(duration), cases, args.time_limit, Path(args.json_out),
                   args.heartbeat)


# -- the deployment's configuration --------------------------------------------------------

def municipality_id(index: int) -> str:
    return f"m{index + 1:02d}"


def host_of(index: int) -> str:
    return f"{municipality_id(index)}.fasthold.bench"


def write_config_dir(folder: Path, count: int, time_limit: float | None) -> list[Path]:
    """Herning's configuration N times: distinct id, name, host, mail domain, consultants and
    Slack users; the PostgreSQL job queue; optionally another planning time limit."""
    herning = HERNING.read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(count):
        mid = municipality_id(index)
        text = (herning.replace('id = "herning"', f'id = "{mid}"', 1)
                .replace('name = "Herning Kommune"', f'name = "Bench Kommune {index + 1}"', 1)
                .replace("https://fasthold.herning.example", f"https://{host_of(index)}")
                .replace("@herning.example", f"@{mid}.example")
                .replace('id = "hk', f'id = "{mid}k')
                .replace('slack_user_id = "U0HERN', f'slack_user_id = "U{index + 1:02d}HERN'))
        if time_limit is not None:
            text, found = re.subn(r"(?m)^time_limit_seconds = .*$",
                                  f"time_limit_seconds = {time_limit:g}", text, count=1)
            assert found == 1, "config/herning.toml: [planning] time_limit_seconds"
        if "\n[jobs]" not in text:
            text += '\n[jobs]\nrunner = "procrastinate"\n'
        path = folder / f"{mid}.toml"
        path.write_text(text, encoding="utf-8")
        load_config(path)  # fails here, naming the key, if Herning's file changed shape
        files.append(path)
    return files


def cpr_number(k: int) -> str:
    """The k-th distinct, well-formed CPR number (a possible date, then a serial)."""
    day, month, year = 1 + k % 28, 1 + (k // 28) % 12, (k // 336) % 100
    return f"{day:02d}{month:02d}{year:02d}-{1000 + k // 33_600:04d}"


def intake_requests(count: int, per_municipality: int, keys: list[str], seed: int,
                    today: date) -> list[tuple[str, str, str, str]]:
    """(host, key, case ref, JSON body) for a day's intake, the municipalities interleaved;
    every case with its own CPR and its own employer's CVR."""
    rng = random.Random(seed)
    run = secrets.token_hex(3)
    requests = []
    for n in range(per_municipality):
        for index in range(count):
            k = n * count + index
            ref = f"scale-{run}-{municipality_id(index)}-{n}"
            body = case_body(ref, rng, today)
            body["cpr"] = cpr_number(k)
            body["employer"]["cvr"] = str(20_000_000 + k)
            body["employer"]["name"] = f"Virksomhed {k} ApS"
            requests.append((host_of(index), keys[index], ref, json.dumps(body)))
    return requests


# -- the load driver (a spawned process) -------------------------------------------------

def drive(urls: list[str], phase: str, concurrency: int, duration: float,
          items: list[tuple[str, str, str, str]], seed: int) -> dict[str, Any]:
    """intake: post every item once; read: GET random items' cases for `duration` seconds.
    Requests go round-robin over `urls`. Latencies (ms), outcomes, successes per URL, the
    refs created, the wall time."""
    return asyncio.run(_drive(urls, phase, concurrency, duration, items, seed))


async def _drive(urls: list[str], phase: str, concurrency: int, duration: float,
                 items: list[tuple[str, str, str, str]], seed: int) -> dict[str, Any]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    ok_per_url: Counter[str] = Counter()
    created: list[int] = []
    loop = asyncio.get_running_loop()
    position = iter(range(len(items)))
    sent = 0

    async def one(session: aiohttp.ClientSession, url: str, index: int) -> None:
        host, key, ref, body = items[index]
        headers = {"Host": host, "Authorization": f"Bearer {key}"}
        if phase == "intake":
            request = session.post(f"{url}/api/cases", data=body.encode(),
                                   headers={**headers, "Content-Type": "application/json"})
        else:
            request = session.get(f"{url}/api/cases/{ref}", headers=headers)
        outcome, latency = await timed(request)
        latencies.append(latency)
        outcomes[outcome] += 1
        if outcome in ("200", "201"):
            ok_per_url[url] += 1
            if phase == "intake":
                created.append(index)

    async def worker(session: aiohttp.ClientSession, number: int, deadline: float) -> None:
        nonlocal sent
        rng = random.Random(seed * 100_003 + number)
        while True:
            if phase == "intake":
                index = next(position, None)
                if index is None:
                    return
            else:
                if loop.time() >= deadline:
                    return
                index = rng.randrange(len(items))
            url = urls[sent % len(urls)]
            sent += 1
            await one(session, url, index)

    connector = aiohttp.TCPConnector(limit=concurrency * len(urls))
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        deadline = loop.time() + duration
        await asyncio.gather(*(worker(session, n, deadline) for n in range(concurrency)))
        seconds = time.perf_counter() - started
    return {"latencies_ms": latencies, "outcomes": dict(outcomes),
            "ok_per_url": dict(ok_per_url), "created": created, "seconds": seconds}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    latencies = sorted(result["latencies_ms"])
    ok = sum(result["ok_per_url"].values())
    seconds = result["seconds"]
    return {"requests": len(latencies), "ok": ok, "errors": len(latencies) - ok,
            "outcomes": dict(sorted(result["outcomes"].items())),
            "seconds": round(seconds, 3),
            "per_s": round(ok / seconds, 1) if seconds > 0 else 0.0,
            "p50_ms": _rounded(_percentile(latencies, 50)),
            "p99_ms": _rounded(_percentile(latencies, 99))}


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


# -- the processes of the deployment --------------------------------------------------------

class Proc(Service):
    """A process of the deployment (`fasthold serve`, `fasthold worker`, the bare handler)
    started from its command line: bench_load's `Service` (its own session, log file, stop
    by SIGTERM) with its readiness (a line in its log, and GET /healthz for a web process)."""

    def __init__(self, env: dict[str, str], command: list[str], log_path: Path, ready: str,
                 http: bool) -> None:
        super().__init__(env, PROJECT_ROOT, log_path, key="")
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.ready = ready
        self.http = http

    def launch(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self) -> None:
        if self.process is None:
            self.launch()
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.command[1:3]} exited with status "
                                 f"{self.process.returncode} while starting:\n{self.log_tail()}")
            if self.ready in self.log_path.read_text(errors="replace") and (
                    not self.http or self._healthy()):
                return
            time.sleep(0.1)
        raise BenchError(f"{self.command[1:3]} not ready within {START_TIMEOUT_SECONDS:.0f} s:"
                         f"\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the process and its children (the worker's solver process): a crash."""
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its children so far."""
        if self.process is None:
            return 0.0
        root = psutil.Process(self.process.pid)
        total = 0.0
        for process in (root, *root.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total


def start_all(processes: list[Proc]) -> None:
    """Launch every process, then wait for each (they start side by side)."""
    for process in processes:
        process.launch()
    for process in processes:
        process.start()


class SmtpSink:
    """aiosmtpd on 127.0.0.1: the deployment's mail server; counts messages by Message-ID."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.received[str(message["Message-ID"] or "").strip()] += 1
        return "250 Message accepted"

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self.received)


# -- the run ---------------------------------------------------------------------------------

class Run:
    def __init__(self, options: Options, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.executor = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self.cluster: ThrowawayPostgres | None = None
        self.sink: SmtpSink | None = None
        self.processes: list[Proc] = []
        self.report: dict[str, Any] = {}

    async def driven(self, urls: list[str], phase: str, duration: float,
                     items: list[tuple[str, str, str, str]], seed: int) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, drive, urls, phase, CONCURRENCY,
                                          duration, items, seed)

    def proc(self, env: dict[str, str], command: list[str], name: str, ready: str,
             http: bool) -> Proc:
        process = Proc(env, command, self.workdir / f"{name}.log", ready, http)
        self.processes.append(process)
        return process

    async def run(self) -> dict[str, Any]:
        options, report = self.options, self.report
        count = options.municipalities
        report.update({"municipalities": count, "web_processes": options.web,
                       "workers": options.workers, "cases_per_municipality": options.cases,
                       "duration_s": options.duration})
        phases: dict[str, float] = {}
        report["phase_seconds"] = phases
        mark = time.perf_counter()

        def phase(name: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            phases[name] = round(now - mark, 2)
            mark = now

        folder = self.workdir / "kommuner"
        files = write_config_dir(folder, count, options.time_limit)
        report["planning_time_limit_s"] = load_config(files[0]).planning.time_limit_seconds
        self.cluster = ThrowawayPostgres(max_connections=400).start()
        self.cluster.create_database("fasthold_scale")
        url = self.cluster.url("fasthold_scale", driver="postgresql")
        self.sink = SmtpSink()
        self.sink.controller.start()
        env = _service_env(url, files[0])
        env.pop("FASTHOLD_CONFIG", None)
        env.update({"FASTHOLD_SMTP_HOST": "127.0.0.1", "FASTHOLD_SMTP_PORT": str(self.sink.port),
                    "FASTHOLD_SHUTDOWN_TIMEOUT": "10"})
        upgraded = await asyncio.to_thread(
            subprocess.run, [*_fasthold_command(), "db", "upgrade", "--config", str(files[0])],
            env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
        if upgraded.returncode != 0:
            raise BenchError(f"`fasthold db upgrade` failed: {upgraded.stderr[-2000:]}")
        fasthold = _fasthold_command()
        webs = [self.proc(env, [*fasthold, "serve", "--config-dir", str(folder), "--host",
                                "127.0.0.1", "--port", "{port}"], f"web{n + 1}",
                          "listening on", http=True) for n in range(options.web)]
        workers = [self.worker(env, folder, n + 1, options.heartbeat)
                   for n in range(options.workers)]
        bare = self.proc(env, [sys.executable, "-m", "service.commands.bench_bare", "{port}"],
                         "bare", "listening on", http=True)
        started = asyncio.ensure_future(asyncio.to_thread(start_all, [*webs, *workers, bare]))
        try:
            with ThreadPoolExecutor(max_workers=2) as pool:  # meanwhile, an API key each
                keys = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: list(pool.map(lambda f: _create_key(env, f), files)))
        finally:
            await asyncio.wait([started])  # started (or failed) either way
        started.result()
        phase("setup")
        connection = await asyncpg.connect(url)
        queue = ProcrastinateQueue(url, CLOCK, [municipality_id(i) for i in range(count)],
                                   heartbeat=options.heartbeat)
        await queue.open()
        try:
            await self._wait(lambda: self._registered_workers(connection, options.workers),
                             START_TIMEOUT_SECONDS, "the workers registered in the queue")
            urls = [w.base_url for w in webs]

            # Intake: the day's cases, each requesting a (coalesced) planning run.
            items = intake_requests(count, options.cases, keys, 1, CLOCK.today())
            intake = await self.driven(urls, "intake", 0, items, 1)
            phase("intake")
            created = [items[i] for i in intake["created"]]
            report["intake"] = summary(intake)
            report["cases"] = len(created)
            report["intake_per_s"] = report["intake"]["per_s"]
            if not created:
                raise BenchError(f"no case was created: {report['intake']['outcomes']}")

            # The morning: every municipality's planning deferred through the queue; reads
            # meanwhile; a worker killed while every worker holds a planning job.
            deferred_at = CLOCK.now()
            for index in range(count):
                await queue.defer(PLAN, municipality_id(index), MORNING, coalesce=False)
            web_cpu = webs[0].cpu_seconds()
            reads_task = asyncio.ensure_future(
                self.driven(urls, "read", options.duration, created, 2))
            kill = await self._kill_a_planning_worker(connection, workers, env, folder,
                                                      options.duration)
            retried = asyncio.ensure_future(self._retried(queue, kill))
            reads = await reads_task
            web_cpu = webs[0].cpu_seconds() - web_cpu
            phase("reads")
            await kill["replacement"]  # started (or raises why not)
            report["read"] = summary(reads)
            report["read_per_s"] = report["read"]["per_s"]
            report["p99_ms"] = report["read"]["p99_ms"]
            first_reads = reads["ok_per_url"].get(urls[0], 0)
            report["reads_per_cpu_s"] = round(first_reads / web_cpu, 1) if web_cpu else None
            report["web_cpu_s"] = round(web_cpu, 2)

            # The bare handler, read the same way (while the stalled job waits for its retry).
            bare_cpu = bare.cpu_seconds()
            bare_reads = await self.driven([bare.base_url], "read", options.duration,
                                           created, 3)
            bare_cpu = bare.cpu_seconds() - bare_cpu
            phase("bare_reads")
            report["bare"] = summary(bare_reads)
            bare_ok = report["bare"]["ok"]
            report["bare_reads_per_cpu_s"] = round(bare_ok / bare_cpu, 1) if bare_cpu else None
            report["bare_cpu_s"] = round(bare_cpu, 2)
            report["read_cpu_ratio"] = (
                round(report["bare_reads_per_cpu_s"] / report["reads_per_cpu_s"], 2)
                if report["reads_per_cpu_s"] and report["bare_reads_per_cpu_s"] else None)

            report.update(await retried)
            phase("wait_for_the_retry")
            report.update(await self._morning_done(connection, count, deferred_at))
            phase("wait_for_the_morning")
            report.update(await self._settled_mail(connection))
            phase("wait_for_the_mail")
            report.update(await self._owners(connection))
            report["errors"] = report["intake"]["errors"] + report["read"]["errors"]
            report["bare_errors"] = report["bare"]["errors"]
        finally:
            await queue.stop()
            await connection.close()
        return report

    def worker(self, env: dict[str, str], folder: Path, number: int, heartbeat: float
               ) -> Proc:
        return self.proc(env, [*_fasthold_command(), "worker", "--config-dir", str(folder),
                               "--concurrency", "1", "--heartbeat", f"{heartbeat:g}"],
                         f"worker{number}", "fasthold worker (",
                         http=False)

    @staticmethod
    async def _wait(condition: Callable[[], Awaitable[Any]], timeout: float, what: str
                    ) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await condition()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
            await asyncio.sleep(POLL_SECONDS)

    @staticmethod
    async def _registered_workers(connection: asyncpg.Connection, count: int) -> bool:
        return bool(await connection.fetchval(
            "SELECT count(*) >= $1 FROM procrastinate_workers", count))

    async def _kill_a_planning_worker(self, connection: asyncpg.Connection,
                                      workers: list[Proc], env: dict[str, str],
                                      folder: Path, duration: float) -> dict[str, Any]:
        """SIGKILL the first worker once every worker holds a planning job (each runs one job
        at a time, so the killed one holds one); at the latest after `duration` seconds (or
        a few) whatever it holds. Then launch a replacement (`replacement`: its start)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(duration, KILL_WAIT_MIN_SECONDS)
        holding = False
        doing: list[int] = []
        while loop.time() < deadline:
            doing = [r["id"] for r in await connection.fetch(
                "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND task_name = $1",
                PLAN)]
            if len(doing) >= len(workers):
                holding = True
                break
            await asyncio.sleep(0.05)
        victim = workers[0]
        if not holding:
            doing = [r["id"] for r in await connection.fetch(
                "SELECT id FROM procrastinate_jobs WHERE status = 'doing'")]
        await asyncio.to_thread(victim.kill)
        killed_at = CLOCK.now()
        self.report["killed_at"] = killed_at.isoformat(timespec="milliseconds")
        replacement = self.worker(env, folder, len(self.processes) + 1, self.options.heartbeat)
        replacement.launch()
        workers[0] = replacement
        return {"killed_at": killed_at, "held_planning_job": holding, "doing_at_kill": doing,
                "replacement": asyncio.ensure_future(asyncio.to_thread(replacement.start))}

    async def _retried(self, queue: ProcrastinateQueue, kill: dict[str, Any]
                       ) -> dict[str, Any]:
        """From the kill on, run the queue's stalled-job task each second (the workers run it
        each minute, when one is free) until a job the killed worker held was put back to
        run again (its `deferred_for_retry` event; `aborted` when a waiting run of its key
        takes over), at most RETRY_WAIT_SECONDS after the kill. Whichever job that is: the
        jobs "doing" when every worker held one are not always the killed worker's at the
        kill — on a loaded machine it may have finished its job and begun the next in the
        moment between (nothing else retries or aborts a job in the run)."""
        assert self.cluster is not None
        connection = await asyncpg.connect(self.cluster.url("fasthold_scale",
                                                            driver="postgresql"))
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + RETRY_WAIT_SECONDS
            doing: list[int] = kill["doing_at_kill"]
            retried: list[asyncpg.Record] = []
            held = True
            while doing and loop.time() < deadline:
                await queue.retry_stalled_jobs()
                retried = await connection.fetch(
                    "SELECT job_id, min(at) AS at FROM procrastinate_events "
                    "WHERE at >= $1 "
                    "AND type::text IN ('deferred_for_retry', 'aborted') GROUP BY job_id",
                    kill["killed_at"])
                if retried:
                    break
                # A job the killed worker held at its death stays "doing" until it is
                # retried. When no job begun before the kill is doing any more, the worker
                # had finished its job in the moment between the look and the kill (a
                # loaded machine) and held none: there is nothing to retry.
                held = bool(await connection.fetchval(
                    "SELECT count(*) FROM procrastinate_jobs j WHERE j.status = 'doing' "
                    "AND EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id "
                    "AND e.type::text = 'started' AND e.at < $1)", kill["killed_at"]))
                if not held:
                    break
                await asyncio.sleep(1.0)
            events = {r["job_id"]: r["events"] for r in await connection.fetch(
                "SELECT job_id, array_agg(type::text || ' ' || to_char(at, 'HH24:MI:SS.MS') "
                "ORDER BY id) AS events FROM procrastinate_events "
                "WHERE job_id = ANY($1::bigint[]) GROUP BY job_id",
                doing + [r["job_id"] for r in retried])}
        finally:
            await connection.close()
        killed_at: datetime = kill["killed_at"]
        return {"worker_killed": True,
                "killed_holding_planning_job": kill["held_planning_job"] and held,
                "kill_landed_between_jobs": kill["held_planning_job"] and not held,
                "stalled_jobs_retried": len(retried),
                "retry_after_kill_s": round(min(
                    (r["at"] - killed_at).total_seconds() for r in retried), 1)
                if retried else None,
                "jobs_at_kill": events}

    async def _morning_done(self, connection: asyncpg.Connection, count: int,
                            deferred_at: datetime) -> dict[str, Any]:
        async def done() -> bool:
            waiting = await connection.fetchval(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = $1 "
                "AND args->>'reason' = $2 AND status::text <> ALL($3::text[])",
                PLAN, MORNING, list(DONE_STATUSES))
            planned = await connection.fetchval(
                "SELECT count(DISTINCT municipality_id) FROM planning_runs "
                "WHERE trigger = $1", MORNING)
            return waiting == 0 and planned >= count

        await self._wait(done, SETTLE_TIMEOUT_SECONDS + RETRY_WAIT_SECONDS,
                         "every municipality's morning planning run")
        rows = await connection.fetch(
            "SELECT municipality_id, max(started_at) AS stored, "
            "max((metrics->>'run_seconds')::float) AS run_s FROM planning_runs "
            "WHERE trigger = $1 GROUP BY municipality_id", MORNING)
        last = max(r["stored"] for r in rows)
        failed = await connection.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = $1 "
            "AND args->>'reason' = $2 AND status::text <> 'succeeded' "
            "AND status::text <> 'aborted'", PLAN, MORNING)
        return {"planning_makespan_s": round((last - deferred_at).total_seconds(), 2),
                "morning_run_seconds": {r["municipality_id"]: float(r["run_s"])
                                        for r in rows if r["run_s"] is not None},
                "planning_runs": await connection.fetchval(
                    "SELECT count(*) FROM planning_runs"),
                "morning_jobs_failed": failed}

    async def _settled_mail(self, connection: asyncpg.Connection) -> dict[str, Any]:
        """Wait until no e-mail is waiting to be sent (nothing new for a while), then compare
        the outbox with what the SMTP sink received."""
        assert self.sink is not None
        quiet_since = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT_SECONDS
        seen = -1
        while loop.time() < deadline:
            pending, total = await connection.fetchrow(
                "SELECT count(*) FILTER (WHERE status IN ('pending', 'sending')), count(*) "
                "FROM outbox WHERE channel = 'email'")
            if pending == 0 and total == seen:
                quiet_since = quiet_since or loop.time()
                if loop.time() - quiet_since >= MAIL_QUIET_SECONDS:
                    break
            else:
                quiet_since, seen = None, total
            await asyncio.sleep(0.5)
        rows = await connection.fetch(
            "SELECT message_id, status FROM outbox WHERE channel = 'email'")
        received = self.sink.counts()
        statuses = Counter(r["status"] for r in rows)
        lost = sum(1 for r in rows if r["status"] not in ("sent", "obsolete")
                   or (r["status"] == "sent" and received.get(r["message_id"], 0) == 0))
        known = {r["message_id"] for r in rows}
        return {"messages": len(rows), "message_statuses": dict(sorted(statuses.items())),
                "messages_received": sum(received.values()),
                "messages_lost": lost,
                "messages_duplicated": sum(n - 1 for n in received.values() if n > 1),
                "messages_unknown": sum(n for mid, n in received.items() if mid not in known)}

    @staticmethod
    async def _owners(connection: asyncpg.Connection) -> dict[str, Any]:
        """Open target cases without an owner: unexplained (the planner should have owned
        them) and those it left unassigned with a reason (`owner_reasons` "ikke fordelt")."""
        rows = await connection.fetch(
            "SELECT owner_reasons::text AS reasons FROM cases WHERE status = 'target' "
            "AND closed_on IS NULL AND owner_id IS NULL")
        explained = [r["reasons"] for r in rows if "ikke fordelt" in (r["reasons"] or "")]
        return {"cases_target": await connection.fetchval(
                    "SELECT count(*) FROM cases WHERE status = 'target'"),
                "cases_unowned": len(rows) - len(explained),
                "cases_unassigned_with_reason": len(explained)}

    def close(self) -> dict[str, Any]:
        exits: dict[str, Any] = {}
        with ThreadPoolExecutor(max_workers=max(1, len(self.processes))) as pool:
            for process, status in zip(self.processes,
                                       pool.map(lambda p: p.stop(), self.processes),
                                       strict=True):
                exits[process.log_path.stem] = status
        self.executor.shutdown(wait=True, cancel_futures=True)
        if self.sink is not None:
            self.sink.controller.stop()
        if self.cluster is not None:
            self.cluster.stop()
        return exits


# -- output ------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(report: dict[str, Any]) -> list[str]:
    r = report
    rows = [
        ("municipalities", r.get("municipalities"), "generated from config/herning.toml, one "
         "deployment (--config-dir)"),
        ("web processes", r.get("web_processes"), "fasthold serve, requests spread over them"),
        ("workers", r.get("workers"), "fasthold worker --concurrency 1"),
        ("cases", r.get("cases"), f"{r.get('cases_per_municipality')} a municipality: a "
         "day at 10x Herning's rate"),
        ("intake/s", r.get("intake_per_s"), "POST /api/cases, "
         f"p99 {_cell((r.get('intake') or {}).get('p99_ms'))} ms"),
        ("reads/s", r.get("read_per_s"), f"GET /api/cases/{{id}} for {r.get('duration_s'):g} s "
         "during the morning planning"),
        ("read p99 ms", r.get("p99_ms"), ""),
        ("planning makespan s", r.get("planning_makespan_s"), "first defer -> last plan "
         f"stored (time limit {r.get('planning_time_limit_s')} s, a retry after the kill)"),
        ("errors", r.get("errors"), "non-2xx and connection errors"),
        ("cases unowned", r.get("cases_unowned"), f"+{r.get('cases_unassigned_with_reason')} "
         "left unassigned by the planner with a reason"),
        ("messages lost", r.get("messages_lost"), f"of {r.get('messages')} e-mails"),
        ("messages duplicated", r.get("messages_duplicated"), "by Message-ID at the sink"),
        ("worker killed", r.get("worker_killed"), "SIGKILL while holding a planning job"
         if r.get("killed_holding_planning_job") else
         "SIGKILL just after it finished its job (nothing to retry)"
         if r.get("kill_landed_between_jobs") else "SIGKILL"),
        ("stalled jobs retried", r.get("stalled_jobs_retried"),
         f"{_cell(r.get('retry_after_kill_s'))} s after the kill"),
        ("reads/CPU-s, one web", r.get("reads_per_cpu_s"), "fasthold serve (psutil)"),
        ("reads/CPU-s, bare", r.get("bare_reads_per_cpu_s"), "aiohttp + asyncpg, one SELECT"),
        ("read CPU ratio", r.get("read_cpu_ratio"), "bare / fasthold (aim: <= 5)"),
    ]
    return ["metric | value | note"] + [f"{name} | {_cell(value)} | {note}".rstrip(" |")
                                        for name, value, note in rows]


def broken(report: dict[str, Any]) -> list[str]:
    """What failed the run: errors, lost or duplicated messages, unowned cases, no retry."""
    problems = [f"{key} = {report.get(key)}" for key in
                ("errors", "messages_lost", "messages_duplicated", "cases_unowned")
                if report.get(key) != 0]
    if report.get("killed_holding_planning_job") and not report.get("stalled_jobs_retried"):
        problems.append("the killed worker's planning job was not retried")
    return problems


def run(args: argparse.Namespace) -> int:
    options = _options(args)
    if options is None:
        return EXIT_INVALID
    if postgres_bindir() is None:
        _invalid(f"PostgreSQL server binaries not found ({POSTGRES_GLOB}); install the "
                 "postgresql package")
        return 1
    print(f"fasthold bench scale: {options.municipalities} municipalities, {options.web} web "
          f"processes, {options.workers} workers, {options.cases} cases a municipality, "
          f"reads for {options.duration:g} s ({os.cpu_count()} CPUs)", flush=True)
    started = CLOCK.now().isoformat(timespec="seconds")
    workdir = Path(tempfile.mkdtemp(prefix="fasthold-bench-scale-"))
    bench = Run(options, workdir)
    error = None
    try:
        asyncio.run(bench.run())
    except (BenchError, PostgresStartError, ConfigError, subprocess.SubprocessError,
            OSError) as exc:
        error = str(exc)
        _invalid(error)
    finally:
        exits = bench.close()
        if args.keep_logs:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report = {"benchmark": "scale", "started": started, **bench.report, "error": error,
              "exit_statuses": exits, "python": platform.python_version(),
              "cpus": os.cpu_count()}
    print("\n".join(table(report)), flush=True)
    problems = broken(report) if error is None else [error]
    for problem in problems:
        print(f"  PROBLEM: {problem}", file=sys.stderr)
    out = options.json_out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n",
                   encoding="utf-8")
    print(f"written to {out}")
    return 1 if problems else 0
