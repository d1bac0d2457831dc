"""The consultant's week laid out as a calendar: a column per day, each meeting, its travel
before and after, and busy entries as blocks placed by time (percentages of the day's span,
so the page needs no script); on a phone the same blocks stack as a list per day."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote

from service.config import WEEKDAYS as HOURS_KEYS
from service.config import WorkingHours
from service.followup.my_work import BusyView, MeetingView, WeekView
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_LABEL, TALK_STATUS_TEXT
from service.text.danish import WEEKDAYS, danish_time, short_date

_ISO_WEEK = re.compile(r"(?P<year>20[0-9]{2})-W(?P<week>[0-5][0-9])")

PIXELS_PER_HOUR = 84
KIND_TEXT = {"workplace_meeting": "Samtale på arbejdspladsen",
             "jobcenter_meeting": "Samtale i jobcentret", "telephone": "Telefonisk opfølgning",
             PRIVATE_TALK: TALK_LABEL}
STATUS_TEXT = {"proposed": "foreslået", "confirmed": "bekræftet", "held": "holdt",
               "not_held": "ikke holdt", **TALK_STATUS_TEXT}
PLACE_TEXT = {"workplace": "på arbejdspladsen", "jobcentre": "i jobcentret",
              "phone": "telefonisk"}


def parse_week(raw: str) -> date | None:
    """The Monday of an ISO week written '2026-W48' (as <input type=week> sends it)."""
    match = _ISO_WEEK.fullmatch(raw)
    if match is None:
        return None
    try:
        return date.fromisocalendar(int(match["year"]), int(match["week"]), 1)
    except ValueError:  # week 53 of a year with 52
        return None


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class Block:
    kind: str  # meeting | talk | travel | busy | absence
    start: datetime
    end: datetime
    title: str
    lines: list[str] = field(default_factory=list)
    status: str = ""
    href: str = ""
    top: float = 0.0  # % of the day's span
    height: float = 0.0
    lane: int = 0  # blocks at the same time share the column's width side by side
    lanes: int = 1

    @property
    def left(self) -> float:
        return round(100 * self.lane / self.lanes, 3)

    @property
    def width(self) -> float:
        return round(100 / self.lanes, 3)

    @property
    def when(self) -> str:
        return f"{danish_time(self.start)}–{danish_time(self.end)}"


@dataclass
class Day:
    day: date
    name: str
    label: str
    today: bool
    blocks: list[Block]


@dataclass
class WeekLayout:
    monday: date
    label: str
    previous: str
    following: str
    days: list[Day]
    hours: list[dict[str, object]]  # hour lines: {"text": "09", "top": %}
    empty: bool
    height_px: int  # the day columns' height on a wide screen


def _meeting_blocks(meeting: MeetingView) -> list[Block]:
    lines = [f"Sag {meeting.case_ref}"]
    if meeting.kind == "workplace_meeting":
        lines.append(", ".join(x for x in (meeting.employer_name, meeting.address) if x)
                     or "Arbejdspladsen")
    if meeting.status == "held" and meeting.place:
        took = " · arbejdsgiveren deltog" if meeting.employer_took_part else ""
        lines.append(f"Holdt {PLACE_TEXT.get(meeting.place, '')}{took}")
    if meeting.kind == PRIVATE_TALK:
        lines.append("Telefon eller jobcentret · arbejdsgiveren deltager ikke")
    block_kind = "talk" if meeting.kind == PRIVATE_TALK else "meeting"
    blocks = [Block(block_kind, meeting.start, meeting.end, KIND_TEXT.get(meeting.kind,
                                                                          "Samtale"),
                    lines, meeting.status, f"/my-cases/{quote(meeting.case_ref, safe='')}")]
    if meeting.travel_minutes and meeting.status != "not_held":
        travel = timedelta(minutes=meeting.travel_minutes)
        minutes = meeting.travel_minutes
        blocks.insert(0, Block("travel", meeting.start - travel, meeting.start, "Transport",
                               [f"{minutes} min. til sag {meeting.case_ref}"]))
        blocks.append(Block("travel", meeting.end, meeting.end + travel, "Transport",
                            [f"{minutes} min. fra sag {meeting.case_ref}"]))
    return blocks


def _share_lanes(blocks: list[Block]) -> None:
    """Blocks that overlap in time (a busy entry during a meeting) stand side by side: each
    group of overlapping blocks gets as many lanes as it needs at once (blocks sorted by
    start; touching blocks do not overlap)."""
    group: list[Block] = []
    group_end = datetime.min
    for block in blocks:
        if group and block.start >= group_end:
            _finish_group(group)
            group = []
        taken = {b.lane for b in group if b.end > block.start}
        block.lane = min(lane for lane in range(len(group) + 1) if lane not in taken)
        group_end = max(group_end, block.end) if group else block.end
        group.append(block)
    _finish_group(group)


def _finish_group(group: list[Block]) -> None:
    lanes = max((b.lane for b in group), default=0) + 1
    for block in group:
        block.lanes = lanes


def _busy_block(busy: BusyView) -> Block:
    return Block("busy", busy.start, busy.end, busy.title or "Optaget")


def _absence_blocks(week: WeekView, hours: WorkingHours, reason_words: dict[str, str]
                    ) -> list[Block]:
    """A day the consultant is away (an absence registered in fasthold): its working hours
    as one block, the reason's word as its title."""
    blocks = []
    for absence in week.absences:
        for offset in range(7):
            day = week.monday + timedelta(days=offset)
            opening = hours.for_weekday(day.weekday())
            if opening is None or not absence.first_day <= day <= absence.last_day:
                continue
            word = reason_words.get(absence.reason, absence.reason)
            blocks.append(Block("absence", datetime.combine(day, opening[0]),
                                datetime.combine(day, opening[1]), f"Fravær: {word}"))
    return blocks


def lay_out(week: WeekView, hours: WorkingHours, today: date,
            reason_words: dict[str, str] | None = None) -> WeekLayout:
    """Columns Monday to Friday (and Saturday/Sunday when something is on them), spanning
    the working hours, widened to whatever falls outside them. `reason_words`: an absence's
    reason in words."""
    blocks = [b for m in week.meetings for b in _meeting_blocks(m)]
    blocks += [_busy_block(b) for b in week.busy]
    blocks += _absence_blocks(week, hours, reason_words or {})
    starts, ends = [], []
    for weekday in range(7):
        opening = hours.for_weekday(weekday)
        if opening is not None:
            starts.append(opening[0].hour * 60 + opening[0].minute)
            ends.append(opening[1].hour * 60 + opening[1].minute)
    for block in blocks:
        starts.append(block.start.hour * 60 + block.start.minute)
        ends.append(block.end.hour * 60 + block.end.minute if block.end.date() ==
                    block.start.date() else 24 * 60)
    first = (min(starts, default=8 * 60) // 60) * 60
    last = min(-(-max(ends, default=16 * 60) // 60) * 60, 24 * 60)
    span = max(last - first, 60)
    days = []
    for offset in range(7):
        day = week.monday + timedelta(days=offset)
        mine = sorted((b for b in blocks if b.start.date() == day), key=lambda b: b.start)
        if offset >= 5 and not mine:
            continue
        for block in mine:
            begin = block.start.hour * 60 + block.start.minute
            end = (block.end.hour * 60 + block.end.minute if block.end.date() == day
                   else 24 * 60)
            block.top = round(100 * (begin - first) / span, 3)
            block.height = round(100 * max(end - begin, 10) / span, 3)
        _share_lanes(mine)
        days.append(Day(day, WEEKDAYS[day.weekday()].capitalize(), short_date(day),
                        day == today, mine))
    hour_lines = [{"text": f"{minute // 60:02d}", "top": round(100 * (minute - first) / span, 3)}
                  for minute in range(first, last + 1, 60)]
    return WeekLayout(week.monday, week_label(week.monday),
                      week_label(week.monday - timedelta(days=7)),
                      week_label(week.monday + timedelta(days=7)), days, hour_lines,
                      not blocks, round(span / 60 * PIXELS_PER_HOUR))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def consultant_hours(stored: dict[str, list[str]] | None, municipality: WorkingHours | None
                     ) -> WorkingHours:
    """A consultant's working hours: their own where stored (a day off left out), else the
    municipality's (else the default)."""
    if stored:
        return WorkingHours(**{day: tuple(stored[day]) if stored.get(day) else None
                               for day in HOURS_KEYS})
    return municipality or WorkingHours()


def current_week(today: date, hours: WorkingHours) -> date:
    """The Monday of the week a consultant means by "this week": today's, while a day the
    consultant works (`hours`) is left in it, today included; else — on a weekend, or a
    Friday for one who does not work Fridays — the coming week's."""
    monday = monday_of(today)
    if any(hours.for_weekday(weekday) is not None for weekday in range(today.weekday(), 7)):
        return monday
    return monday + timedelta(days=7)
