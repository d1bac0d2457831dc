"""What the meetings tell consultants goes through an interface the meetings own
(`ConsultantNotices`; the app gives it Slack's notices): a kind, the case's and meeting's ids
and a line of plain words — nothing of the citizen (their name, CPR, health), whatever the
employer or the rows hold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.keys import DB, NOTIFIER
from service.meetings.notifications import ConsultantNotices, MeetingNotifier
from service.platform.db.models import Case, Meeting, OutboxMessage
from tests.meetings.email_cases import body, intake
from tests.support import Api


class Recorded:
    """A `ConsultantNotices` that keeps what it is told."""

    def __init__(self) -> None:
        self.told: list[tuple[Any, ...]] = []

    async def tell_owner(self, session: AsyncSession, kind: str, case_id: int,
                         meeting_id: int | None = None, *, note: str = "",
                         once: str | None = None) -> bool:
        self.told.append(("tell_owner", kind, case_id, meeting_id, note, once))
        return True

    async def meeting_changed(self, session: AsyncSession, case_id: int, meeting_id: int
                              ) -> None:
        self.told.append(("meeting_changed", case_id, meeting_id))

    async def assigned(self, session: AsyncSession, proposals: dict[int, int | None]) -> None:
        self.told.append(("assigned", proposals))


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return value is None or isinstance(value, int | str)


async def test_the_meetings_tell_consultants_plain_data(sqlite_api: Api) -> None:
    await intake(sqlite_api, body("plain-1"))
    app = sqlite_api.client.app
    real = app[NOTIFIER]
    recorded = Recorded()
    consultants: ConsultantNotices = recorded
    notifier = MeetingNotifier(real.config, real.clock, real.links, real.outbox, real.renderer,
                               consultants)
    async with app[DB].write() as session:
        meeting = (await session.execute(select(Meeting).where(Meeting.status == "proposed"))
                   ).unique().scalar_one()
        case = await session.get(Case, meeting.case_id)
        assert case is not None
        await notifier.assigned(session, [case], [meeting])
        await notifier.invite(session, meeting)
        await notifier.other_times_asked(session, meeting, "mandag; formiddag")
        await notifier.declined(session, meeting, "Mads Madsen har det svært med stress")
        # The outbox gave up on the employer's invitation (a row as the deliverer hands it).
        failed = OutboxMessage(id=4242, channel="email", kind="employer_invitation",
                               case_id=case.id)
        await notifier.delivery_failed(session, failed)
        case_id, meeting_id = case.id, meeting.id
    assert recorded.told == [
        ("assigned", {case_id: meeting_id}),
        ("meeting_changed", case_id, meeting_id),
        ("tell_owner", "employer_other_times", case_id, meeting_id,
         "Ønsker: mandag; formiddag.", None),
        ("tell_owner", "employer_declined", case_id, meeting_id, "", None),
        ("tell_owner", "employer_mail_failed", case_id, None, "",
         "employer_mail_failed-4242")]
    assert all(_plain(part) for call in recorded.told for part in call)
    assert "Mads" not in str(recorded.told) and "stress" not in str(recorded.told)
