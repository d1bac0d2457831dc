"""Where a follow-up is planned when the case's own consultant holds no workplace meetings
(`service.planning.instance._at_the_jobcentre`): at the jobcentre while they hold none, and a
follow-up confirmed there stays there once their role begins."""

from __future__ import annotations

from datetime import date, datetime

from service.planning.instance import PlannedMeeting, _at_the_jobcentre
from service.platform.db.models import Consultant

DAY = date(2027, 1, 10)


def _consultant(workplace: bool, since: date | None = None) -> Consultant:
    return Consultant(id=5, key="eva", workplace_meetings=workplace,
                      workplace_meetings_from=since)


def _meeting(kind: str, status: str, consultant_id: int = 5) -> PlannedMeeting:
    start = datetime(2027, 2, 3, 10, 0)
    return PlannedMeeting(1, 1, consultant_id, kind, status, start, start, None, None, None,
                          None)


def test_without_workplace_meetings_the_follow_up_is_at_the_jobcentre() -> None:
    assert _at_the_jobcentre(_consultant(False), None, DAY)
    assert _at_the_jobcentre(_consultant(True, date(2027, 2, 1)), None, DAY)  # not yet
    assert not _at_the_jobcentre(_consultant(True, date(2027, 1, 10)), None, DAY)
    assert not _at_the_jobcentre(_consultant(True), None, DAY)
    assert not _at_the_jobcentre(None, None, DAY)  # no owner: planning picks one who can


def test_a_follow_up_confirmed_at_the_jobcentre_stays_there() -> None:
    begun = _consultant(True, date(2027, 1, 4))
    assert _at_the_jobcentre(begun, _meeting("jobcenter_meeting", "confirmed"), DAY)
    # a proposal is planned anew (at the workplace now), as is another consultant's meeting
    assert not _at_the_jobcentre(begun, _meeting("jobcenter_meeting", "proposed"), DAY)
    assert not _at_the_jobcentre(begun, _meeting("jobcenter_meeting", "confirmed", 7), DAY)
    assert not _at_the_jobcentre(begun, _meeting("workplace_meeting", "confirmed"), DAY)
