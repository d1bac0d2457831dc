"""Case intake: validate, store, decide with the rules, keep history and audit — one transaction.

The same external case id again is an idempotent update of that case, never a second case.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import Connection, Row, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased, lazyload

from rules.engine import RulesEngine
from rules.facts import FactsError, validation_errors
from service.clock import Clock
from service.config import MunicipalityConfig
from service.intake.case_view import SAME_CITIZEN, read_case
from service.intake.schemas import (
    MAX_OWNER_NOTE,
    OWNER_REASONS,
    SHARED_EMPLOYER_MESSAGE,
    CaseIntake,
)
from service.intake.signals import absence_week, handed_over_late, same_citizen_open
from service.intake.views import case_out, decision_of, employer_out
from service.places import AddressPlacer, Placement, Placer, place
from service.platform import audit
from service.platform.audit import ReadAudit
from service.platform.auth import Principal, may_see, need_to_know
from service.platform.crypto import (
    KEY_ENV,
    PREVIOUS_KEYS_ENV,
    DataCipher,
    DataKeyError,
)
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import (
    ACTIVE_MEETING,
    CalendarSource,
    Case,
    Consultant,
    DecisionRecord,
    Employer,
    Meeting,
)
from service.platform.errors import Conflict, Invalid, NotFound, field_error
from service.platform.http import text_problem
from service.platform.inputs import merge_patch
from service.platform.jobqueue import PLAN, JobQueue
from service.platform.policies import CHOOSE_OWNER, PATCH_FACTS, READ_CASE, Policy

log = logging.getLogger("fasthold.intake")

# Fields kept outside `facts`: personal data that the rules never need.
PERSONAL_FIELDS = ("cpr", "citizen")
EMPLOYER_DETAIL_FIELDS = ("address", "location", "contact_name", "contact_email",
                          "contact_phone", "unavailable")
# What the employer's one record per CVR holds, shared by every case of that employer (the
# workplace and the contact person belong to each case; the record's address and contact are
# only the company's defaults, set when the record is created).
SHARED_EMPLOYER_FIELDS = ("name", "unavailable")
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")
# A first absence day further back is a typing error (a year 1 gave a case whose deadlines
# passed two thousand years ago): sickness benefit from employment runs at most 22 weeks
# within 9 months before its extensions, and a case of two years is long over.
OLDEST_ABSENCE_DAYS = 730


# What a CPR ciphertext is bound to (the migration that encrypted stored numbers says so too).
CPR_PURPOSE = "cases.cpr"
_KEY_PREFIX = len("v1.") + 8  # "v1.<key id>" of a ciphertext

# `owner=none` lists the cases nobody owns yet (the planner says why in their owner reasons).
NO_OWNER = "none"

# The hot paths' statements, built once (building a statement costs more than running it).
_CASE = select(Case).where(Case.municipality_id == bindparam("municipality"),
                           Case.case_ref == bindparam("ref"))
_ADD_DECISION = insert(DecisionRecord.__table__)
# `acting_on`'s: the case locked (a no-op on SQLite) against a concurrent change of it.
_CASE_LOCKED = _CASE.with_for_update(of=Case, key_share=True)
# `acting_on_row`'s: a few columns of the case and its owner's key, the case locked.
_CASE_ROW_LOCKED = select(
    Case.id, Case.closed_on, Case.facts, Case.intervention_started_on,
    Case.intervention_deadline, Case.erased_at, Consultant.key.label("owner_key")
).outerjoin(Consultant, Consultant.id == Case.owner_id).where(
    Case.municipality_id == bindparam("municipality"), Case.case_ref == bindparam("ref")
).with_for_update(of=Case, key_share=True)
_EMPLOYER = select(Employer).where(Employer.municipality_id == bindparam("municipality"),
                                   Employer.cvr == bindparam("cvr"))


def _no_case(case_ref: str) -> NotFound:
    """What an unknown case — and one the caller may not see (need to know) — is answered."""
    return NotFound(f"no case with case_id {case_ref!r}", "case_not_found")


def _erased(case_ref: str) -> Conflict:
    """What a change of a case whose personal data were erased (`service.retention`) is
    answered: it ended long ago, and what is left of it is only what the figures count."""
    return Conflict(f"case {case_ref!r} ended and its personal data were erased; register "
                    "the citizen's new sick leave as a new case", "case_erased")


class _Access:
    """Whether `principal` may act on a case found under `policy` (`IntakeService._access`):
    a case not theirs is answered as an unknown one, and remembered for the audit."""

    def __init__(self, policy: Policy, principal: Principal, case_ref: str) -> None:
        self.policy, self.principal, self.case_ref = policy, principal, case_ref
        self.refused: int | None = None  # the case refused, audited after the transaction

    def require(self, case_id: int, owner_key: str | None) -> None:
        if not self.policy.allows(self.principal, owner_key):
            self.refused = case_id
            raise _no_case(self.case_ref)


class CaseChangeListener(Protocol):
    """Told after a staff action on a case committed (`acting_on`, `acting_on_row`): what
    shows the case elsewhere follows (in the app: the owner's Slack messages about it), so
    a registration on a page or through the API reads the same in Slack as one made there."""

    async def case_changed(self, case_ref: str) -> None: ...


class OwnerListener(Protocol):
    """Told, in the transaction that makes the change, that staff chose another owner (the
    Slack notices: the intake channel's post and the new owner's message)."""

    async def owner_changed(self, session: AsyncSession, case: Case, by: str, category: str
                            ) -> None:
        """`category`: the fixed reason in words (never the note a person typed)."""
        ...


class OwnerMeetings(Protocol):
    """Moves the case's active meeting (and open tasks) to the new owner, or withdraws it, in
    the transaction that changes the owner (`service.meetings.owner_change`). Returns what was
    done: `none`, `withdrawn` or `moved`."""

    async def owner_changed(self, session: AsyncSession, case: Case, owner: Consultant
                            ) -> str: ...


class PlacementListener(Protocol):
    """Told, in the transaction that stores it, that a case's workplace address could not be
    placed on the map (the intake channel's post in Slack): the meeting is planned as at the
    jobcentre until someone corrects the address."""

    async def workplace_unplaced(self, session: AsyncSession, case: Case, reason: str
                                 ) -> None: ...


class HandOverListener(Protocol):
    """Told, in the transaction that stores it, that a case was handed over by the benefits
    office after absence week 7 (the intake channel's post in Slack: no health data)."""

    async def handed_over_late(self, session: AsyncSession, case: Case, week: int) -> None: ...


class CaseRecords(Protocol):
    """What was registered on a case after its meeting (minutes, interventions), added to
    the case's `progress` when one case is shown (`service.followup.records`): read on the
    case's one plain connection (`case_view.read_case`)."""

    def of_case(self, connection: Connection, case_id: int) -> dict[str, Any]: ...


class IntakeService:
    """Creates, changes and reads cases for one municipality."""

    # Set by the wiring (the follow-up area is built after intake).
    records: CaseRecords | None = None

    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 engine: RulesEngine, jobs: JobQueue, reads: ReadAudit,
                 cipher: DataCipher, owner_listener: OwnerListener | None = None,
                 owner_meetings: OwnerMeetings | None = None,
                 placer: AddressPlacer | None = None,
                 placement_listener: PlacementListener | None = None,
                 handover_listener: HandOverListener | None = None) -> None:
        self.db = db
        self.handover_listener = handover_listener
        self.placer = placer or Placer(config.places)
        self.placement_listener = placement_listener
        self.owner_listener = owner_listener
        # set by the composition (the Slack messages follow a committed staff action)
        self.case_listener: CaseChangeListener | None = None
        self.owner_meetings = owner_meetings
        self.cipher = cipher
        self.reads = reads
        self.config = config
        self.municipality = config.municipality.id
        self.clock = clock
        self.engine = engine
        self.jobs = jobs

    # -- validation -------------------------------------------------------------------------

    def validate(self, body: dict[str, Any]) -> tuple[CaseIntake, date]:
        """Strict validation in the rules contract's terms; raises Invalid naming the fields."""
        try:
            intake = CaseIntake.model_validate_json(json.dumps(body))
        except ValidationError as exc:
            raise Invalid(validation_errors(exc)) from None
        as_of = intake.as_of or self.clock.today()
        if intake.first_absence_day > as_of:
            raise Invalid.field("first_absence_day",
                                f"must not be after as_of ({as_of.isoformat()})", "after_as_of",
                                {"as_of": as_of.isoformat()})
        earliest = self.clock.today() - timedelta(days=OLDEST_ABSENCE_DAYS)
        if intake.first_absence_day < earliest:
            first, last = earliest.isoformat(), as_of.isoformat()
            raise Invalid.field("first_absence_day",
                                f"must be between {first} and {last}: a sickness absence "
                                f"older than two years is no new case", "date_out_of_range",
                                {"first": first, "last": last})
        handed_over = intake.handed_over_on
        if handed_over is not None and handed_over > self.clock.today():
            raise Invalid.field("handed_over_on", "must not be in the future", "date_in_future")
        if handed_over is not None and handed_over < intake.first_absence_day:
            first = intake.first_absence_day.isoformat()
            raise Invalid.field("handed_over_on", f"must not be before the first absence day "
                                f"({first})", "before_first_absence_day",
                                {"first_absence_day": first})
        return intake, as_of

    def decide(self, intake: CaseIntake, as_of: date) -> dict[str, Any]:
        try:
            decision = self.engine.decide(intake, as_of).to_json()
        except FactsError as exc:  # facts the rules cannot decide (a deadline after 9999)
            raise Invalid.field(exc.field, exc.message, exc.code, exc.params) from None
        decision.pop("case_id", None)
        decision.setdefault("missing", [])
        decision["as_of"] = as_of.isoformat()
        return decision

    # -- writes -----------------------------------------------------------------------------

    async def upsert(self, body: dict[str, Any], principal: Principal) -> tuple[dict[str, Any],
                                                                              bool]:
        """Create the case, or update it if its case_id is known. Returns (case, created)."""
        intake, as_of = self.validate(body)
        placements = await self.place_workplaces([intake])
        for attempt in range(3):
            try:
                async with self.db.write() as session:
                    case, created, changed = await self._upsert(session, intake, as_of, principal,
                                                                placements)
                    out = self._out(case)
                    out["other_open_cases"] = await self._same_citizen(session, case)
                break
            except IntegrityError:
                # Another request created the same case (or employer) at the same moment:
                # the retry finds it and becomes an update.
                if attempt == 2:
                    raise
        if changed:
            self.notify_changed()
        return out, created

    async def upsert_many(self, cases: list[tuple[CaseIntake, date]], principal: Principal,
                          plan: bool = True, patches: Mapping[str, dict[str, Any]] | None = None
                          ) -> list[tuple[bool, list[str]]]:
        """Create or update validated cases (`validate`'s results) in one transaction — the
        CSV import's batches — and ask for planning once (unless `plan` is False: the caller
        asks with `notify_changed` after its last batch). `patches`, by case id: a case that
        exists already is changed by its merge patch instead (a CSV file's own columns; what
        it leaves out stays as stored). Returns (created, changed fields) per case, in order.
        Raises like `upsert`; then nothing of the batch is stored."""
        results: list[tuple[bool, list[str]]] = []
        # Addresses are placed before the transaction (the online geocoder may be asked).
        placements = await self.place_workplaces([intake for intake, _ in cases])
        unplaced: list[tuple[Case, Placement]] = []
        late: list[Case] = []
        async with self.db.write() as session:
            # The batch's cases and employers in two queries; one flush for all of them.
            refs = [intake.case_id for intake, _ in cases]
            known = {c.case_ref: c for c in (await session.execute(select(Case).where(
                Case.municipality_id == self.municipality, Case.case_ref.in_(refs)))
            ).unique().scalars()}
            await self._not_another_spelling(session, [r for r in refs if r not in known])
            cvrs = sorted({i.employer.cvr for i, _ in cases if i.employer and i.employer.cvr})
            employers = {e.cvr: e for e in (await session.execute(select(Employer).where(
                Employer.municipality_id == self.municipality, Employer.cvr.in_(cvrs)))
            ).scalars()}
            records: list[tuple[Case, dict[str, Any]]] = []
            audits: list[tuple[Case, str, dict[str, Any]]] = []
            with session.no_autoflush:
                for intake, as_of in cases:
                    case = known.get(intake.case_id)
                    created = case is None
                    if case is None:
                        case = Case(municipality_id=self.municipality, case_ref=intake.case_id)
                        known[intake.case_id] = case
                    elif patches is not None and intake.case_id in patches:
                        intake, as_of = await self._patched(
                            session, case, patches[intake.case_id], employers)
                    changed = await self._apply(session, case, intake, as_of, principal,
                                                "intake", new=created, employers=employers,
                                                records=records, placements=placements,
                                                unplaced=unplaced, late=late)
                    if created:
                        changed = ["*"]
                        audits.append((case, "case.create", {"case_id": intake.case_id}))
                    else:
                        audits.append((case, "case.intake_update" if changed
                                       else "case.intake_unchanged", {"changed": changed}))
                    results.append((created, changed))
            await session.flush()
            for case, values in records:
                session.add(DecisionRecord(case_id=case.id, **values))
            for case, action, details in audits:
                audit.record(session, principal, self.municipality, action, case.id, details)
            for case, placement in unplaced:
                await self._tell_unplaced(session, case, placement)
            for case in late:
                await self._tell_late(session, case)
        if plan and any(changed for _, changed in results):
            self.notify_changed()
        return results

    async def patch(self, case_ref: str, changes: dict[str, Any], principal: Principal
                    ) -> dict[str, Any]:
        """Apply a JSON merge patch (RFC 7396) to a case's facts and re-evaluate at once."""
        if "case_id" in changes and changes["case_id"] != case_ref:
            raise Invalid.field("case_id", "cannot be changed", "read_only")
        employer_change = changes.get("employer")
        address = employer_change.get("address") if isinstance(employer_change, dict) else None
        placements = await self.placer.place_many([address]) if isinstance(address, str) \
            else {}
        async with self.acting_on(PATCH_FACTS, case_ref, principal) as (session, case):
            changed = await self.patch_case(session, case, changes, principal,
                                            placements=placements)
            out = self._out(case)
        if changed:
            self.notify_changed()
        return out

    async def patch_case(self, session: AsyncSession, case: Case, changes: dict[str, Any],
                         principal: Principal, trigger: str = "update",
                         placements: dict[str, Placement] | None = None) -> list[str]:
        """Merge-patch a loaded case's facts inside the caller's transaction; re-decide.

        Used by the API and by the employer's link ("decline the workplace meeting"). The
        caller calls `notify_changed()` after committing when the result is non-empty.
        """
        intake, as_of = await self._patched(session, case, changes)
        changed = await self._apply(session, case, intake, as_of, principal, trigger,
                                    placements=placements)
        audit.record(session, principal, self.municipality, "case.patch", case.id,
                     {"changed": changed, "trigger": trigger})
        return changed

    async def _not_another_spelling(self, session: AsyncSession, new_refs: list[str]
                                    ) -> None:
        """New case numbers must not be stored ones in other letters' case, nor each other
        (`RV-20` beside `rv-20` made a second case of one sick leave: two owners, two
        meetings with one employer). `Invalid` naming `case_id` and the stored number."""
        lowered: dict[str, str] = {}
        for ref in new_refs:
            if ref.lower() in lowered and lowered[ref.lower()] != ref:
                raise _other_spelling(lowered[ref.lower()])
            lowered.setdefault(ref.lower(), ref)
        if not lowered:
            return
        for start in range(0, len(lowered), 1000):
            chunk = list(lowered)[start:start + 1000]
            # (the same spelling stored meanwhile — a request racing this one with the same
            # number — is no other spelling: the insert's conflict makes this an update)
            stored = (await session.execute(select(Case.case_ref).where(
                Case.municipality_id == self.municipality,
                func.lower(Case.case_ref).in_(chunk),
                Case.case_ref.not_in([lowered[key] for key in chunk])).limit(1))
            ).scalar_one_or_none()
            if stored is not None:
                raise _other_spelling(stored)

    async def _patched(self, session: AsyncSession, case: Case, changes: dict[str, Any],
                       employers: dict[str, Employer] | None = None
                       ) -> tuple[CaseIntake, date]:
        """A stored case's intake with a merge patch applied, validated (raises `Invalid`):
        the API's and the facts form's patch, and a CSV row of some columns
        (`service.intake.form.columns_patch`). `employers`: those already loaded, by CVR."""
        base = self._intake_dict(case)
        employer_change = changes.get("employer")
        new_cvr = employer_change.get("cvr") if isinstance(employer_change, dict) else None
        if isinstance(new_cvr, str) and (case.employer is None or new_cvr != case.employer.cvr):
            # Another employer: its own details are the base, never the old employer's
            # (which would otherwise be copied onto the other employer's record).
            other = (employers or {}).get(new_cvr) or (await session.execute(
                _EMPLOYER, {"municipality": self.municipality, "cvr": new_cvr})
            ).scalar_one_or_none()
            base["employer"] = employer_out(other) if other is not None else {}
        if isinstance(employer_change, dict) and "address" in employer_change \
                and "location" not in employer_change and isinstance(base.get("employer"), dict):
            # A new address without coordinates is placed anew, never left at the old ones.
            base["employer"].pop("location", None)
        merged = merge_patch(base, changes)
        merged["case_id"] = case.case_ref
        return self.validate(merged)

    async def _upsert(self, session: AsyncSession, intake: CaseIntake, as_of: date,
                      principal: Principal, placements: dict[str, Placement]
                      ) -> tuple[Case, bool, list[str]]:
        case = (await session.execute(_CASE, {"municipality": self.municipality,
                                              "ref": intake.case_id})
                ).unique().scalar_one_or_none()
        if case is None:
            await self._not_another_spelling(session, [intake.case_id])
            case = Case(municipality_id=self.municipality, case_ref=intake.case_id)
            await self._apply(session, case, intake, as_of, principal, "intake", new=True,
                              placements=placements)
            # A new case was flushed by `_apply` (with any entry recorded before): its entry
            # is written at once, without a flush at commit.
            await audit.write(await session.connection(), self.clock.utcnow(), principal,
                              self.municipality, "case.create", case.id,
                              {"case_id": intake.case_id})
            return case, True, ["*"]
        changed = await self._apply(session, case, intake, as_of, principal, "intake",
                                    placements=placements)
        audit.record(session, principal, self.municipality,
                     "case.intake_update" if changed else "case.intake_unchanged", case.id,
                     {"changed": changed})
        return case, False, changed

    async def _apply(self, session: AsyncSession, case: Case, intake: CaseIntake, as_of: date,
                     principal: Principal, trigger: str, new: bool = False,
                     employers: dict[str, Employer] | None = None,
                     records: list[tuple[Case, dict[str, Any]]] | None = None,
                     placements: dict[str, Placement] | None = None,
                     unplaced: list[tuple[Case, Placement]] | None = None,
                     late: list[Case] | None = None) -> list[str]:
        """Store facts and personal data, decide, and record history. Returns changed fields.

        A batch (`upsert_many`) passes its preloaded `employers` by CVR and collects the
        history `records` to add after its one flush (a new case has no id before), and the
        cases whose new workplace address could not be placed (`unplaced`, told after it).
        `placements`: the intake's addresses placed before the transaction (one missing is
        placed offline here); `late`: the batch's cases newly handed over late (told after
        it). A case whose personal data were erased takes no new ones (`Conflict`)."""
        if case.erased_at is not None:
            raise _erased(case.case_ref)
        facts = intake.model_dump(mode="json", exclude=set(PERSONAL_FIELDS))
        if facts.get("handed_over_on") is None:
            facts.pop("handed_over_on", None)  # not given: no key (as before it existed)
        if facts.get("employer"):
            facts["employer"] = {k: v for k, v in facts["employer"].items()
                                 if k not in EMPLOYER_DETAIL_FIELDS}
        before_facts = {} if new else dict(case.facts)
        changed = sorted(k for k in set(facts) | set(before_facts)
                         if facts.get(k) != before_facts.get(k))
        personal_changed = self._store_personal(case, intake)
        same_employer = not new and case.employer is not None
        previous_employer = case.employer
        employer_changed = await self._store_employer(session, case, intake, employers,
                                                      principal, placements or {})
        workplace_changed, not_placed = self._store_workplace(
            case, intake, same_employer and case.employer is previous_employer,
            placements or {})
        employer_changed = employer_changed + workplace_changed
        if not_placed is not None and unplaced is not None:
            unplaced.append((case, not_placed))  # told after the batch's flush
            not_placed = None
        decision = self.decide(intake, as_of)
        before_decision = None if new else decision_of(case)
        decision_changed = before_decision is None or _without_as_of(before_decision) != \
            _without_as_of(decision)
        if not new and not changed and not decision_changed:
            if not_placed is not None:
                await self._tell_unplaced(session, case, not_placed)
            return sorted(personal_changed + employer_changed)
        case.facts = facts
        case.as_of = as_of
        case.status = decision["status"]
        case.follow_up = decision["follow_up"]
        case.private_talk_first = decision["private_talk_first"]
        case.first_meeting_deadline = date.fromisoformat(decision["first_meeting_deadline"])
        case.intervention_deadline = date.fromisoformat(decision["intervention_deadline"])
        case.reasons = decision["reasons"]
        case.missing = decision["missing"]
        if new:
            session.add(case)
        newly_late = handed_over_late(intake.first_absence_day, intake.handed_over_on) and \
            facts.get("handed_over_on") != before_facts.get("handed_over_on")
        if newly_late and late is not None:
            late.append(case)  # told after the batch's flush
            newly_late = False
        record = {"municipality_id": self.municipality, "trigger": trigger,
                  "actor": principal.actor, "changed_facts": changed, "before": before_decision,
                  "after": decision}
        if records is not None:
            records.append((case, record))
        else:
            await session.flush()
            # The history's row as a plain statement (`at`: the clock's now, as a flush
            # stamps it): nothing of the ORM's is left for the commit to flush for it.
            await (await session.connection()).execute(_ADD_DECISION, {
                "case_id": case.id, "at": self.clock.utcnow(), **record})
            if not_placed is not None:
                await self._tell_unplaced(session, case, not_placed)
            if newly_late:
                await self._tell_late(session, case)
        return sorted(set(changed) | set(personal_changed) | set(employer_changed))

    def _store_personal(self, case: Case, intake: CaseIntake) -> list[str]:
        changed = []
        if self.cpr(case) != intake.cpr:
            # Encrypted at rest: the plain digits never reach the database.
            case.cpr_encrypted = None if intake.cpr is None else self.cipher.encrypt(
                intake.cpr, CPR_PURPOSE)
            case.cpr_hash = None if intake.cpr is None else self.cipher.lookup_hash(intake.cpr)
            changed.append("cpr")
        citizen = intake.citizen
        values = {
            "citizen_name": citizen.name if citizen else None,
            "citizen_email": citizen.email if citizen else None,
            "citizen_phone": citizen.phone if citizen else None,
            "citizen_address": citizen.address if citizen else None,
        }
        for attr, value in values.items():
            if getattr(case, attr, None) != value:
                setattr(case, attr, value)
                changed.append("citizen")
        return sorted(set(changed))

    def cpr(self, case: Case) -> str | None:
        """The case's CPR number, decrypted (for masking and the merge-patch base only)."""
        token = getattr(case, "cpr_encrypted", None)
        return None if token is None else self.cipher.decrypt(token, CPR_PURPOSE)

    async def check_data_keys(self) -> None:
        """On start: every stored CPR number and calendar secret must be under a key the
        cipher holds, or the service would fail on each read of such a case. Raises
        DataKeyError naming the key ids (never a key)."""
        stored: set[str] = set()
        async with self.db.read() as session:
            # the consultants' calendar addresses and passwords are sealed as CPR numbers are
            for sealed in (Case.cpr_encrypted, CalendarSource.url_encrypted,
                           CalendarSource.password_encrypted):
                stored |= set((await session.execute(select(
                    func.substr(sealed, 1, _KEY_PREFIX)).where(sealed.is_not(None)).distinct())
                ).scalars())
        unknown = sorted({t.partition(".")[2] for t in stored} - set(self.cipher.keys))
        if unknown:
            raise DataKeyError(
                f"stored CPR numbers or calendar addresses are encrypted under data key(s) "
                f"{', '.join(unknown)}, which neither {KEY_ENV} nor {PREVIOUS_KEYS_ENV} holds")

    async def same_citizen_open(self, case_refs: list[str]) -> dict[str, list[str]]:
        """For each of these cases (open, with a CPR number), the citizen's other open cases;
        cases without any are left out (the CSV import's warning). A statement per 1,000."""
        mine, other = aliased(Case), aliased(Case)
        out: dict[str, list[str]] = {}
        async with self.db.read() as session:
            for start in range(0, len(case_refs), 1000):
                rows = await session.execute(
                    select(mine.case_ref, other.case_ref)
                    .join(other, same_citizen_open(mine, other))
                    .where(mine.municipality_id == self.municipality,
                           mine.case_ref.in_(case_refs[start:start + 1000])))
                for ref, other_ref in rows:
                    out.setdefault(ref, []).append(other_ref)
        return {ref: sorted(others) for ref, others in out.items()}

    async def _same_citizen(self, session: AsyncSession, case: Case) -> list[str]:
        """The citizen's other open cases (intake sees them all)."""
        rows = await session.execute(SAME_CITIZEN, {"case": case.id})
        return sorted(row.case_ref for row in rows)

    def _out(self, case: Case, meeting: Meeting | None = None) -> dict[str, Any]:
        return case_out(case, self.clock.today(), meeting, self.cpr(case))

    async def _store_employer(self, session: AsyncSession, case: Case, intake: CaseIntake,
                              known: dict[str, Employer] | None = None,
                              principal: Principal | None = None,
                              placements: dict[str, Placement] | None = None) -> list[str]:
        """Link the case to its employer's record (one per CVR). The record keeps the
        company's name and known unavailable times, shared by every case of that CVR: a
        consultant (who sees only their own cases) may not change them (Invalid naming each
        field), and a change is audited on every case of that CVR (`case.employer_changed`).
        Its address and contact are the company's defaults, set when the record is created
        (or while it has none) and never overwritten by a case: each case keeps its own
        workplace and contact person (`_store_workplace`)."""
        details = intake.employer
        if details is None or details.cvr is None:
            changed = case.employer_id is not None
            case.employer_id = None
            case.employer = None
            return ["employer"] if changed else []
        if known is not None:
            employer = known.get(details.cvr)
        else:
            employer = (await session.execute(_EMPLOYER, {"municipality": self.municipality,
                                                          "cvr": details.cvr})
                        ).scalar_one_or_none()
        if employer is None:
            employer = Employer(municipality_id=self.municipality, cvr=details.cvr,
                                unavailable=[])
            session.add(employer)
            if known is not None:
                known[details.cvr] = employer
        # Intake refreshes the shared record's name and unavailable times; missing values keep
        # the old ones.
        values: dict[str, Any] = {"name": details.name}
        if details.unavailable:
            values["unavailable"] = [
                {"start": i.start.isoformat(timespec="minutes"),
                 "end": i.end.isoformat(timespec="minutes")} for i in details.unavailable]
        current = {"name": employer.name, "unavailable": list(employer.unavailable or [])}
        shared = [a for a in SHARED_EMPLOYER_FIELDS
                  if values.get(a) is not None and values[a] != current[a]]
        if shared and principal is not None and need_to_know(principal) is not None:
            raise Invalid([field_error(f"employer.{a}", SHARED_EMPLOYER_MESSAGE, "shared_employer")
                           for a in shared])
        if shared and employer.id is not None:
            await self._audit_employer_change(session, case, employer, shared, principal)
        if values["name"] is not None:
            employer.name = values["name"]
        if "unavailable" in values:
            employer.unavailable = values["unavailable"]
        # The company's defaults: from the first case that names them.
        if not any(getattr(employer, a) for a in CONTACT_FIELDS):
            for attr in CONTACT_FIELDS:
                setattr(employer, attr, getattr(details, attr))
        if employer.address is None and details.address is not None:
            employer.address = details.address
            if details.location is not None:
                employer.lat, employer.lon = details.location.lat, details.location.lon
                employer.location_precision = "exact"
            else:
                placed = (placements or {}).get(details.address) or place(details.address)
                employer.lat, employer.lon = placed.lat, placed.lon
                employer.location_precision = placed.precision
        # The relationship sets employer_id at the next flush (a new employer is inserted
        # first): no flush of its own here.
        changed = case.employer is not employer
        case.employer = employer
        return ["employer"] if changed else []

    def _store_workplace(self, case: Case, intake: CaseIntake, same_employer: bool,
                         placements: dict[str, Placement]
                         ) -> tuple[list[str], Placement | None]:
        """The case's own workplace (address, placed on the map) and contact person (the
        sick employee's nearest manager). What the intake gives wins; a missing value keeps
        the case's own (while the employer is the same), else takes the employer's
        default. Returns (changed fields, the placement when a new address could not be
        placed)."""
        details = intake.employer
        employer = case.employer
        if details is None or details.cvr is None or employer is None:
            return [], None
        keep = same_employer
        changed: set[str] = set()
        for attr in CONTACT_FIELDS:
            value = getattr(details, attr)
            if value is None:
                value = getattr(case, attr) if keep else getattr(employer, attr)
            if getattr(case, attr) != value:
                setattr(case, attr, value)
                changed.add("contact")
        address = details.address
        if address is None and not keep and details.location is None:
            # A new case (or another employer) without a workplace: the company's default.
            if case.workplace_address != employer.address or \
                    case.workplace_precision != employer.location_precision:
                case.workplace_address = employer.address
                case.workplace_lat, case.workplace_lon = employer.lat, employer.lon
                case.workplace_precision = employer.location_precision
                changed.add("workplace")
            return sorted(changed), None
        if address is None:
            address = case.workplace_address
        stored = (case.workplace_lat, case.workplace_lon)
        location = details.location
        not_placed: Placement | None = None
        if location is not None and ((location.lat, location.lon) != stored
                                     or address == case.workplace_address):
            # Coordinates given with the address: they are the workplace's.
            lat, lon = location.lat, location.lon
            precision = "exact" if (lat, lon) != stored else case.workplace_precision
        elif address != case.workplace_address or (
                address is not None and case.workplace_precision is None):
            placed = placements.get(address) or place(address) if address else None
            lat = placed.lat if placed is not None else None
            lon = placed.lon if placed is not None else None
            precision = placed.precision if placed is not None else None
            if placed is not None and not placed.placed and (
                    address != case.workplace_address or case.id is None):
                not_placed = placed
        else:
            lat, lon, precision = case.workplace_lat, case.workplace_lon, \
                case.workplace_precision
        if (case.workplace_address, case.workplace_lat, case.workplace_lon,
                case.workplace_precision) != (address, lat, lon, precision):
            case.workplace_address = address
            case.workplace_lat, case.workplace_lon = lat, lon
            case.workplace_precision = precision
            changed.add("workplace")
        return sorted(changed), not_placed

    async def place_workplaces(self, intakes: list[CaseIntake]) -> dict[str, Placement]:
        """The intakes' workplace addresses placed (before a transaction: the online
        geocoder may be asked); an address with coordinates given is not placed."""
        return await self.placer.place_many(
            i.employer.address for i in intakes
            if i.employer is not None and i.employer.address and i.employer.location is None)

    async def _tell_unplaced(self, session: AsyncSession, case: Case, placement: Placement
                             ) -> None:
        log.info("case %s: workplace address not placed", case.case_ref)
        if self.placement_listener is not None:
            await self.placement_listener.workplace_unplaced(session, case,
                                                             placement.reason or "")

    async def _tell_late(self, session: AsyncSession, case: Case) -> None:
        first = date.fromisoformat(case.facts["first_absence_day"])
        week = absence_week(first, date.fromisoformat(case.facts["handed_over_on"]))
        log.info("case %s: handed over late (absence week %d)", case.case_ref, week)
        if self.handover_listener is not None:
            await self.handover_listener.handed_over_late(session, case, week)

    async def _audit_employer_change(self, session: AsyncSession, case: Case,
                                     employer: Employer, fields: list[str],
                                     principal: Principal | None) -> None:
        """An audit entry on every case the change of the shared employer record reaches:
        each case of that CVR, and the case the change came through."""
        touched = set((await session.execute(select(Case.id).where(
            Case.municipality_id == self.municipality, Case.employer_id == employer.id))
        ).scalars())
        if case.id is not None:
            touched.add(case.id)
        details = {"cvr": employer.cvr, "changed": fields, "via": case.case_ref}
        for case_id in sorted(touched):
            audit.record(session, principal, self.municipality, "case.employer_changed",
                         case_id, details)

    async def override_owner(self, case_ref: str, consultant_key: str, reason: str,
                             principal: Principal, *, category: str = "other",
                             policy: Policy = CHOOSE_OWNER) -> dict[str, Any]:
        """Intake staff choose the owner; later planning runs keep it. `category`: why, one of
        `OWNER_REASONS` (what Slack is told); `reason`: an optional note kept in fasthold. The
        case's meeting moves with it or is withdrawn (`OwnerMeetings`), and the planning run
        asked for here proposes a new time with the new owner where needed. `policy`: who
        may (a use case that hands cases over for another reason names its own)."""
        policy.require_role(principal)
        if category not in OWNER_REASONS:
            raise Invalid.field("category", f"must be one of {', '.join(OWNER_REASONS)}",
                                "not_one_of", {"allowed": ", ".join(OWNER_REASONS)})
        reason = reason.strip()
        if len(reason) > MAX_OWNER_NOTE:
            raise Invalid.field("reason", f"must be at most {MAX_OWNER_NOTE} characters",
                                "string_too_long", {"max_length": MAX_OWNER_NOTE})
        problem = text_problem(reason)
        if problem:
            raise Invalid.field("reason", problem, "not_storable")
        async with self.acting_on(policy, case_ref, principal) as (session, case):
            consultant = (await session.execute(select(Consultant).where(
                Consultant.municipality_id == self.municipality,
                Consultant.key == consultant_key, Consultant.active.is_(True)))
            ).scalar_one_or_none()
            if consultant is None:
                raise Invalid.field("consultant_id", f"unknown consultant {consultant_key!r}",
                                    "unknown_consultant")
            previous = case.owner.key if case.owner else None
            case.owner_id = consultant.id
            case.owner = consultant
            case.owner_overridden = True
            words = OWNER_REASONS[category]
            case.owner_reasons = [f"valgt manuelt af {principal.name}: {words}"
                                  + (f" – {reason}" if reason else "")]
            meeting = "none"
            if self.owner_meetings is not None and previous != consultant_key:
                meeting = await self.owner_meetings.owner_changed(session, case, consultant)
            audit.record(session, principal, self.municipality, "case.owner_override", case.id,
                         {"from": previous, "to": consultant_key, "category": category,
                          "meeting": meeting})
            if self.owner_listener is not None and previous != consultant_key:
                await self.owner_listener.owner_changed(session, case, principal.name, words)
            out = self._out(case)
        self.notify_changed()
        return out

    # -- reads ------------------------------------------------------------------------------

    async def get(self, case_ref: str, principal: Principal) -> dict[str, Any]:
        """A person reads the case (audited `case.read`): with its meeting and history."""
        READ_CASE.require_role(principal)
        case_id, out = await self._view(case_ref, principal)
        if out is None:
            # Need to know: another consultant's case is answered as if it did not exist;
            # the attempt is in the audit log.
            await self.refuse(READ_CASE, principal, case_id)
            raise _no_case(case_ref)
        await self.reads.record(principal, self.municipality, "case.read", case_id)
        return out

    async def after_change(self, case_ref: str, principal: Principal) -> dict[str, Any]:
        """The case as `principal` sees it right after their own change — the API's answer to
        a write: with its meeting and history, and no `case.read` entry (the change is in the
        audit log; nobody chose to read). A case the change took out of their sight (a
        consultant's reopened case that went to planning for lack of room) is shown as the
        change left it, without meeting and history."""
        case_id, out = await self._view(case_ref, principal)
        if out is None:
            async with self.db.read() as session:
                case = await session.get(Case, case_id)
                if case is None:
                    raise _no_case(case_ref)
                out = self._out(case)
        return out

    async def _view(self, case_ref: str, principal: Principal
                    ) -> tuple[int, dict[str, Any] | None]:
        """(the case's id, the case with its meeting and history), or (id, None) when the
        caller may not see it. NotFound for an unknown case. One read of plain Core
        statements (`case_view`), in one go (`Database.run_read`)."""
        records = self.records.of_case if self.records is not None else None
        found = await self.db.run_read(lambda connection: read_case(
            connection, self.municipality, case_ref,
            lambda owner_key: may_see(principal, owner_key), records))
        if found.case is None:
            raise _no_case(case_ref)
        if not found.visible:
            return found.case.id, None
        out = case_out(found.case, self.clock.today(), found.meeting, self.cpr(found.case))
        if found.progress is not None:
            out["progress"].update(found.progress)
        out["history"] = [{
            "at": as_utc(h.at).isoformat(), "trigger": h.trigger, "actor": h.actor,
            "changed_facts": h.changed_facts, "before": h.before, "after": h.after,
        } for h in found.history or []]
        # need to know: a consultant hears only of the citizen's other cases they own
        out["other_open_cases"] = [ref for ref, owner in found.same_citizen or []
                                   if may_see(principal, owner)]
        return found.case.id, out

    # -- who may (service.platform.policies) ------------------------------------------------

    @asynccontextmanager
    async def acting_on(self, policy: Policy, case_ref: str, principal: Principal
                        ) -> AsyncIterator[tuple[AsyncSession, Case]]:
        """A write transaction holding the case (locked) that `principal` may act on under
        `policy`. `Forbidden` for a role the policy does not allow; `NotFound` for an unknown
        case and — nothing changed, the attempt audited as `case.read_refused` — for a case
        that is not theirs (need to know)."""
        async with self._access(policy, case_ref, principal) as access, \
                self.db.write() as session:
            case = (await session.execute(_CASE_LOCKED, {
                "municipality": self.municipality, "ref": case_ref})
            ).unique().scalar_one_or_none()
            if case is None:
                raise _no_case(case_ref)
            access.require(case.id, case.owner.key if case.owner else None)
            if case.erased_at is not None:
                raise _erased(case_ref)
            yield session, case
        if self.case_listener is not None:
            await self.case_listener.case_changed(case_ref)

    @asynccontextmanager
    async def acting_on_row(self, policy: Policy, case_ref: str, principal: Principal
                            ) -> AsyncIterator[tuple[AsyncConnection, Row[Any]]]:
        """As `acting_on`, for a use case that writes plain statements only: a write
        transaction on a plain connection (no ORM session) and the case's row, locked —
        its `id`, `owner_key`, `closed_on`, `facts`, `intervention_started_on` and
        `intervention_deadline` (what the registrations of `service.followup.outcomes`
        read). Refuses and audits as `acting_on`."""
        async with self._access(policy, case_ref, principal) as access, \
                self.db.write_connection() as connection:
            case = (await connection.execute(_CASE_ROW_LOCKED, {
                "municipality": self.municipality, "ref": case_ref})).first()
            if case is None:
                raise _no_case(case_ref)
            access.require(case.id, case.owner_key)
            if case.erased_at is not None:
                raise _erased(case_ref)
            yield connection, case
        if self.case_listener is not None:
            await self.case_listener.case_changed(case_ref)

    async def allowed(self, policy: Policy, case_ref: str, principal: Principal) -> Case:
        """The case, if `principal` may act on it under `policy` (read, not locked: for an
        action done in a transaction of its own, or a channel asking before it shows a form).
        Raises as `acting_on`, auditing a refusal the same way."""
        async with self._access(policy, case_ref, principal) as access:
            async with self.db.read() as session:
                case = (await session.execute(_CASE, {"municipality": self.municipality,
                                                      "ref": case_ref})
                        ).unique().scalar_one_or_none()
            if case is None:
                raise _no_case(case_ref)
            access.require(case.id, case.owner.key if case.owner else None)
        return case

    @asynccontextmanager
    async def _access(self, policy: Policy, case_ref: str, principal: Principal
                      ) -> AsyncIterator[_Access]:
        """The check `acting_on`, `acting_on_row` and `allowed` share: the role first
        (`Forbidden`), then — inside the block, on the case found — `_Access.require`; a
        refusal is audited once the block's transaction is over (rolled back)."""
        policy.require_role(principal)
        access = _Access(policy, principal, case_ref)
        try:
            yield access
        except NotFound:
            if access.refused is not None:
                await self.refuse(policy, principal, access.refused)
            raise

    async def refuse(self, policy: Policy, principal: Principal, case_id: int) -> None:
        """Audit a refused attempt on another consultant's case (`case.read_refused`, naming
        the policy's action); the caller answers it as an unknown case (NotFound)."""
        await self.reads.record(principal, self.municipality, "case.read_refused", case_id,
                                {"action": policy.action})

    async def list(self, principal: Principal, *, status: str | None = None,
                   follow_up: str | None = None, deadline_before: date | None = None,
                   owner: str | None = None, limit: int = 100, offset: int = 0
                   ) -> dict[str, Any]:
        conditions = [Case.municipality_id == self.municipality]
        if status is not None:
            conditions.append(Case.status == status)
        if follow_up is not None:
            conditions.append(Case.follow_up == follow_up)
        if deadline_before is not None:
            conditions.append(Case.first_meeting_deadline < deadline_before)
        if owner == NO_OWNER:
            conditions.append(Case.owner_id.is_(None))
        elif owner is not None:
            conditions.append(Case.owner.has(Consultant.key == owner))
        only = need_to_know(principal)
        if only is not None:
            conditions.append(Case.owner.has(Consultant.key == only))
        async with self.db.read() as session:
            total = (await session.execute(select(func.count(Case.id)).where(*conditions))
                     ).scalar_one()
            rows = (await session.execute(
                select(Case).where(*conditions)
                .order_by(Case.first_meeting_deadline, Case.id).limit(limit).offset(offset)
            )).unique().scalars().all()
            meetings = await self._active_meetings(session, [c.id for c in rows])
            out = {"cases": [self._out(c, meetings.get(c.id)) for c in rows],
                   "total": total, "limit": limit, "offset": offset}
        await self.reads.record(principal, self.municipality, "case.list", None, {
            "filters": {"status": status, "follow_up": follow_up, "owner": owner,
                        "deadline_before": deadline_before.isoformat()
                        if deadline_before else None},
            "returned": len(rows)})
        return out

    async def _active_meetings(self, session: AsyncSession, case_ids: list[int]
                               ) -> dict[int, Meeting]:
        if not case_ids:
            return {}
        # The case is loaded already: only the meeting and its consultant are needed.
        rows = (await session.execute(select(Meeting).where(
            Meeting.case_id.in_(case_ids), Meeting.status.in_(ACTIVE_MEETING))
            .options(lazyload(Meeting.case)))).unique().scalars()
        return {m.case_id: m for m in rows}

    def _intake_dict(self, case: Case) -> dict[str, Any]:
        """The case as an intake body again (the base a merge patch applies to)."""
        body = json.loads(json.dumps(case.facts))
        if case.employer is not None:
            body["employer"] = {**(body.get("employer") or {}),
                                **employer_out(case.employer, case)}
        body["cpr"] = self.cpr(case)
        citizen = {"name": case.citizen_name, "email": case.citizen_email,
                   "phone": case.citizen_phone, "address": case.citizen_address}
        body["citizen"] = citizen if any(citizen.values()) else None
        return body

    def notify_changed(self) -> None:
        """Ask for planning after a committed change that may alter it."""
        self.jobs.request(PLAN, self.municipality, "change")


def _other_spelling(stored: str) -> Invalid:
    return Invalid.field("case_id", f"the case number is already stored as {stored!r} (only "
                         "upper and lower case differ)", "case_id_other_spelling",
                         {"stored": stored})


def _without_as_of(decision: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in decision.items() if k != "as_of"}

