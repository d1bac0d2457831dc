"""`GET /api/operations` (admin): what an operator watches, for one municipality.

The job queue (waiting jobs, the oldest's age, stalled and failed jobs), the outbox (messages
waiting and the oldest's age, failed deliveries, letters to print; messages of a channel this
service has no sender for — Slack without a bot token — counted apart, `not_sent_no_channel`,
never in the waiting figures whose age is alerted on), the planning runs (the
last one's age and duration, the longest of the day), the cases the plan left without an
owner and the ended cases whose personal data were erased (`[retention]`). Counts and ages
only: no case, person or message text. Cheap enough to poll every minute (indexed counts;
the job figures read procrastinate's tables on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.keys import CLOCK, CONFIG, DB, OUTBOX
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Case, OutboxMessage, PlanningRun
from service.platform.http import json_response, require
from service.platform.jobqueue import STALLED_AFTER_SECONDS
from service.platform.openapi import Operation, document
from service.platform.pages import add_nav, page_principal, render

PLANNED = ("workplace_meeting", "jobcenter_meeting", "telephone")

_JOBS = text("""
SELECT  -- procrastinate's timestamps are the database's: measured by its clock
  count(*) FILTER (WHERE j.status = 'todo'
                   AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS waiting,
  count(*) FILTER (WHERE j.status = 'todo' AND j.scheduled_at > now()) AS scheduled,
  count(*) FILTER (WHERE j.status = 'doing') AS doing,
  count(*) FILTER (WHERE j.status = 'doing' AND (w.id IS NULL
                   OR w.last_heartbeat < now() - make_interval(secs => :stalled))) AS stalled,
  count(*) FILTER (WHERE j.status = 'failed') AS failed,
  EXTRACT(EPOCH FROM now() - min(GREATEST(j.scheduled_at, e.deferred_at))
      FILTER (WHERE j.status = 'todo'
              AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()))) AS oldest_waiting
FROM procrastinate_jobs j
LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
LEFT JOIN LATERAL (SELECT min(at) AS deferred_at FROM procrastinate_events
                   WHERE job_id = j.id AND type = 'deferred') e ON true
WHERE j.args->>'municipality_id' = :municipality
""")


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else round((now - as_utc(then)).total_seconds(), 1)


class OperationsStatus:
    """The figures, read in one snapshot."""

    def __init__(self, db: Database, clock: Clock, municipality_id: str, queue: bool,
                 channels: frozenset[str] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.municipality_id = municipality_id
        self.queue = queue  # the PostgreSQL job queue ([jobs] runner = "procrastinate")
        # the outbox's channels that have a sender here (None: count every channel)
        self.channels = channels

    async def figures(self) -> dict[str, Any]:
        now = self.clock.utcnow()
        async with self.db.snapshot() as session:
            return {"municipality": self.municipality_id, "at": now.isoformat(),
                    "jobs": await self._jobs(session),
                    "outbox": await self._outbox(session, now),
                    "planning": await self._planning(session, now),
                    "cases": await self._cases(session)}

    async def _jobs(self, session: AsyncSession) -> dict[str, Any]:
        if not self.queue:
            return {"runner": "in_process"}  # the web process runs them; nothing queued
        # a job "doing" on a worker silent for longer than this is stalled (the queue's own
        # threshold: a periodic task runs it again)
        row = (await session.execute(_JOBS, {
            "stalled": STALLED_AFTER_SECONDS, "municipality": self.municipality_id})).one()
        oldest = None if row.oldest_waiting is None else round(float(row.oldest_waiting), 1)
        return {"runner": "procrastinate", "waiting": row.waiting, "scheduled": row.scheduled,
                "doing": row.doing, "stalled": row.stalled, "failed": row.failed,
                "oldest_waiting_age_s": oldest}

    async def _outbox(self, session: AsyncSession, now: datetime) -> dict[str, Any]:
        """Waiting: messages due to be sent by a channel this service can deliver (their
        oldest's age is the alert: the server down, or delivery not running). Messages of a
        channel without a sender here (Slack without a bot token: the demo's Slack page
        reads them) wait for ever by design — counted apart, never alerted on."""
        mine = OutboxMessage.municipality_id == self.municipality_id
        waiting = OutboxMessage.status.in_(("pending", "sending"))
        deliverable = (OutboxMessage.channel.in_(sorted(self.channels))
                       if self.channels is not None else waiting)
        counts = dict((await session.execute(
            select(OutboxMessage.status, func.count()).where(mine)
            .group_by(OutboxMessage.status))).all())
        sendable, oldest = (await session.execute(select(
            func.count(), func.min(OutboxMessage.created_at)).where(
            mine, waiting, deliverable))).one()
        all_waiting = counts.get("pending", 0) + counts.get("sending", 0)
        return {"waiting": int(sendable), "oldest_waiting_age_s": _age(now, oldest),
                "not_sent_no_channel": all_waiting - int(sendable),
                "failed": counts.get("failed", 0),
                "letters_to_print": counts.get("to_print", 0)}

    async def _planning(self, session: AsyncSession, now: datetime) -> dict[str, Any]:
        runs = (await session.execute(select(PlanningRun).where(
            PlanningRun.municipality_id == self.municipality_id,
            PlanningRun.started_at >= now - timedelta(days=1))
            .order_by(PlanningRun.id.desc()))).scalars().all()
        last = runs[0] if runs else (await session.execute(select(PlanningRun).where(
            PlanningRun.municipality_id == self.municipality_id)
            .order_by(PlanningRun.id.desc()).limit(1))).scalar_one_or_none()
        durations = [float(r.metrics.get("run_seconds") or 0) for r in runs
                     if isinstance(r.metrics, dict)]
        if last is None:
            return {"last_run_age_s": None, "runs_last_day": 0}
        metrics = last.metrics if isinstance(last.metrics, dict) else {}
        return {"last_run_age_s": _age(now, last.started_at), "last_run_trigger": last.trigger,
                "last_run_status": last.status, "last_run_solver": last.solver,
                "last_run_fell_back": last.error is not None,
                "last_run_seconds": metrics.get("run_seconds"),
                "last_run_partitions": metrics.get("partitions", 1),
                "last_run_meetings_missing": metrics.get("meetings_missing"),
                "runs_last_day": len(runs),
                "longest_run_last_day_s": max(durations) if durations else None}

    async def _cases(self, session: AsyncSession) -> dict[str, Any]:
        open_cases = (Case.municipality_id == self.municipality_id, Case.status == "target",
                      Case.closed_on.is_(None), Case.follow_up.in_(PLANNED))
        total, unowned = (await session.execute(select(
            func.count(), func.count().filter(Case.owner_id.is_(None))).where(*open_cases))
        ).one()
        # `[retention]`: the cases whose personal data were erased, and the last erasure
        erased, last = (await session.execute(select(func.count(), func.max(Case.erased_at))
                                              .where(Case.municipality_id == self.municipality_id,
                                                     Case.erased_at.is_not(None)))).one()
        return {"open": total, "unassigned": unowned, "erased": erased,
                "last_erasure_age_s": _age(self.clock.utcnow(), last)}


class OperationsOut(BaseModel):
    municipality: str
    at: datetime
    jobs: dict[str, object]
    outbox: dict[str, object]
    planning: dict[str, object]
    cases: dict[str, object]


def _status(request: web.Request) -> OperationsStatus:
    config = request.app[CONFIG]
    deliverer = request.app.get(OUTBOX)
    channels = frozenset(deliverer.senders) if deliverer is not None else None
    return OperationsStatus(request.app[DB], request.app[CLOCK], config.municipality.id,
                            config.jobs.runner == "procrastinate", channels)


async def operations(request: web.Request) -> web.Response:
    await require(request, "admin")
    return json_response(await _status(request).figures())


@dataclass(frozen=True)
class FigureRow:
    """One figure of the page: its words, its value in words, and whether to act on it
    (the README's "What an operator monitors": the thresholds to alert on)."""

    label: str
    value: str
    alert: bool
    meaning: str


def _duration(seconds: object) -> str:
    """An age in Danish: '45 sek.', '12 min.', '3 t. 5 min.', '2 døgn'."""
    if not isinstance(seconds, (int, float)):
        return "–"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} sek."
    if whole < 3600:
        return f"{whole // 60} min."
    if whole < 86_400:
        return f"{whole // 3600} t. {whole % 3600 // 60} min."
    return f"{whole // 86_400} døgn"


def _number(value: object) -> str:
    return "–" if value is None else str(value)


def figure_rows(figures: dict[str, Any]) -> dict[str, list[FigureRow]]:
    """The figures by section, in words, each with whether it calls for action."""
    jobs, outbox = figures["jobs"], figures["outbox"]
    planning, cases = figures["planning"], figures["cases"]
    out: dict[str, list[FigureRow]] = {}
    if jobs.get("runner") == "procrastinate":
        out["Jobkø (PostgreSQL)"] = [
            FigureRow("Ældste ventende job", _duration(jobs["oldest_waiting_age_s"]),
                      (jobs["oldest_waiting_age_s"] or 0) > 300,
                      "over 5 min.: ingen worker, eller for få"),
            FigureRow("Job der hænger", _number(jobs["stalled"]), jobs["stalled"] > 0,
                      "en worker døde midt i et job"),
            FigureRow("Fejlede job", _number(jobs["failed"]), jobs["failed"] > 0,
                      "se workerens log"),
            FigureRow("Venter / planlagt / i gang",
                      f"{jobs['waiting']} / {jobs['scheduled']} / {jobs['doing']}", False, "")]
    else:
        out["Job"] = [FigureRow("Afvikles af", "webprocessen selv", False,
                                "[jobs] runner = \"in_process\"")]
    out["Udgående beskeder"] = [
        FigureRow("Venter på at blive sendt", _number(outbox["waiting"]), False, ""),
        FigureRow("Venter uden kanal", _number(outbox.get("not_sent_no_channel")), False,
                  "fx Slack uden bot-token: sendes ikke, før kanalen er sat op"),
        FigureRow("Ældste ventende", _duration(outbox["oldest_waiting_age_s"]),
                  (outbox["oldest_waiting_age_s"] or 0) > 900,
                  "over 15 min.: mailserver eller Slack kan ikke nås"),
        FigureRow("Fejlet for godt", _number(outbox["failed"]), outbox["failed"] > 0,
                  "fx en forkert adresse: se Forsendelser"),
        FigureRow("Breve til print", _number(outbox["letters_to_print"]), False,
                  "se Breve til print")]
    age = planning.get("last_run_age_s")
    out["Planlægning"] = [
        FigureRow("Seneste kørsel", "aldrig" if age is None else f"for {_duration(age)} siden",
                  age is None or age > 26 * 3600,
                  "over 26 t. på en arbejdsdag: morgenens kørsel kom ikke"),
        FigureRow("Seneste kørsels varighed", "–" if planning.get("last_run_seconds") is None
                  else f"{planning['last_run_seconds']:.1f} sek.".replace(".", ",", 1), False,
                  ""),
        FigureRow("Faldt tilbage til den enkle plan",
                  "ja" if planning.get("last_run_fell_back") else "nej",
                  bool(planning.get("last_run_fell_back")),
                  "CP-SAT fejlede; se planlægningskørslerne"),
        FigureRow("Kørsler det seneste døgn", _number(planning.get("runs_last_day")), False,
                  "")]
    out["Sager"] = [
        FigureRow("Åbne sager i målgruppen", _number(cases["open"]), False, ""),
        FigureRow("Uden konsulent", _number(cases["unassigned"]), cases["unassigned"] > 0,
                  "ingen konsulent har plads: se Nøgletal"),
        FigureRow("Personoplysninger slettet", _number(cases["erased"]), False,
                  "afsluttede sager efter opbevaringsperioden"),
        FigureRow("Seneste sletning", "aldrig" if cases["last_erasure_age_s"] is None
                  else f"for {_duration(cases['last_erasure_age_s'])} siden", False, "")]
    return out


async def page(request: web.Request) -> web.Response:
    await page_principal(request, "admin")
    figures = await _status(request).figures()
    return render(request, "platform/operations.html", sections=figure_rows(figures),
                  at=datetime.fromisoformat(figures["at"]))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/operations", operations, name="operations")


def add_page_routes(app: web.Application) -> None:
    """The page (after the staff pages' foundation: it adds its menu entry)."""
    app.router.add_get("/admin/drift", page, name="operations_page")
    add_nav(app, "Drift", "/admin/drift", ["admin"], order=920)


document(
    Operation("get", "/api/operations", "What an operator watches: the job queue, the "
              "outbox, the planning runs and the cases left without an owner (counts and "
              "ages in seconds)", roles=("admin",), responses={200: OperationsOut}),
)
