"""An employer's answer and a planning run on PostgreSQL: every writer locks a case before its
meetings, so the two wait for each other in one order and never deadlock (the full suite once
met `deadlock detected` on a decline while a planning chunk held the case)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, text

from service.config import MunicipalityConfig
from service.keys import ANSWERS, DB, JOBS
from service.meetings.answers import Outcome
from service.platform.db.engine import Database
from service.platform.db.models import Case, Meeting
from tests.meetings.email_cases import body, intake
from tests.support import Api, make_secrets, start_api, wait_until


async def _waiting_for_a_lock(db: Database) -> bool:
    async with db.read() as session:
        return bool((await session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"))).scalar_one())


async def _decline_while_a_chunk_holds_the_case(api: Api) -> None:
    app = api.client.app
    await intake(api, body("lock-1"))
    await app[JOBS].wait_idle()
    db = app[DB]
    async with db.read() as session:
        case_id, meeting_id = (await session.execute(
            select(Case.id, Meeting.id).join(Meeting, Meeting.case_id == Case.id)
            .where(Case.case_ref == "lock-1", Meeting.status == "proposed"))).one()
    # As a planning chunk stores its plan: the case first, then (later) its meeting.
    async with db.write() as chunk:
        await chunk.execute(select(Case.id).where(Case.id == case_id)
                            .with_for_update(key_share=True))
        answer = asyncio.create_task(app[ANSWERS].decline(meeting_id, "no_rooms", "Ombygning"))
        await wait_until(lambda: _waiting_for_a_lock(db), what="the answer to wait for the case")
        await chunk.execute(select(Meeting.id).where(Meeting.id == meeting_id)
                            .with_for_update(key_share=True))
    assert await asyncio.wait_for(answer, 30) == Outcome.DONE
    async with db.read() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None and meeting.employer_answer == "declined"


async def test_an_answer_waits_for_a_planning_chunk_holding_the_case(
        demo_config: MunicipalityConfig, postgres_url: str) -> None:
    async for api in start_api(demo_config, make_secrets(postgres_url)):
        await _decline_while_a_chunk_holds_the_case(api)
