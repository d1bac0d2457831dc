"""The simulation's world is the app's service graph (`service.wiring`): what a use case does
in the app it does in the simulation — an owner chosen by hand tells Slack, as the app's
does (the world used to be composed on its own, without the owner's Slack notices)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text

from bots.delivery import OutboundMessage
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.meetings.answers import Outcome
from service.meetings.booking import offered_slots
from service.outbox.store import Message, dedupe_key
from service.planning.instance import (
    InstanceContext,
    _unavailable,
    build_instance,
    preference_unavailability,
)
from service.platform.auth import Principal
from service.platform.crypto import DataCipher, new_data_key
from service.platform.db.models import Meeting
from service.platform.jobqueue import PLAN
from service.simulation.bridge import Bridge
from service.simulation.context import SimContext
from service.simulation.employers import _offered
from service.simulation.solver import SimulationSolver
from service.simulation.world import World
from service.slack.settings import DEMO_INTAKE_CHANNEL
from tests.meetings.email_cases import body
from tests.privacy import assert_no_private_slack_data
from tests.slack.test_reminders import FIXED

MONDAY = date(2026, 10, 5)
SECRET = "simulation-test-secret-" + "x" * 32
ANNA, BO = "U0DEMO001", "U0DEMO002"  # the demo's consultants anna and bo in Slack


@pytest.fixture
async def world(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[World]:
    """A world on a copy of the migrated template (its migrations then find the schema at
    head: a fresh file took each test 0.2 s of Alembic)."""
    clock = SettableClock(datetime.combine(MONDAY, time(9)), demo_config.municipality.timezone)
    world = World(demo_config, sqlite_url, clock,
                  SimulationSolver("greedy", 1), DataCipher.from_env_values(new_data_key()),
                  SECRET, 1.0)
    await world.open()
    await world.staff(len(demo_config.consultants), MONDAY.replace(day=1))
    try:
        yield world
    finally:
        await world.close()


def sent(world: World) -> list[OutboundMessage]:
    messages = world.slack.take()
    assert_no_private_slack_data(
        (str(m.payload.get("method")), m.payload) for m in messages)
    return messages


async def test_an_owner_chosen_in_the_simulation_tells_slack(world: World) -> None:
    world.speak()  # the simulation's consultants' messages are made on the demo's last day
    intake = Principal(key_id=0, name="simulering-intake", role="intake",
                       municipality_id=world.municipality)
    await world.intake.upsert(body("sim-owner-1", employer=FIXED, first_absence_day=(
        MONDAY - timedelta(days=10)).isoformat()), intake)
    await world.tick(scheduled=(PLAN,))
    first = sent(world)
    assert {(m.kind, m.recipient) for m in first} >= {
        ("case_assigned", ANNA), ("intake_assignment", DEMO_INTAKE_CHANNEL)}

    await world.intake.override_owner("sim-owner-1", "bo", "", intake, category="capacity")
    await world.tick()
    told = {(m.kind, m.recipient): m for m in sent(world)}
    # The intake channel's post says who has the case now, and why in the fixed words…
    post = told[("slack_update", DEMO_INTAKE_CHANNEL)]
    assert "flyttet til Bo Nielsen" in post.text and "kapacitet" in str(post.payload)
    # …the previous owner's message says it moved, and the new owner gets the case.
    assert "flyttet til en anden konsulent" in told[("slack_update", ANNA)].text
    assert "Ny sag til dig" in told[("case_assigned", BO)].text


async def test_the_world_s_statements_run_in_the_loop_s_thread(world: World) -> None:
    """Issue 22: the simulation awaits one use case at a time, so its SQLite statements run in
    the event loop's thread — no hand-over to aiosqlite's worker thread and back per statement
    (most of SQLite's cost there), the standard library's driver called at once
    (`service.platform.db.inline_sqlite`) — with the same results (`test_simulation`'s
    tables)."""
    before = threading.active_count()
    for open_session in (world.db.write, world.db.read, world.db.snapshot):
        async with open_session() as session:
            connection = await session.connection()
            raw = (await connection.get_raw_connection()).driver_connection
            # SQLite calls the function in the thread that runs the statement.
            raw.create_function("thread_ident", 0, threading.get_ident)
            ran_in = (await session.execute(text("SELECT thread_ident()"))).scalar()
            assert ran_in == threading.get_ident()
    assert threading.active_count() == before


async def test_a_sent_message_costs_one_read_of_the_outbox(world: World) -> None:
    """Issue 22: delivering reads each message once (its claim); marking it sent is one
    UPDATE, without reading the row again."""
    intake = Principal(key_id=0, name="simulering-intake", role="intake",
                       municipality_id=world.municipality)
    for n in range(3):
        await world.intake.upsert(body(f"sim-outbox-{n}", first_absence_day=(
            MONDAY - timedelta(days=10)).isoformat()), intake)
    await world.run_job(PLAN, "test")
    async with world.db.read() as session:
        due = (await session.execute(text(
            "SELECT count(*) FROM outbox WHERE status = 'pending'"))).scalar()
    assert due and due >= 6
    reads: list[str] = []
    event.listen(world.db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_rest: reads.append(sql)
                 if sql.lstrip().upper().startswith("SELECT") and "outbox" in sql else None)
    assert await world.deliverer.deliver_due() == due
    # One claim per message, and one per channel that finds nothing more.
    assert len(reads) <= due + len(world.deliverer.senders)
    async with world.db.read() as session:
        assert (await session.execute(text(
            "SELECT count(*) FROM outbox WHERE status = 'sent'"))).scalar() == due


async def test_a_quiet_world_makes_no_consultant_messages(world: World) -> None:
    """Until it speaks, the world's consultants' Slack messages are not made (nobody reads
    them; the simulated consultants act on the rules): planning a case puts only e-mail in
    the outbox."""
    intake = Principal(key_id=0, name="simulering-intake", role="intake",
                       municipality_id=world.municipality)
    await world.intake.upsert(body("sim-quiet-1", employer=FIXED, first_absence_day=(
        MONDAY - timedelta(days=10)).isoformat()), intake)
    await world.tick(scheduled=(PLAN,))
    assert world.slack.take() == []
    assert sorted(m.kind for m in world.mail.take()) == [
        "citizen_first_contact", "employer_invitation"]


async def _proposed(world: World, ref: str) -> tuple[int, str]:
    """A case registered and planned: its proposal's id and the key of its proposed time."""
    intake = Principal(key_id=0, name="simulering-intake", role="intake",
                       municipality_id=world.municipality)
    await world.intake.upsert(body(ref, employer=FIXED, first_absence_day=(
        MONDAY - timedelta(days=10)).isoformat()), intake)
    await world.run_job(PLAN, "test")
    async with world.db.read() as session:
        meeting_id, start = (await session.execute(text(
            "SELECT meetings.id, meetings.start FROM meetings JOIN cases ON cases.id = "
            "meetings.case_id WHERE cases.case_ref = :ref AND meetings.status = 'proposed'"),
            {"ref": ref})).one()
    return meeting_id, datetime.fromisoformat(str(start)).isoformat(timespec="minutes")


def _recording(world: World) -> tuple[list[str], list[str]]:
    """Every SQL statement the world's database runs from now on, and the tables of the
    INSERT/UPDATE/DELETE statements run through the ORM session's machinery
    (`do_orm_execute`)."""
    statements: list[str] = []
    orm: list[str] = []
    event.listen(world.db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_rest: statements.append(" ".join(sql.split())))
    event.listen(world.db.sessions.kw["sync_session_class"], "do_orm_execute",
                 lambda state: orm.append(getattr(getattr(state.statement, "table", None),
                                                  "name", "")))
    return statements, orm


async def test_a_confirmation_on_sqlite_reads_the_meeting_once_and_books_in_core(
        world: World) -> None:
    """Issue 22: on SQLite (one writer, no row locks) an employer's confirmation reads its
    meeting in one statement — not the case's id and the case again to lock them, as on
    PostgreSQL — and books the consultant's minutes with one plain statement whose rows the
    database makes (not the ORM's bulk insert with its per-row bookkeeping, nor a parameter
    set per minute); the same meeting is confirmed, the same minutes booked."""
    meeting_id, key = await _proposed(world, "sim-confirm-1")
    statements, orm = _recording(world)
    assert await world.answers.confirm(meeting_id, key) == Outcome.CONFIRMED
    assert not [s for s in statements if s.startswith(("SELECT meetings.case_id FROM",
                                                        "SELECT cases.id FROM cases"))]
    assert len([s for s in statements if s.startswith("SELECT meetings.id,")]) == 1
    assert len([s for s in statements if "INSERT INTO booked_minutes" in s]) == 1
    assert "booked_minutes" not in orm
    async with world.db.read() as session:
        status, booked = (await session.execute(text(
            "SELECT status, (SELECT count(*) FROM booked_minutes WHERE meeting_id = :id) "
            "FROM meetings WHERE id = :id"), {"id": meeting_id})).one()
    assert status == "confirmed" and booked >= 60
    # A second confirmation of the same meeting (a double click) still says so.
    assert await world.answers.confirm(meeting_id, key) == Outcome.ALREADY



@contextmanager
def _loads(model: type) -> Iterator[list[int]]:
    """The ids of the `model` rows the ORM makes objects of, while in the block."""
    loaded: list[int] = []

    def on_load(target: Any, _context: Any) -> None:
        loaded.append(target.id)

    event.listen(model, "load", on_load)
    try:
        yield loaded
    finally:
        event.remove(model, "load", on_load)


async def test_reminders_read_whole_only_the_meetings_that_get_one(world: World) -> None:
    """Issue 22: the reminder scan decides on a few columns of the open meetings and reads
    whole (ORM objects with their case, employer and consultants) only those that get a
    reminder — it read every open meeting on every run."""
    ids = [(await _proposed(world, f"sim-remind-{n}"))[0] for n in range(3)]
    today = world.clock.today()
    later = today + timedelta(days=14)
    with _loads(Meeting) as loaded:
        assert await world.reminders.send_due(today) == 0  # invited today: nothing due
        assert loaded == []
        assert await world.reminders.send_due(later) == 3
        assert sorted(loaded) == sorted(ids)
        loaded.clear()
        assert await world.reminders.send_due(later) == 0  # each sent once
        assert loaded == []
    async with world.db.read() as session:
        told = (await session.execute(text(
            "SELECT meeting_id FROM outbox WHERE kind = 'employer_reminder' ORDER BY id"))
        ).scalars().all()
    assert sorted(told) == sorted(ids)


async def test_storing_a_plan_reads_only_the_meetings_it_cancels(world: World) -> None:
    """Issue 22: after storing a plan, the meetings no longer wanted (the case closed, left
    the target group or got another follow-up) are cancelled — picked by the database, not
    by reading every active meeting of the municipality on every run."""
    ids = {ref: (await _proposed(world, ref))[0] for ref in ("sim-keep-1", "sim-keep-2",
                                                              "sim-phone-1")}
    async with world.db.write() as session:
        await session.execute(text("UPDATE cases SET follow_up = 'telephone' "
                                   "WHERE case_ref = 'sim-phone-1'"))
    with _loads(Meeting) as loaded:
        async with world.db.write() as session:
            await world.planner.store._no_longer_wanted(session, InstanceContext(instance={}))
    assert loaded == [ids["sim-phone-1"]]
    async with world.db.read() as session:
        statuses = dict((await session.execute(text(
            "SELECT cases.case_ref, meetings.status FROM meetings JOIN cases ON cases.id = "
            "meetings.case_id"))).all())
    assert statuses == {"sim-keep-1": "proposed", "sim-keep-2": "proposed",
                        "sim-phone-1": "cancelled"}


async def test_delivering_sent_messages_makes_no_orm_session_work(world: World) -> None:
    """Issue 22: claiming due messages and marking each sent as soon as it is sent are plain
    Core statements on a connection, each in its own transaction as before — no ORM session
    per message; the messages end as sent, each once."""
    await _proposed(world, "sim-deliver-1")
    await _proposed(world, "sim-deliver-2")
    async with world.db.read() as session:
        due = (await session.execute(text(
            "SELECT count(*) FROM outbox WHERE status = 'pending'"))).scalar()
    statements, orm = _recording(world)
    commits: list[None] = []
    event.listen(world.db.engine.sync_engine, "commit", lambda _c: commits.append(None))
    assert await world.deliverer.deliver_due() == due
    assert orm == [] and not [s for s in statements if "sent_at" in s and "IN (" in s]
    # One transaction per claim (a channel's batch, and the one that finds nothing more)
    # and one per message sent.
    assert len(commits) >= due
    async with world.db.read() as session:
        assert dict((await session.execute(text(
            "SELECT status, count(*) FROM outbox GROUP BY status"))).all()) == {"sent": due}
    assert len(world.mail.take()) == due


async def test_the_scan_before_planning_reads_whole_only_the_meetings_it_changes(
        world: World) -> None:
    """Issue 22: the conflict scan before every planning run decides on a few columns of
    the active meetings; only a meeting it withdraws or marks is read whole (locked) — it
    read every active meeting with its case, employer and consultants each time."""
    confirmed_id, confirmed_key = await _proposed(world, "sim-scan-1")
    assert await world.answers.confirm(confirmed_id, confirmed_key) == Outcome.CONFIRMED
    proposed_id, proposed_key = await _proposed(world, "sim-scan-2")
    scan = world.services.conflicts.scan
    with _loads(Meeting) as loaded:
        result = await scan()
        assert loaded == [] and result.withdrawn == result.conflicts == []
        # The proposal's time passes unanswered: it alone is withdrawn (and read to be).
        world.clock.set(max(datetime.fromisoformat(confirmed_key),
                            datetime.fromisoformat(proposed_key)) + timedelta(hours=1))
        result = await scan()
        assert set(loaded) == {proposed_id} and result.withdrawn == ["sim-scan-2"]
        assert result.conflicts == result.resolved == []


async def test_the_instance_reads_its_meetings_without_their_case_again(world: World) -> None:
    """Issue 22: building the planning instance reads the active meetings and kept talks
    without joining each one's case, employer and consultants again (the cases were read
    just before; nothing using the instance's meetings reads those); the instance is the
    same."""
    await _proposed(world, "sim-instance-1")
    await _proposed(world, "sim-instance-2")
    statements, _orm = _recording(world)
    async with world.db.snapshot() as session:
        ctx = await build_instance(session, world.config, world.clock.today())
    meeting_reads = [s for s in statements if s.startswith("SELECT meetings.id,")]
    assert meeting_reads and not [s for s in meeting_reads if " JOIN " in s]
    assert {c["id"]: c["proposal"] is not None for c in ctx.instance["cases"]} == {
        "sim-instance-1": True, "sim-instance-2": True}
    assert len(ctx.active_meetings) == 2


async def test_a_message_is_queued_once_by_one_core_statement_after_what_came_before(
        world: World) -> None:
    """Issue 22: `enqueue_once` writes the session's pending changes first (as the ORM's
    autoflush did: a message added before it gets the lower id) and then inserts with one
    plain statement on the transaction's connection — not through the ORM's bulk insert;
    the same message again is still not queued."""
    outbox = world.outbox
    statements, orm = _recording(world)
    async with world.db.write() as session:
        first = outbox.enqueue(session, Message(channel="email", kind="first",
                                                recipient="a@example.dk"))
        assert await outbox.enqueue_once(session, Message(
            channel="email", kind="second", recipient="a@example.dk"), dedupe_key("x", 1))
        assert not await outbox.enqueue_once(session, Message(
            channel="email", kind="second", recipient="a@example.dk"), dedupe_key("x", 1))
    assert orm == []  # the first flushed by the ORM, the others plain Core statements
    assert len([s for s in statements if s.startswith("INSERT INTO outbox")]) == 3
    async with world.db.read() as session:
        rows = (await session.execute(text("SELECT id, kind FROM outbox ORDER BY id"))).all()
    assert [kind for _, kind in rows] == ["first", "second"] and rows[0][0] == first.id


async def test_a_held_meeting_is_written_in_one_update(world: World) -> None:
    """Issue 22: registering how a meeting went writes the meeting in one UPDATE (its
    outcome with the rest; the follow-up call tasks are closed after it) — it took two."""
    meeting_id, key = await _proposed(world, "sim-held-1")
    assert await world.answers.confirm(meeting_id, key) == Outcome.CONFIRMED
    async with world.db.read() as session:
        owner = (await session.execute(text(
            "SELECT consultants.key FROM cases JOIN consultants ON consultants.id = "
            "cases.owner_id WHERE cases.case_ref = 'sim-held-1'"))).scalar_one()
    world.clock.set(datetime.fromisoformat(key) + timedelta(hours=2))
    who = Principal(key_id=0, name=f"simulering-{owner}", role="consultant",
                    municipality_id=world.municipality, consultant_key=owner)
    statements, _orm = _recording(world)
    await world.outcomes.register_meeting("sim-held-1", "workplace", True, who)
    assert len([s for s in statements if s.startswith("UPDATE meetings")]) == 1
    async with world.db.read() as session:
        status, place, registered = (await session.execute(text(
            "SELECT status, place, outcome_registered_at FROM meetings WHERE id = :id"),
            {"id": meeting_id})).one()
    assert (status, place) == ("held", "workplace") and registered is not None


async def test_an_employer_reads_the_offered_times_without_loading_the_meeting(
        world: World) -> None:
    """Issue 22: the simulated employer's look at the page (its meeting's status and the
    times still offered) reads those columns, not the meeting with its case, employer and
    consultants; what it sees is the page's times."""
    meeting_id, key = await _proposed(world, "sim-offered-1")
    ctx = SimContext(bridge=Bridge(world.clock, datetime.combine(MONDAY, time())),
                     world=world, sim=world.config.simulation, seed=1, start=MONDAY,
                     end=MONDAY + timedelta(days=7))
    async with world.db.read() as session:
        meeting = (await session.execute(select(Meeting).where(Meeting.id == meeting_id))
                   ).unique().scalar_one()
    offered = [s.key for s in offered_slots(meeting) if s.start > world.clock.local_now()]
    with _loads(Meeting) as loaded:
        assert await _offered(ctx, meeting_id) == ("proposed", offered)
        assert await _offered(ctx, meeting_id + 100) is None
    assert loaded == [] and offered[0] == key and len(offered) > 1


async def test_the_instance_reads_the_case_columns_planning_uses_and_wishes_once(
        world: World) -> None:
    """Issue 22: the instance's cases are read as the columns planning uses (not CPR,
    contacts, minutes … of every open case on every run), and an employer's wishes for other
    times become unavailable intervals once per wish and day — the same instance."""
    meeting_id, _key = await _proposed(world, "sim-wishes-1")
    await _proposed(world, "sim-wishes-2")
    wishes = {"weekdays": ["tue", "thu"], "parts_of_day": ["morning"], "text": "",
              "weekdays_text": ["tirsdag", "torsdag"], "parts_text": ["formiddag"]}
    assert await world.answers.other_times(meeting_id, wishes) == Outcome.DONE
    statements, _orm = _recording(world)
    today = world.clock.today()
    async with world.db.snapshot() as session:
        first = await build_instance(session, world.config, today)
    case_reads = [s for s in statements if s.startswith("SELECT cases.id,")
                  and "first_meeting_deadline, cases.id" in s]
    assert len(case_reads) == 1 and "cpr_encrypted" not in case_reads[0] \
        and "citizen_name" not in case_reads[0]
    made = _unavailable.cache_info().misses
    async with world.db.snapshot() as session:
        again = await build_instance(session, world.config, today)
    assert _unavailable.cache_info().misses == made and again.instance == first.instance
    wished = next(c for c in first.instance["cases"] if c["id"] == "sim-wishes-1")
    # the wishes' intervals, then the times offered and turned down (never offered again)
    async with world.db.read() as session:
        answered = await session.get(Meeting, meeting_id)
        assert answered is not None and answered.employer_preferences is not None
        turned_down = answered.employer_preferences["declined"]
    assert turned_down and wished["employer"]["unavailable"] == preference_unavailability(
        wishes, today, world.config.planning.horizon_days) + turned_down


async def test_staff_confirm_reads_the_meeting_whole_only_to_confirm_it(world: World) -> None:
    """Issue 22: a consultant confirming a time agreed by phone reads the case's meeting as
    the columns it checks; only the confirmation reads it whole (locked) — it was read whole
    twice."""
    meeting_id, key = await _proposed(world, "sim-staff-1")
    async with world.db.read() as session:
        owner = (await session.execute(text(
            "SELECT consultants.key FROM cases JOIN consultants ON consultants.id = "
            "cases.owner_id WHERE cases.case_ref = 'sim-staff-1'"))).scalar_one()
    who = Principal(key_id=0, name=f"simulering-{owner}", role="consultant",
                    municipality_id=world.municipality, consultant_key=owner)
    with _loads(Meeting) as loaded:
        confirmed = await world.staff_meetings.confirm("sim-staff-1", key, who)
    assert confirmed.outcome == Outcome.CONFIRMED and loaded == [meeting_id]


async def test_the_grace_scan_opens_no_transaction_for_a_decline_still_in_its_grace(
        world: World) -> None:
    """Issue 22: the daily scan of declines decides on their decline time which are over
    their grace; one still in it costs no write transaction (with its locking reads) — every
    waiting decline had one, every day. Once over, the case moves to a jobcentre meeting."""
    meeting_id, _key = await _proposed(world, "sim-decline-1")
    assert await world.answers.decline(meeting_id, "no_rooms", "Ombygning") == Outcome.DONE
    declines = world.services.declines
    statements, _orm = _recording(world)
    assert await declines.scan() == 0
    assert len(statements) == 1 and statements[0].startswith("SELECT meetings.id,")
    world.clock.set(datetime.combine(MONDAY + timedelta(days=14), time(9)))
    assert await declines.scan() == 1
    async with world.db.read() as session:
        status, outcome = (await session.execute(text(
            "SELECT status, decline_outcome FROM meetings WHERE id = :id"),
            {"id": meeting_id})).one()
    assert status == "cancelled" and outcome is not None
