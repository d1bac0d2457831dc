"""A time the employer turned down ("andre tider") or cancelled, or staff cancelled, is not
offered to the case again: the next proposal and its alternatives avoid every such time of
the case (each round's, not only the last), while the employer's wishes stay in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from service.keys import DB, JOBS
from service.meetings.booking import offered_slots
from service.platform.db.models import Case, Meeting
from tests.meetings.email_cases import (
    body,
    confirm_first_time,
    form_token,
    intake,
    invitation,
)
from tests.support import Api, SmtpSink, link_path

Interval = tuple[datetime, datetime]


async def _offered(api: Api, ref: str) -> list[list[Interval]]:
    """Every meeting of the case, oldest first: the times it offered."""
    async with api.client.app[DB].read() as session:
        meetings = (await session.execute(select(Meeting).join(Case).where(
            Case.case_ref == ref, Meeting.kind == "workplace_meeting").order_by(Meeting.id))
        ).unique().scalars().all()
        return [[(s.start, s.end) for s in offered_slots(m)] for m in meetings]


def _overlaps(times: list[Interval], others: list[Interval]) -> list[Interval]:
    return [t for t in times if any(t[0] < o[1] and o[0] < t[1] for o in others)]


async def test_other_times_never_offers_the_times_turned_down(mail_api: Api,
                                                              smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("dt1"))
    for round_ in (1, 2):  # twice: the second proposal avoids both rounds' times
        path = link_path(await invitation(smtp_sink, count=round_))
        resp = await mail_api.client.post(f"{path}/other-times", data={
            "csrf": await form_token(mail_api, path), "text": "Ingen af tiderne passer"},
            allow_redirects=False)
        assert resp.status == 303
        await mail_api.client.app[JOBS].wait_idle()
    await invitation(smtp_sink, count=3)
    *turned_down, new = await _offered(mail_api, "dt1")
    assert len(turned_down) == 2 and all(turned_down) and new
    assert not _overlaps(new, turned_down[0] + turned_down[1]), (new, turned_down)


async def test_a_cancelled_time_is_not_proposed_again(mail_api: Api,
                                                      smtp_sink: SmtpSink) -> None:
    """By the employer on their page, then by staff (the consultant was prevented)."""
    await intake(mail_api, body("dt2"))
    path = link_path(await invitation(smtp_sink))
    await confirm_first_time(mail_api, path)
    resp = await mail_api.client.post(f"{path}/cancel", data={
        "csrf": await form_token(mail_api, path), "confirm": "ja"}, allow_redirects=False)
    assert resp.status == 303
    await mail_api.client.app[JOBS].wait_idle()
    cancelled, proposed = await _offered(mail_api, "dt2")
    assert not _overlaps(proposed, cancelled[:1]), (proposed, cancelled[0])

    resp = await mail_api.client.post("/api/cases/dt2/meeting/cancel", headers=mail_api.auth(
        "intake"), json={"reason": "Konsulenten er blevet forhindret"})
    assert resp.status == 200, await resp.text()
    await mail_api.client.app[JOBS].wait_idle()
    first, second, third = await _offered(mail_api, "dt2")
    assert third and not _overlaps(third, [first[0], second[0]]), (third, first, second)
