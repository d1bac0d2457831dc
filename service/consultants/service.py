"""The consultants as the app manages them: list, read, add and change them (the database is
the truth; the configuration only seeds it, `service.planning.consultants`), make one
inactive (with their open cases handed to the planner), and their absences — whole days the
planner treats as busy (`service.planning.instance`).

Who may do what is in `service.platform.policies` (`READ_CONSULTANT`, `MANAGE_CONSULTANTS`,
`MANAGE_ABSENCES`): a consultant reads, and registers absences, for themselves only; another
consultant is answered exactly as one that does not exist. Every change is in the audit log
and asks for a planning run.

The other areas read the consultants here too (the owner choices of the pages, the OpenAPI
document's list of ids) or are told of every change (`listeners`: Slack's people), so a
consultant added in the app is everywhere at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.config import MunicipalityConfig
from service.consultants.absences import long_absence_days
from service.consultants.caseload import active_case, caseloads
from service.consultants.schemas import (
    MAX_ABSENCE_DAYS,
    AbsenceIn,
    ConsultantChanges,
    ConsultantIn,
)
from service.places import AddressPlacer, Placement, Placer
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Case, Consultant, ConsultantAbsence, Meeting
from service.platform.errors import Conflict, Invalid, NotFound, field_error
from service.platform.inputs import merge_patch, validated_json
from service.platform.jobqueue import PLAN, JobQueue
from service.platform.policies import MANAGE_ABSENCES, MANAGE_CONSULTANTS, READ_CONSULTANT

log = logging.getLogger("fasthold.consultants")

# The fields a consultant has beside their id (what a change may touch).
FIELDS = tuple(name for name in ConsultantChanges.model_fields if name != "open_cases")
# Why a confirmed meeting needs another consultant ("møder der skal flyttes").
INACTIVE = "inactive"


@dataclass(frozen=True)
class DirectoryEntry:
    """Who a consultant is, for the channels that name them (Slack, the owner choices)."""

    key: str
    name: str
    slack_user_id: str | None
    team: str
    active: bool


@dataclass(frozen=True)
class ConsultantView:
    """A consultant as the API and the pages show them, with their current load."""

    id: str
    name: str
    email: str
    phone: str
    slack_user_id: str | None
    team: str
    location: dict[str, float]
    location_precision: str | None
    address: str | None
    skills: list[str]
    max_active_cases: int
    meetings_per_day: int
    working_hours: dict[str, list[str]] | None
    workplace_meetings: bool
    workplace_meetings_from: date | None
    fixed_employers: list[str]
    active: bool
    active_cases: int
    source: str
    changed_in_app_at: datetime | None

    def does_workplace_meetings_on(self, day: date) -> bool:
        return self.workplace_meetings and (self.workplace_meetings_from is None
                                            or day >= self.workplace_meetings_from)


@dataclass(frozen=True)
class AbsenceView:
    id: int
    consultant_id: str
    first_day: date
    last_day: date
    reason: str
    note: str | None
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class Deactivated:
    """What making a consultant inactive did to their work."""

    cases_released: list[str] = field(default_factory=list)
    meetings_marked: int = 0


class OpenCases(Conflict):
    """The consultant still has open cases and the request did not say what happens to them
    (`open_cases: "reassign"`)."""

    def __init__(self, key: str, cases: list[str]) -> None:
        super().__init__(f"consultant {key!r} has {len(cases)} open case(s); say "
                         "\"open_cases\": \"reassign\" to hand them to the planner",
                         "consultant_has_open_cases", {"count": len(cases)})
        self.cases = cases




class LongAbsenceListener(Protocol):
    """Told, in the registering transaction, of a long absence
    (`service.consultants.absences`): the Slack intake channel hears of it once."""

    async def long_absence(self, session: AsyncSession, consultant: Consultant,
                           absence: ConsultantAbsence, working_days: int) -> None: ...


class ConsultantService:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock, jobs: JobQueue,
                 listeners: list[Callable[[list[DirectoryEntry]], None]] | None = None,
                 placer: AddressPlacer | None = None,
                 absence_listener: LongAbsenceListener | None = None) -> None:
        self.db = db
        self.absence_listener = absence_listener
        # A base address typed without coordinates is placed on the map (service.places).
        self.placer = placer or Placer(config.places)
        self.config = config
        self.clock = clock
        self.jobs = jobs
        self.municipality = config.municipality.id
        self.listeners = list(listeners or [])
        # Every consultant (active or not) as last read: for the channels that cannot wait
        # for the database (Slack's people). Refreshed at start and after every change.
        self.directory: list[DirectoryEntry] = []

    # -- reading ------------------------------------------------------------------------------

    async def refresh(self) -> list[DirectoryEntry]:
        """Read every consultant again and tell the listeners."""
        async with self.db.read() as session:
            rows = await self._rows(session)
        self.directory = [DirectoryEntry(r.key, r.name, r.slack_user_id, r.team, r.active)
                          for r in rows]
        for listener in self.listeners:
            listener(self.directory)
        return self.directory

    async def choices(self, *, active_only: bool = True) -> list[tuple[str, str]]:
        """(id, name) of the consultants, by name: what an owner choice offers."""
        async with self.db.read() as session:
            rows = await self._rows(session)
        return [(r.key, r.name) for r in rows if r.active or not active_only]

    async def find(self, key: str) -> ConsultantView | None:
        """A consultant by id, with no policy (for the service's own use: a page's hours)."""
        async with self.db.read() as session:
            row = await self._row(session, key)
            if row is None:
                return None
            load = await caseloads(session, self.municipality, owners=[row.id])
        return self._view(row, load.get(row.id, 0))

    async def list(self, principal: Principal) -> list[ConsultantView]:
        """Every consultant (a consultant: themselves only), by name, with their load."""
        READ_CONSULTANT.require_role(principal)
        async with self.db.read() as session:
            rows = [r for r in await self._rows(session)
                    if READ_CONSULTANT.allows(principal, r.key)]
            load = await caseloads(session, self.municipality)
        return [self._view(r, load.get(r.id, 0)) for r in rows]

    async def get(self, key: str, principal: Principal) -> ConsultantView:
        READ_CONSULTANT.require_role(principal)
        if not READ_CONSULTANT.allows(principal, key):
            raise self._not_found()
        view = await self.find(key)
        if view is None:
            raise self._not_found()
        return view

    # -- changing -----------------------------------------------------------------------------

    async def create(self, data: ConsultantIn, principal: Principal) -> ConsultantView:
        """A new consultant (`source="app"`); an id already taken is a conflict."""
        MANAGE_CONSULTANTS.require_role(principal)
        placed = await self._place(data)
        async with self.db.write() as session:
            if await self._row(session, data.id) is not None:
                raise Conflict(f"a consultant with id {data.id!r} exists already",
                               "consultant_exists", {"consultant_id": data.id})
            row = Consultant(municipality_id=self.municipality, key=data.id, source="app")
            await self._check(session, data, None)
            self._apply(row, data, placed, relocate=True)
            row.changed_in_app_at = self.clock.utcnow()
            session.add(row)
            await session.flush()
            audit.record(session, principal, self.municipality, "consultant.create",
                         details={"consultant": data.id, "active": data.active})
            view = self._view(row, 0)
        await self._changed("consultant_added")
        return view

    async def update(self, key: str, patch: dict[str, Any], principal: Principal
                     ) -> tuple[ConsultantView, Deactivated | None]:
        """Apply a JSON merge patch of `ConsultantChanges`; the merged consultant must be
        valid. Making an active consultant with open cases inactive needs
        `open_cases: "reassign"` (else `OpenCases`)."""
        MANAGE_CONSULTANTS.require_role(principal)
        if "id" in patch:
            raise Invalid.field("id", "the consultant's id cannot change", "read_only")
        deactivated: Deactivated | None = None
        # Placing an address may ask an online geocoder: before the transaction, and only
        # when the patch gives a new address without coordinates.
        relocate = ("location" in patch and patch["location"] is None) or (
            "address" in patch and "location" not in patch)
        placed = None
        if relocate:
            address = patch.get("address") if "address" in patch else \
                await self._address_of(key)
            if isinstance(address, str) and address.strip():
                placed = await self._place_text(address)
        async with self.db.write() as session:
            row = await self._row(session, key)
            if row is None:
                raise self._not_found()
            current = self._current(row)
            if relocate:
                current["location"] = None  # the address decides where they start from
            merged = merge_patch(current, patch)
            if isinstance(patch.get("working_hours"), dict):
                # The week is replaced whole: a day given as null is a day off.
                merged["working_hours"] = patch["working_hours"]
            data = validated_json(ConsultantChanges, merged)
            await self._check(session, data, row)
            before = self._current(row)
            if row.active and not data.active:
                deactivated = await self._deactivate(session, row, data.open_cases, principal)
            self._apply(row, data, placed, relocate=relocate)
            after = self._current(row)
            changed = sorted(name for name in FIELDS if before.get(name) != after.get(name))
            if changed:
                row.changed_in_app_at = self.clock.utcnow()
                audit.record(session, principal, self.municipality, "consultant.change",
                             details={"consultant": key, "changed": changed})
            load = await caseloads(session, self.municipality, owners=[row.id])
            view = self._view(row, load.get(row.id, 0))
        if changed:
            await self._changed("consultant_changed")
        return view, deactivated

    async def open_cases(self, key: str) -> list[str]:
        """The consultant's open cases (case ids), for a page to ask what happens to them."""
        async with self.db.read() as session:
            row = await self._row(session, key)
            return [] if row is None else await self._open_cases(session, row)

    # -- absences -----------------------------------------------------------------------------

    async def add_absence(self, key: str, absence: AbsenceIn, principal: Principal
                          ) -> AbsenceView:
        """Whole days away, `from`..`to` inclusive (at most `MAX_ABSENCE_DAYS` days)."""
        row_key = await self._absence_owner(key, principal)
        if absence.to < absence.from_:
            raise Invalid.field("to", "must not be before from", "before_first_day",
                                {"from": absence.from_.isoformat()})
        days = (absence.to - absence.from_).days + 1
        if days > MAX_ABSENCE_DAYS:
            raise Invalid.field("to", f"an absence is at most {MAX_ABSENCE_DAYS} days",
                                "absence_too_long", {"max_days": MAX_ABSENCE_DAYS})
        async with self.db.write() as session:
            row = await self._row(session, row_key)
            if row is None:
                raise self._not_found()
            entry = ConsultantAbsence(
                municipality_id=self.municipality, consultant_id=row.id,
                first_day=absence.from_, last_day=absence.to, reason=absence.reason,
                note=absence.note, created_by=principal.actor[:64],
                created_at=self.clock.utcnow())
            session.add(entry)
            await session.flush()
            audit.record(session, principal, self.municipality, "consultant.absence_add",
                         details={"consultant": key, "absence": entry.id,
                                  "from": absence.from_.isoformat(),
                                  "to": absence.to.isoformat()})
            long = long_absence_days(self.config, absence.from_, absence.to)
            if long is not None and self.absence_listener is not None:
                await self.absence_listener.long_absence(session, row, entry, long)
            view = self._absence_view(entry, key)
        self.jobs.request(PLAN, self.municipality, "absence")
        return view

    async def absences(self, key: str, principal: Principal, *, include_past: bool = False
                       ) -> list[AbsenceView]:
        """The consultant's absences not deleted — those not yet over unless `include_past`
        — by first day."""
        row_key = await self._absence_owner(key, principal)
        async with self.db.read() as session:
            row = await self._row(session, row_key)
            if row is None:
                raise self._not_found()
            query = select(ConsultantAbsence).where(
                ConsultantAbsence.consultant_id == row.id,
                ConsultantAbsence.deleted_at.is_(None))
            if not include_past:
                query = query.where(ConsultantAbsence.last_day >= self.clock.today())
            rows = (await session.execute(query.order_by(
                ConsultantAbsence.first_day, ConsultantAbsence.id))).scalars().all()
        return [self._absence_view(a, key) for a in rows]

    async def delete_absence(self, key: str, absence_id: int, principal: Principal) -> None:
        """Soft delete (`deleted_at`): the planner no longer counts the days."""
        row_key = await self._absence_owner(key, principal)
        async with self.db.write() as session:
            row = await self._row(session, row_key)
            entry = None if row is None else (await session.execute(
                select(ConsultantAbsence).where(
                    ConsultantAbsence.id == absence_id,
                    ConsultantAbsence.consultant_id == row.id,
                    ConsultantAbsence.deleted_at.is_(None)))).scalar_one_or_none()
            if entry is None:
                raise NotFound("no such absence", "absence_not_found")
            entry.deleted_at = self.clock.utcnow()
            audit.record(session, principal, self.municipality, "consultant.absence_delete",
                         details={"consultant": key, "absence": absence_id})
        self.jobs.request(PLAN, self.municipality, "absence")

    # -- inside -------------------------------------------------------------------------------

    def _not_found(self) -> NotFound:
        return NotFound("no such consultant (or another consultant)", "consultant_not_found")

    async def _absence_owner(self, key: str, principal: Principal) -> str:
        MANAGE_ABSENCES.require_role(principal)
        if not MANAGE_ABSENCES.allows(principal, key):
            raise self._not_found()
        return key

    async def _rows(self, session: AsyncSession) -> list[Consultant]:
        return list((await session.execute(select(Consultant).where(
            Consultant.municipality_id == self.municipality).order_by(
                Consultant.name, Consultant.key))).scalars())

    async def _row(self, session: AsyncSession, key: str) -> Consultant | None:
        return (await session.execute(select(Consultant).where(
            Consultant.municipality_id == self.municipality, Consultant.key == key))
        ).scalar_one_or_none()

    async def _open_cases(self, session: AsyncSession, row: Consultant) -> list[str]:
        return list((await session.execute(select(Case.case_ref).where(
            Case.municipality_id == self.municipality, Case.owner_id == row.id,
            active_case()).order_by(Case.case_ref))).scalars())

    async def _check(self, session: AsyncSession, data: ConsultantChanges,
                     row: Consultant | None) -> None:
        """The rules across consultants: a CVR is fixed to one consultant at most, a Slack
        user is one person."""
        others = [c for c in await self._rows(session) if row is None or c.id != row.id]
        errors = []
        fixed = {cvr: c.key for c in others for cvr in c.fixed_employers or []}
        taken = sorted({cvr for cvr in data.fixed_employers if cvr in fixed})
        if taken:
            errors.append(field_error(
                "fixed_employers", f"CVR {taken[0]} is already fixed to consultant "
                f"{fixed[taken[0]]!r}", "fixed_elsewhere",
                {"cvr": taken[0], "consultant_id": fixed[taken[0]]}))
        if data.slack_user_id:
            staff = {s.slack_user_id for s in self.config.slack.staff}
            if data.slack_user_id in staff or any(
                    c.slack_user_id == data.slack_user_id for c in others):
                errors.append(field_error("slack_user_id", "this Slack user is someone "
                                          "else already", "slack_user_taken"))
        if errors:
            raise Invalid(errors)

    async def _place(self, data: ConsultantChanges) -> Placement | None:
        """Where a new consultant's typed address is, when no coordinates were given."""
        if data.location is not None or not data.address:
            return None
        return await self._place_text(data.address)

    async def _place_text(self, address: str) -> Placement:
        return (await self.placer.place_many([address]))[address]

    async def _address_of(self, key: str) -> str | None:
        async with self.db.read() as session:
            row = await self._row(session, key)
            return row.address if row is not None else None

    def _apply(self, row: Consultant, data: ConsultantChanges,
               placed: Placement | None = None, *, relocate: bool = False) -> None:
        """`relocate`: without coordinates, where they start from follows the address
        (`placed`; the jobcentre when it cannot be placed)."""
        row.name = data.name
        row.email = data.email
        row.phone = data.phone
        row.slack_user_id = data.slack_user_id
        row.team = data.team
        if data.location is not None:
            if (row.lat, row.lon) != (data.location.lat, data.location.lon) or \
                    row.location_precision is None:
                row.lat, row.lon = data.location.lat, data.location.lon
                row.location_precision = "exact"
        elif relocate and placed is not None and placed.lat is not None and \
                placed.lon is not None:
            # The typed address, placed (to the town or postcode offline; exact online).
            row.lat, row.lon = placed.lat, placed.lon
            row.location_precision = placed.precision
        elif relocate or row.location_precision is None or row.lat is None:
            # Neither coordinates nor a placeable address: planned from the jobcentre (never
            # from a guessed place) until the address is corrected.
            row.lat = self.config.jobcentre.location.lat
            row.lon = self.config.jobcentre.location.lon
            row.location_precision = None
        row.address = data.address or None
        row.skills = list(dict.fromkeys(data.skills))
        row.max_active_cases = data.max_active_cases
        row.meetings_per_day = data.meetings_per_day
        row.working_hours = data.working_hours.as_dict() if data.working_hours else None
        row.workplace_meetings = data.workplace_meetings
        row.workplace_meetings_from = data.workplace_meetings_from
        row.fixed_employers = list(dict.fromkeys(data.fixed_employers))
        row.active = data.active

    def _current(self, row: Consultant) -> dict[str, Any]:
        """The row as a `ConsultantChanges` body (JSON values): what a patch merges into."""
        body: dict[str, Any] = {
            "name": row.name, "email": row.email, "phone": row.phone or "",
            "slack_user_id": row.slack_user_id, "team": row.team,
            # Coordinates typed in (exact) are the consultant's; placed ones follow the address.
            "location": {"lat": row.lat, "lon": row.lon}
            if row.location_precision == "exact" else None,
            "address": row.address, "skills": list(row.skills or []),
            "max_active_cases": row.max_active_cases,
            "meetings_per_day": row.meetings_per_day,
            "working_hours": _all_days(row.working_hours),
            "workplace_meetings": row.workplace_meetings,
            "workplace_meetings_from": row.workplace_meetings_from.isoformat()
            if row.workplace_meetings_from else None,
            "fixed_employers": list(row.fixed_employers or []), "active": row.active}
        return {k: v for k, v in body.items() if v is not None}

    async def _deactivate(self, session: AsyncSession, row: Consultant,
                          decision: str | None, principal: Principal) -> Deactivated:
        cases = await self._open_cases(session, row)
        if cases and decision != "reassign":
            raise OpenCases(row.key, cases)
        now = self.clock.utcnow()
        owned = list((await session.execute(select(Case).where(
            Case.municipality_id == self.municipality, Case.owner_id == row.id,
            active_case()))).unique().scalars())
        for case in owned:
            case.owner_id = None
            case.owner_overridden = False
            case.owner_reasons = [f"{row.name} er gjort inaktiv; sagen fordeles ved næste "
                                  "planlægning"]
        meetings = list((await session.execute(select(Meeting).where(
            Meeting.municipality_id == self.municipality, Meeting.consultant_id == row.id,
            Meeting.status == "confirmed", Meeting.conflict_at.is_(None)))).unique().scalars())
        for meeting in meetings:
            meeting.conflict_at = now
            meeting.conflict_reason = INACTIVE
        audit.record(session, principal, self.municipality, "consultant.deactivate",
                     details={"consultant": row.key, "cases_released": len(owned),
                              "meetings_marked": len(meetings)})
        return Deactivated([c.case_ref for c in owned], len(meetings))

    async def _changed(self, reason: str) -> None:
        await self.refresh()
        self.jobs.request(PLAN, self.municipality, reason)

    def _view(self, row: Consultant, active_cases: int) -> ConsultantView:
        return ConsultantView(
            id=row.key, name=row.name, email=row.email, phone=row.phone or "",
            slack_user_id=row.slack_user_id, team=row.team,
            location={"lat": row.lat, "lon": row.lon},
            location_precision=row.location_precision, address=row.address,
            skills=list(row.skills or []), max_active_cases=row.max_active_cases,
            meetings_per_day=row.meetings_per_day, working_hours=row.working_hours,
            workplace_meetings=row.workplace_meetings,
            workplace_meetings_from=row.workplace_meetings_from,
            fixed_employers=list(row.fixed_employers or []), active=row.active,
            active_cases=active_cases, source=row.source,
            changed_in_app_at=as_utc(row.changed_in_app_at) if row.changed_in_app_at
            else None)

    def _absence_view(self, entry: ConsultantAbsence, key: str) -> AbsenceView:
        return AbsenceView(id=entry.id, consultant_id=key, first_day=entry.first_day,
                           last_day=entry.last_day, reason=entry.reason, note=entry.note,
                           created_by=entry.created_by, created_at=as_utc(entry.created_at))


def _all_days(hours: dict[str, list[str]] | None) -> dict[str, list[str] | None] | None:
    """Stored hours (closed days left out) with every day named, so the defaults of a day
    left out do not come back."""
    if hours is None:
        return None
    return {day: hours.get(day) for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

