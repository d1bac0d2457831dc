"""Issue 19 item 2: the citizen is told when their planned private talk is moved or
cancelled (over SMTP, on SQLite) — a new owner cancels it (and planning plans it anew with
them), a talk replaced at another time says it moved; the employer hears nothing of it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.config import MunicipalityConfig
from service.keys import DB, JOBS, NOTIFIER
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_CANCELLED, TALK_PLANNED
from service.platform.db.models import Case, Meeting
from service.text.danish import danish_slot
from tests.meetings.email_cases import CITIZEN, EMPLOYER, body, intake
from tests.support import Api, SmtpSink, text_part


async def _talks(api: Api, ref: str) -> list[Meeting]:
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == ref))
                ).unique().scalar_one()
        return list((await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.kind == PRIVATE_TALK).order_by(Meeting.id))
        ).unique().scalars())


async def test_a_new_owner_cancels_the_talk_and_the_citizen_is_told(
        mail: Api, smtp_sink: SmtpSink, demo_config: MunicipalityConfig) -> None:
    await intake(mail, body("TOLD-1", citizen_wants_private_talk=True))
    (talk,) = await _talks(mail, "TOLD-1")
    owner = next(c for c in demo_config.consultants if c.name == talk.consultant.name)
    other = next(c for c in demo_config.consultants if c.id != owner.id)
    resp = await mail.client.put("/api/cases/TOLD-1/owner", json={
        "consultant_id": other.id, "reason": "test"}, headers=mail.auth("intake"))
    assert resp.status == 200, await resp.text()
    await mail.client.app[JOBS].wait_idle()
    told = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                     and "er aflyst" in str(m["Subject"])))[0]
    assert danish_slot(talk.start, talk.end) in text_part(told)
    assert "ny konsulent" in text_part(told)
    talks = await _talks(mail, "TOLD-1")
    assert talks[0].status == TALK_CANCELLED
    for message in smtp_sink.to(EMPLOYER):
        assert "samtale" not in (str(message["Subject"]) + text_part(message)).lower()


async def test_a_talk_moved_says_so(mail: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail, body("TOLD-2", citizen_wants_private_talk=True))
    (old,) = await _talks(mail, "TOLD-2")
    async with mail.client.app[DB].write() as session:
        old = await session.get(Meeting, old.id)
        assert old is not None
        old.status = TALK_CANCELLED
        new = Meeting(municipality_id=old.municipality_id, case_id=old.case_id,
                      consultant_id=old.consultant_id, kind=PRIVATE_TALK,
                      start=old.start + timedelta(hours=1), end=old.end + timedelta(hours=1),
                      travel_minutes=0, on_time=True, status=TALK_PLANNED, alternatives=[])
        new.case, new.consultant = old.case, old.consultant
        session.add(new)
        await session.flush()
        await mail.client.app[NOTIFIER].talk_planned(session, new, old)
    moved = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                      and "er flyttet til" in str(m["Subject"])))[0]
    text = text_part(moved)
    assert f"{danish_slot(old.start, old.end)} er flyttet" in text
    assert danish_slot(new.start, new.end) in text
