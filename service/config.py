"""Municipality configuration: one TOML file per municipality, validated on load.

Secrets never live in these files; they come from environment variables (see `Secrets`).
"""

from __future__ import annotations

import calendar
import os
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from rules.thresholds import Thresholds
from service.clock import DEFAULT_TIMEZONE, zone

CVR = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DiagnosisGroup = Literal["physical", "mental", "cancer_heart_lung", "other"]
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class ConfigError(Exception):
    """A configuration file is missing, unreadable or invalid; the message names file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Location(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class MunicipalityInfo(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
    name: str = Field(min_length=1)
    # The clock's `now()` and `today()` are in this zone (an IANA name).
    timezone: str = DEFAULT_TIMEZONE

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value


# A page of the municipality's own site, linked from pages and mail (never fetched).
WebAddress = Annotated[str, StringConstraints(pattern=r"^https?://[^\s<>\"']{1,300}$")]
# An e-mail address as mail needs one (a local part, @, a domain with a dot).
MailAddress = Annotated[str, StringConstraints(max_length=320,
                                               pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
# A name that goes into a mail's header or a letter's line: one line, no control characters.
OneLine = Annotated[str, StringConstraints(min_length=1, max_length=200,
                                           pattern=r"^[^\x00-\x1f\x7f\u2028\u2029]+$")]
SlackUserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,20}$")]


class Jobcentre(_Strict):
    name: OneLine
    address: OneLine
    phone: OneLine
    email: MailAddress
    location: Location
    # The municipality's privacy notice ("Sådan behandler vi dine personoplysninger", GDPR
    # art. 13 and 14: the citizen and the employer's contact person are told where it is) and
    # its accessibility statement (webtilgængelighedsloven: a public body's web pages link to
    # it; the statement itself lives on was.digst.dk). Shown in the footer of the employer's
    # and the citizen's pages, the staff pages and every e-mail, when set.
    privacy_url: WebAddress | None = None
    accessibility_url: WebAddress | None = None


class RulesConfig(_Strict):
    target_expected_weeks_over: float = Field(default=8, ge=0)
    telephone_recovery_within_days: int = Field(default=28, ge=0)
    first_meeting_deadline_days: int = Field(default=55, ge=0)
    fast_track_meeting_within_days: int = Field(default=14, ge=0)
    intervention_deadline_days: int = Field(default=90, ge=0)
    exclude_serious_illness: bool = True
    exclude_workplace_cause: bool = True

    def thresholds(self) -> Thresholds:
        return Thresholds(**self.model_dump())


def _check_hours(value: list[str], field: str) -> tuple[str, str]:
    if len(value) != 2 or not all(isinstance(v, str) and _HHMM.match(v) for v in value):
        raise ValueError(f"{field} must be [\"HH:MM\", \"HH:MM\"]")
    if value[0] >= value[1]:
        raise ValueError(f"{field}: start {value[0]} must be before end {value[1]}")
    return (value[0], value[1])


class WorkingHours(_Strict):
    """Opening hours per weekday as ["HH:MM", "HH:MM"]; a missing day is closed."""

    mon: tuple[str, str] | None = ("08:00", "15:30")
    tue: tuple[str, str] | None = ("08:00", "15:30")
    wed: tuple[str, str] | None = ("08:00", "15:30")
    thu: tuple[str, str] | None = ("08:00", "15:30")
    fri: tuple[str, str] | None = ("08:00", "13:00")
    sat: tuple[str, str] | None = None
    sun: tuple[str, str] | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _hours(cls, value: object, info: object) -> object:
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise ValueError("must be [\"HH:MM\", \"HH:MM\"]")
        return _check_hours(list(value), getattr(info, "field_name", "hours"))

    def as_dict(self) -> dict[str, list[str]]:
        return {d: list(h) for d in WEEKDAYS if (h := getattr(self, d)) is not None}

    def for_weekday(self, weekday: int) -> tuple[time, time] | None:
        hours = getattr(self, WEEKDAYS[weekday])
        if hours is None:
            return None
        return time.fromisoformat(hours[0]), time.fromisoformat(hours[1])


class Travel(_Strict):
    road_factor: float = Field(default=1.3, gt=0)
    speed_kmh: float = Field(default=50, gt=0)


class MeetingMinutes(_Strict):
    workplace_meeting: int = Field(default=60, gt=0, le=480)
    jobcenter_meeting: int = Field(default=45, gt=0, le=480)


# The jobcentre's days off every year besides the public holidays (`MM-DD`): the Danish
# public sector's usual ones — Grundlovsdag, Juleaftensdag and Nytårsaftensdag — unless the
# municipality's `[planning] closed_every_year` says otherwise.
DANISH_DAYS_OFF = ("06-05", "12-24", "12-31")
# The years a recurring closed day is spelled out for (every date the service deals in).
CLOSED_YEARS = range(2000, 2101)
_MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


@lru_cache(maxsize=16)
def _closed(dates: tuple[date, ...], every_year: tuple[str, ...]) -> frozenset[date]:
    out = set(dates)
    for month_day in every_year:
        month, day = int(month_day[:2]), int(month_day[3:])
        for year in CLOSED_YEARS:
            if month == 2 and day == 29 and not calendar.isleap(year):
                continue
            out.add(date(year, month, day))
    return frozenset(out)


class PlanningConfig(_Strict):
    horizon_days: int = Field(default=35, ge=1, le=366)
    slot_minutes: int = Field(default=15, ge=5, le=120)
    min_notice_days: int = Field(default=2, ge=0, le=30)
    meeting_minutes: MeetingMinutes = MeetingMinutes()
    travel: Travel = Travel()
    closed_dates: list[date] = []
    # Closed on these days every year (`MM-DD`), e.g. ["06-05", "12-24", "12-31"].
    closed_every_year: list[str] = list(DANISH_DAYS_OFF)
    time_limit_seconds: float = Field(default=10, gt=0, le=600)
    # Scheduled re-planning: at this local time on every working day.
    schedule_time: str = "06:30"
    schedule_enabled: bool = True
    # The objective's lower tiers prefer at least this many working days between the
    # invitation and the meeting when the deadline allows (`min_notice_days` is the hard floor,
    # counted in working days too).
    preferred_notice_working_days: int = Field(default=3, ge=0, le=30)
    # A company's fixed consultant: "hard" (only them) or "preferred" (them first, else the
    # same team, else anyone eligible; the reason said in words).
    fixed_employers: Literal["hard", "preferred"] = "preferred"
    # An absence this long (working days) offers to hand the consultant's open cases over.
    long_absence_working_days: int = Field(default=10, ge=1, le=260)
    # Rule 10: the citizen's private talk with the consultant before the workplace meeting
    # (by telephone or at the jobcentre) lasts this long.
    private_talk_minutes: int = Field(default=30, ge=5, le=240)
    # More cases than this to plan, and consultants in two or more teams: the run is split by
    # team, each part solved on its own within the time limit (service.planning.partition).
    partition_cases: int = Field(default=600, ge=1, le=1_000_000)

    @field_validator("schedule_time")
    @classmethod
    def _schedule_time(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("must be \"HH:MM\"")
        return value

    @field_validator("closed_every_year")
    @classmethod
    def _month_days(cls, value: list[str]) -> list[str]:
        for month_day in value:
            if not _MMDD.match(month_day):
                raise ValueError(f"{month_day!r}: must be \"MM-DD\"")
            try:
                date(2000, int(month_day[:2]), int(month_day[3:]))  # 2000: a leap year
            except ValueError:
                raise ValueError(f"{month_day!r}: no such day") from None
        return value

    def closed(self) -> frozenset[date]:
        """Every date the jobcentre is closed besides weekends and public holidays: the
        `closed_dates` and the `closed_every_year` days of every year in `CLOSED_YEARS`."""
        return _closed(tuple(self.closed_dates), tuple(self.closed_every_year))


class Consultant(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    name: OneLine
    email: MailAddress
    phone: str = ""
    slack_user_id: SlackUserId | None = None
    team: str = "default"
    # Where the consultant starts: coordinates, or a base address placed on the map when
    # the consultant is seeded (service.places: town or postcode precision).
    location: Location | None = None
    address: str | None = Field(default=None, min_length=1, max_length=300)
    skills: list[DiagnosisGroup] = []
    max_active_cases: int = Field(ge=0)
    meetings_per_day: int = Field(default=3, ge=0)
    workplace_meetings: bool = True
    # The workplace-meeting role is rolled out over months: none before this date.
    workplace_meetings_from: date | None = None
    fixed_employers: list[CVR] = []
    working_hours: WorkingHours | None = None

    @model_validator(mode="after")
    def _location_or_address(self) -> Consultant:
        if self.location is None and self.address is None:
            raise ValueError("needs a location ({ lat = …, lon = … }) or an address")
        return self

    def does_workplace_meetings_on(self, day: date) -> bool:
        if not self.workplace_meetings:
            return False
        return self.workplace_meetings_from is None or day >= self.workplace_meetings_from


class Milestone(_Strict):
    """A monthly KPI target (milepæl), shares as fractions 0..1."""

    month: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    workplace_first_meeting_share: float = Field(ge=0, le=1)
    intervention_before_week13_share: float | None = Field(default=None, ge=0, le=1)
    first_meeting_before_week8_share: float | None = Field(default=None, ge=0, le=1)


Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


class BenchmarkMonth(_Strict):
    """The national benchmark's share from `month` on (until the next listed month)."""

    month: Month
    intervention_before_week13_share: float = Field(ge=0, le=1)


class Benchmark(_Strict):
    """The national benchmark population (issue 20 item 8): the share of sickness-benefit
    cases from employment nationally with a workplace-oriented intervention by the end of
    absence week 13 (STAR's figure, jobindsats.dk). The week-13 figure's milestone is this
    share plus `points_above` (0.10: ten percentage points), capped at 1. Either one number
    for every month (`intervention_before_week13_share`) or per month (`months`, each
    holding from its month until the next; before the first: the one number, if any). With
    neither, the week-13 milestone is `[[milestones]]`' `intervention_before_week13_share`.
    The shipped numbers are assumptions: replace them with the municipality's STAR figures."""

    intervention_before_week13_share: float | None = Field(default=None, ge=0, le=1)
    months: list[BenchmarkMonth] = []
    points_above: float = Field(default=0.10, ge=0, le=1)

    @model_validator(mode="after")
    def _months_once(self) -> Benchmark:
        months = [m.month for m in self.months]
        if len(months) != len(set(months)):
            raise ValueError("benchmark.months: a month is listed twice")
        return self

    def share(self, month: str) -> float | None:
        """The national share in force in `month` (YYYY-MM), None if none is configured."""
        earlier = [m for m in self.months if m.month <= month]
        if earlier:
            return max(earlier, key=lambda m: m.month).intervention_before_week13_share
        return self.intervention_before_week13_share

    def milestone(self, month: str) -> float | None:
        """The week-13 milestone from the benchmark: its share + `points_above` (max 1)."""
        share = self.share(month)
        return None if share is None else round(min(1.0, share + self.points_above), 4)


class MailConfig(_Strict):
    from_address: MailAddress
    from_name: OneLine = "Jobcenter"
    link_base_url: WebAddress = "http://127.0.0.1:8080"
    # Employer links expire this many days after the case's first-meeting deadline.
    link_valid_days_after_deadline: int = Field(default=7, ge=0, le=365)
    # A reminder goes to an employer who has not answered after this many working days.
    reminder_after_working_days: int = Field(default=2, ge=1, le=30)
    # The citizen is reminded of a meeting or private talk on the working day before (by
    # e-mail, else by Digital Post where letters go that way; a printed letter would come
    # too late). False: the municipality reminds them its own way (an SMS service).
    citizen_day_before: bool = True
    # How often the outbox deliverer looks for due messages (it is also woken on commit).
    poll_seconds: float = Field(default=5.0, gt=0, le=600)

    def link(self, path: str) -> str:
        """`path` (from its "/") on the municipality's own address (`link_base_url`): where
        the links in mail, Slack and calendars and the identity provider's return addresses
        point."""
        return self.link_base_url.rstrip("/") + path


class CalendarImportConfig(_Strict):
    """Consultants' own calendars (published .ics URLs, CalDAV) imported as busy time."""

    every_minutes: int = Field(default=15, ge=1, le=1440)
    timeout_seconds: float = Field(default=20, gt=0, le=300)
    # Larger feeds are refused (a typical year of Outlook is well under 1 MB).
    max_bytes: int = Field(default=5_000_000, ge=10_000, le=100_000_000)


class PlacesConfig(_Strict):
    """Placing typed addresses on the map. Offline (towns and postcodes shipped with
    fasthold) always; an online geocoder (DAWA) in front of it only when enabled."""

    online: bool = False
    dawa_url: WebAddress = "https://api.dataforsyningen.dk"
    timeout_seconds: float = Field(default=5, gt=0, le=60)


class JobsConfig(_Strict):
    """`[jobs]`: who runs the background jobs. "in_process" (the default, and the only one on
    SQLite): the web process itself. "procrastinate" (PostgreSQL only): the job queue in the
    database; `fasthold serve` then only defers jobs and `fasthold worker` processes run
    them."""

    runner: Literal["in_process", "procrastinate"] = "in_process"


# The meeting guide's topics (a round table): the consultant's checklist on the case page.
DEFAULT_MEETING_GUIDE = ("Fælles billede af situationen", "Muligheder på arbejdspladsen",
                         "Aftaler om vejen frem", "Hvem gør hvad hvornår")


class MeetingsConfig(_Strict):
    """`[meetings]`: the guide the consultant follows through a meeting (Danish, shown as a
    checklist next to the minutes; a municipality writes its own)."""

    guide: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default=list(DEFAULT_MEETING_GUIDE), max_length=20)
    # The employer's written invitation: "at_once" (in the transaction that plans the
    # proposal) or "after_calls" (held, the proposal reserved, until the consultant has
    # registered the calls to citizen and employer, or `invitation_wait_working_days` Danish
    # working days have passed: then it goes out and the consultant is told).
    invitation: Literal["at_once", "after_calls"] = "at_once"
    invitation_wait_working_days: int = Field(default=2, ge=0, le=30)
    # An employer's "cannot be held at the workplace" keeps the workplace proposal this many
    # working days for the consultant to call (and restore it) before the case moves to a
    # jobcentre meeting (0: at once).
    decline_grace_working_days: int = Field(default=1, ge=0, le=30)


class LettersConfig(_Strict):
    """`[letters]`: letters to citizens without e-mail are printed by staff ("Breve til
    print"), or, with `digital_post`, sent through a Digital Post (e-Boks) gateway at
    `digital_post_url` and retried from the outbox like e-mail."""

    digital_post: bool = False
    digital_post_url: WebAddress = "http://127.0.0.1:8089/digital-post"
    timeout_seconds: float = Field(default=20, gt=0, le=300)


class SmsConfig(_Strict):
    """`[sms]`: text messages to citizens through the municipality's SMS gateway (a JSON POST
    to `gateway_url`, retried from the outbox like e-mail). Off by default; on, the citizen's
    reminder on the day before goes by SMS to the case's citizen phone when it is a mobile
    number (`bots.sms.mobile_number`), else as before."""

    enabled: bool = False
    gateway_url: WebAddress = "http://127.0.0.1:8088/sms"
    # The sender the citizen sees: an alphanumeric sender id, at most 11 characters.
    sender: str = Field(default="Jobcenter", pattern=r"^[A-Za-z0-9][A-Za-z0-9 .-]{0,10}$")
    timeout_seconds: float = Field(default=20, gt=0, le=300)


class FollowupConfig(_Strict):
    """`[followup]`: after the first meeting is held, the next follow-up is due every
    `every_weeks` weeks after the last meeting held (the model: every fourth week); planning
    proposes it from `plan_days_before` days before it is due (the planner puts a meeting as
    early as it can: proposed at once, a follow-up due in 4 weeks was held one or two weeks
    after the last meeting)."""

    every_weeks: int = Field(default=4, ge=1, le=26)
    plan_days_before: int = Field(default=14, ge=1, le=182)
    # The municipality's journal mailbox (its case system's, ESDH): every held meeting's
    # minutes are mailed there too, the case number first in the subject, for the case file
    # (journaliseringspligt). Never the consultant's note (it stays in fasthold).
    journal_email: Annotated[str, StringConstraints(
        max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None



class RetentionConfig(_Strict):
    """How long an ended case keeps its personal and health data (`service.retention`).

    fasthold is not the case's record: the municipality's case system is. A case that ended
    `erase_after_days` ago (closed, or outside the target group and unchanged since) keeps
    only what the dashboard, the milestones and the register count — its id, dates, decision,
    places, interventions and outcome; its CPR, the citizen's and the contact person's
    details, its health facts, its decisions' history, the minutes' texts, its mails and its
    tasks are erased. `enabled = false` keeps everything (a municipality that has not yet
    decided on its period)."""

    enabled: bool = True
    erase_after_days: int = Field(default=365, ge=30, le=3650)


class OidcConfig(_Strict):
    """Staff log in with the municipality's own login (OpenID Connect: Entra ID, AD FS, …):
    the identity provider says who the person is, fasthold what they may — the user must exist
    under Brugere (same username, active), with its role. Authorization code flow with PKCE;
    the client secret (if the provider asks for one) comes from the environment variable
    named by `client_secret_env`, never from this file."""

    issuer: WebAddress
    client_id: str = Field(min_length=1, max_length=200)
    client_secret_env: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,63}$")] \
        | None = None
    # The ID token's claim that holds the username under Brugere (lower-cased; an e-mail
    # address is a valid username).
    username_claim: str = Field(default="preferred_username", min_length=1, max_length=64)
    button: str = Field(default="Log ind med kommunens login", min_length=1, max_length=80)
    # Roles from the provider (its app roles or groups): `roles_claim` names the ID token's
    # claim (a list of values), `roles` maps its values to fasthold's roles. Then the
    # provider decides: a user is made at the first login and gets the role the claim says
    # at every login (a consultant: the consultant whose e-mail is the token's `email`);
    # no mapped value, no access. Unset: users are made under Brugere.
    roles_claim: str | None = Field(default=None, min_length=1, max_length=64)
    roles: dict[Annotated[str, StringConstraints(min_length=1, max_length=200)],
                Literal["intake", "consultant", "manager", "admin"]] = {}
    # false: the provider's login only (the password form is gone; `fasthold user` still
    # makes users, whose passwords are then never asked for).
    password_login: bool = True


class StaffLoginConfig(_Strict):
    oidc: OidcConfig | None = None

    @model_validator(mode="after")
    def _roles_with_their_claim(self) -> StaffLoginConfig:
        oidc = self.oidc
        if oidc is not None and bool(oidc.roles_claim) != bool(oidc.roles):
            raise ValueError("oidc.roles_claim and oidc.roles: give both (the claim and what "
                             "its values mean) or neither")
        return self


class SlackStaff(_Strict):
    """A Slack user who is not a consultant: intake staff (may choose another owner from the
    intake channel) or a manager (may also register outcomes and close any case)."""

    name: str = Field(min_length=1)
    slack_user_id: SlackUserId
    role: Literal["intake", "manager"]


class SlackConfig(_Strict):
    staff: list[SlackStaff] = []


_MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class DurationBucket(_Strict):
    """Cases whose sick leave lasts from `min_weeks` to `max_weeks` (uniform within), with
    this share of all cases."""

    min_weeks: float = Field(gt=0, le=260)
    max_weeks: float = Field(gt=0, le=260)
    share: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> DurationBucket:
        if self.max_weeks < self.min_weeks:
            raise ValueError(f"max_weeks: must not be below min_weeks ({self.min_weeks})")
        return self


def _shares_sum_to_one(values: list[float], field: str) -> None:
    if values and abs(sum(values) - 1) > 1e-6:
        raise ValueError(f"{field}: shares must add up to 1 (got {sum(values):.3f})")


class SimulationConfig(_Strict):
    """What `fasthold simulate` and `fasthold demo` model (Herning's application to the
    national project). Probabilities are 0..1; working days are Danish working days."""

    start: Annotated[str, StringConstraints(pattern=_MONTH)] = "2026-10"
    # New category 2 and 3 cases from employment a month; Poisson arrivals on working days.
    inflow_per_month: float = Field(default=154, ge=0, le=100_000)
    # Outside the target group at intake (workplace cause or serious illness). Employers who
    # decline are simulated as employers (`employer_decline_share`): not taken off here too.
    outside_target_share: float = Field(default=0.20, ge=0, le=1)
    # Of those outside, the share excluded because the workplace caused the sick leave (the
    # rest: serious illness).
    workplace_cause_share_of_outside: float = Field(default=0.55, ge=0, le=1)
    # Absence week (1..7) in which the benefits office hands the case over: shares per week.
    handover_week_shares: list[float] = Field(
        default=[0.05, 0.10, 0.15, 0.20, 0.20, 0.15, 0.15], min_length=7, max_length=7)
    visitation_category3_share: float = Field(default=0.35, ge=0, le=1)
    # Besides that inflow, intake also registers cases the model does not take: category 1
    # (back within 8 weeks: not in the target group) and cases still missing their category
    # (incomplete), half each. 0 for the manager's question; the demo shows them.
    other_cases_share: float = Field(default=0.0, ge=0, le=1)
    # A firm plan for full recovery within 4 weeks (telephone follow-up).
    recovery_within_4_weeks_share: float = Field(default=0.10, ge=0, le=1)
    # Employers: mean delay of an answer (working days, exponential), and what they answer.
    employer_answer_days_mean: float = Field(default=1.5, gt=0, le=30)
    employer_silent_share: float = Field(default=0.12, ge=0, le=1)
    employer_other_times_share: float = Field(default=0.12, ge=0, le=1)
    employer_decline_share: float = Field(default=0.08, ge=0, le=1)
    # A consultant who calls a silent employer agrees the proposed time this often.
    phone_confirm_share: float = Field(default=0.75, ge=0, le=1)
    # Confirmed meetings the employer moves later (asks for other times), and meetings that
    # are not held on the day (a new time is then planned).
    meeting_moved_share: float = Field(default=0.06, ge=0, le=1)
    meeting_not_held_share: float = Field(default=0.05, ge=0, le=1)
    # Citizens who ask at intake for a talk with the consultant without the employer first
    # (rule 10: planned before a workplace meeting, on an earlier day; held, or not held as
    # often as a meeting is not, after which planning finds another time).
    citizen_private_talk_share: float = Field(default=0.0, ge=0, le=1)
    # Sick days a month of each consultant, on average (a sickness lasts 1-3 working days):
    # the absence registered in the morning, the meetings it leaves moved by intake at midday
    # (`service.simulation.sickness`).
    consultant_sick_days_per_month: float = Field(default=0.0, ge=0, le=21)
    # The consultants' summer holiday (`service.simulation.vacations`): each consultant takes
    # this many consecutive weeks (Monday to Sunday) once a year, within the ISO weeks
    # `vacation_iso_weeks` [first, last] (Danish summer holiday: July), and registers it
    # `vacation_notice_weeks` weeks ahead; at midday intake hands the cases whose first
    # meeting is due in a long absence to the colleague "Møder der skal flyttes" suggests.
    # 0: no holiday (the table of a run within one season, or without the assumption).
    consultant_vacation_weeks: int = Field(default=0, ge=0, le=6)
    vacation_iso_weeks: list[int] = Field(default=[27, 32], min_length=2, max_length=2)
    vacation_notice_weeks: int = Field(default=8, ge=0, le=52)
    employer_took_part_share: float = Field(default=0.93, ge=0, le=1)
    employer_at_jobcentre_share: float = Field(default=0.25, ge=0, le=1)
    # Workplace-oriented interventions: the share of cases with a held first meeting that get
    # one, and how many weeks after the first meeting it starts (uniform in the range).
    intervention_share: float = Field(default=0.62, ge=0, le=1)
    intervention_weeks_after_meeting: list[float] = Field(default=[0.5, 6.0], min_length=2,
                                                          max_length=2)
    # How long sick leave lasts, counted from the first absence day.
    case_duration: list[DurationBucket] = Field(default=[
        DurationBucket(min_weeks=9, max_weeks=13, share=0.30),
        DurationBucket(min_weeks=13, max_weeks=26, share=0.45),
        DurationBucket(min_weeks=26, max_weeks=52, share=0.25)], min_length=1)
    dismissed_share: float = Field(default=0.10, ge=0, le=1)
    # The old way (caseworkers not in the new role, at the jobcentre) keeps the week-8 deadline
    # as the national appeals board found: missed in 30 % of cases, a third of those by more
    # than 3 weeks.
    old_way_late_share: float = Field(default=0.30, ge=0, le=1)
    old_way_late_over_3_weeks_share: float = Field(default=0.10, ge=0, le=1)
    employers: int = Field(default=200, ge=1, le=100_000)
    # Staffing: consultants doing workplace meetings from `start`, then `staffing_step` more
    # every `staffing_every_months`, up to `staffing_max` (the configured consultants in
    # their order; the others follow cases up the old way, at the jobcentre).
    staffing_start: int = Field(default=5, ge=0)
    staffing_step: int = Field(default=3, ge=0)
    staffing_every_months: int = Field(default=3, ge=1, le=120)
    staffing_max: int = Field(default=23, ge=0)
    # Planning in the simulation: solver, its limit per run (lower than in service), and the
    # local times of the working day at which it runs (the service plans within seconds of
    # every change; the simulation plans what changed in between at these times).
    solver: Literal["cpsat", "greedy"] = "cpsat"
    time_limit_seconds: float = Field(default=1.0, gt=0, le=600)
    planning_times: list[str] = Field(default=["06:30"], min_length=1, max_length=8)

    @model_validator(mode="after")
    def _checks(self) -> SimulationConfig:
        _shares_sum_to_one(self.handover_week_shares, "handover_week_shares")
        _shares_sum_to_one([b.share for b in self.case_duration], "case_duration")
        answered = (self.employer_silent_share + self.employer_other_times_share
                    + self.employer_decline_share)
        if answered > 1:
            raise ValueError("employer_silent_share + employer_other_times_share + "
                             "employer_decline_share: must not exceed 1")
        for index, value in enumerate(self.planning_times):
            if not _HHMM.match(value) or not "06:00" <= value <= "17:00":
                raise ValueError(f"planning_times[{index}]: must be \"HH:MM\" between 06:00 "
                                 f"and 17:00, got {value!r}")
        if self.planning_times != sorted(set(self.planning_times)):
            raise ValueError("planning_times: must be in increasing order, each once")
        if self.old_way_late_over_3_weeks_share > self.old_way_late_share:
            raise ValueError("old_way_late_over_3_weeks_share: must not exceed "
                             "old_way_late_share")
        low, high = self.intervention_weeks_after_meeting
        if not 0 <= low <= high:
            raise ValueError("intervention_weeks_after_meeting: must be [low, high] with "
                             "0 <= low <= high")
        first, last = self.vacation_iso_weeks
        if not 1 <= first <= last <= 52:
            raise ValueError("vacation_iso_weeks: must be [first, last] ISO weeks with "
                             "1 <= first <= last <= 52")
        if last - first + 1 < self.consultant_vacation_weeks:
            raise ValueError(f"vacation_iso_weeks: {last - first + 1} weeks cannot hold "
                             f"consultant_vacation_weeks = {self.consultant_vacation_weeks}")
        return self


class MunicipalityConfig(_Strict):
    municipality: MunicipalityInfo
    jobcentre: Jobcentre
    rules: RulesConfig = RulesConfig()
    planning: PlanningConfig = PlanningConfig()
    working_hours: WorkingHours = WorkingHours()
    consultants: list[Consultant] = Field(min_length=1)
    milestones: list[Milestone] = []
    # The national benchmark the week-13 milestone is taken from (`Benchmark`).
    benchmark: Benchmark = Benchmark()
    mail: MailConfig
    simulation: SimulationConfig = SimulationConfig()
    slack: SlackConfig = SlackConfig()
    calendars: CalendarImportConfig = CalendarImportConfig()
    places: PlacesConfig = PlacesConfig()
    meetings: MeetingsConfig = MeetingsConfig()
    jobs: JobsConfig = JobsConfig()
    letters: LettersConfig = LettersConfig()
    sms: SmsConfig = SmsConfig()
    followup: FollowupConfig = FollowupConfig()
    retention: RetentionConfig = RetentionConfig()
    staff_login: StaffLoginConfig = StaffLoginConfig()

    @model_validator(mode="after")
    def _cross_checks(self) -> MunicipalityConfig:
        seen: set[str] = set()
        owner_of: dict[str, str] = {}
        for index, consultant in enumerate(self.consultants):
            if consultant.id in seen:
                raise ValueError(f"consultants[{index}].id: duplicate id {consultant.id!r}")
            seen.add(consultant.id)
            for cvr in consultant.fixed_employers:
                if cvr in owner_of:
                    raise ValueError(
                        f"consultants[{index}].fixed_employers: CVR {cvr} is already fixed to "
                        f"consultant {owner_of[cvr]!r}"
                    )
                owner_of[cvr] = consultant.id
        named: dict[str, str] = {}  # a Slack user id -> where it was named first
        places = [(f"consultants[{i}].slack_user_id", c.slack_user_id)
                  for i, c in enumerate(self.consultants) if c.slack_user_id] + [
            (f"slack.staff[{i}].slack_user_id", s.slack_user_id)
            for i, s in enumerate(self.slack.staff)]
        for place, user in places:
            if user in named:
                raise ValueError(f"{place}: Slack user {user} is already named by "
                                 f"{named[user]}")
            named[user] = place
        months = [m.month for m in self.milestones]
        if len(months) != len(set(months)):
            raise ValueError("milestones: a month is listed twice")
        return self

    def consultant(self, consultant_id: str) -> Consultant | None:
        return next((c for c in self.consultants if c.id == consultant_id), None)


@dataclass(frozen=True)
class Secrets:
    """Everything secret or machine-specific comes from the environment, never from a file."""

    secret_key: str
    database_url: str
    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_starttls: bool
    smtp_tls: bool
    slack_bot_token: str | None
    slack_signing_secret: str | None
    slack_api_url: str | None
    slack_intake_channel: str | None
    # The data key (CPR encryption; validated by service.platform.crypto where it is used)
    # and keys still accepted for reading while a rotation is under way, comma-separated.
    data_key: str = ""
    previous_data_keys: str = ""

    @classmethod
    def from_env(cls, default_database_url: str, env: dict[str, str] | None = None) -> Secrets:
        env = dict(os.environ if env is None else env)

        def flag(name: str, default: bool) -> bool:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"environment: {name}: expected true/false, got {raw!r}")

        port_raw = env.get("FASTHOLD_SMTP_PORT", "25")
        if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
            raise ConfigError(f"environment: FASTHOLD_SMTP_PORT: not a port number: {port_raw!r}")
        return cls(
            secret_key=env.get("FASTHOLD_SECRET_KEY", ""),
            database_url=env.get("FASTHOLD_DATABASE_URL") or default_database_url,
            smtp_host=env.get("FASTHOLD_SMTP_HOST") or None,
            smtp_port=int(port_raw),
            smtp_username=env.get("FASTHOLD_SMTP_USERNAME") or None,
            smtp_password=env.get("FASTHOLD_SMTP_PASSWORD") or None,
            smtp_starttls=flag("FASTHOLD_SMTP_STARTTLS", False),
            smtp_tls=flag("FASTHOLD_SMTP_TLS", False),
            slack_bot_token=env.get("FASTHOLD_SLACK_BOT_TOKEN") or None,
            slack_signing_secret=env.get("FASTHOLD_SLACK_SIGNING_SECRET") or None,
            slack_api_url=env.get("FASTHOLD_SLACK_API_URL") or None,
            slack_intake_channel=env.get("FASTHOLD_SLACK_INTAKE_CHANNEL") or None,
            data_key=env.get("FASTHOLD_DATA_KEY", ""),
            previous_data_keys=env.get("FASTHOLD_DATA_KEY_PREVIOUS", ""),
        )


def municipality_env_suffix(municipality_id: str) -> str:
    """`herning` -> `HERNING`, `ikast-brande` -> `IKAST_BRANDE` (environment names)."""
    return municipality_id.upper().replace("-", "_")


def secrets_for(secrets: Secrets, municipality_id: str, env: dict[str, str] | None = None
                ) -> Secrets:
    """One municipality's secrets in a deployment of many: its own Slack app (bot token,
    signing secret, intake channel, API URL) from `FASTHOLD_SLACK_<NAME>_<ID>`, e.g.
    `FASTHOLD_SLACK_BOT_TOKEN_HERNING`; where unset, the shared `FASTHOLD_SLACK_<NAME>`."""
    env = dict(os.environ if env is None else env)
    suffix = municipality_env_suffix(municipality_id)

    def own(name: str, shared: str | None) -> str | None:
        return env.get(f"FASTHOLD_SLACK_{name}_{suffix}") or shared

    return replace(secrets,
                   slack_bot_token=own("BOT_TOKEN", secrets.slack_bot_token),
                   slack_signing_secret=own("SIGNING_SECRET", secrets.slack_signing_secret),
                   slack_api_url=own("API_URL", secrets.slack_api_url),
                   slack_intake_channel=own("INTAKE_CHANNEL", secrets.slack_intake_channel))


def municipality_host(config: MunicipalityConfig) -> str:
    """The host name (and port, if any) of `[mail] link_base_url`: in a deployment of many,
    requests to it are this municipality's."""
    return (urlsplit(config.mail.link_base_url).netloc or "").lower()


def load_config_dir(path: str | os.PathLike[str]) -> list[MunicipalityConfig]:
    """Every municipality of a deployment of many: one TOML file each in `path` (sorted by
    name). Raise ConfigError naming the file and key when one is invalid, and when two
    name the same municipality or host (`[mail] link_base_url`), a link base URL has a
    path, or their time zones differ (one clock, one schedule)."""
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a directory of configuration files")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ConfigError(f"{folder}: no configuration files (*.toml)")
    configs: list[MunicipalityConfig] = []
    ids: dict[str, Path] = {}
    hosts: dict[str, Path] = {}
    for file in files:
        config = load_config(file)
        mid, host = config.municipality.id, municipality_host(config)
        if mid in ids:
            raise ConfigError(f"{file}: municipality.id: {mid!r} is also in {ids[mid].name}")
        if not host or urlsplit(config.mail.link_base_url).path.strip("/"):
            raise ConfigError(f"{file}: mail.link_base_url: must be the municipality's own "
                              f"host without a path, e.g. https://{mid}.fasthold.example "
                              f"(got {config.mail.link_base_url!r})")
        if host in hosts:
            raise ConfigError(f"{file}: mail.link_base_url: host {host!r} is also "
                              f"{hosts[host].name}'s: each municipality needs its own host name")
        if configs and config.municipality.timezone != configs[0].municipality.timezone:
            raise ConfigError(f"{file}: municipality.timezone: all municipalities of one "
                              f"deployment share one time zone ({files[0].name} has "
                              f"{configs[0].municipality.timezone!r})")
        ids[mid], hosts[host] = file, file
        configs.append(config)
    return configs


def _format_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = "" if isinstance(value, dict | list) or value is None else f" (got {value!r})"
        lines.append(f"  {key}: {msg}{shown}")
    return "\n".join(lines)


def load_config(path: str | os.PathLike[str]) -> MunicipalityConfig:
    """Read and validate one municipality's TOML file; raise ConfigError naming file and key."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read configuration: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        # TOML has real dates and numbers, so strict validation of the python objects works.
        return MunicipalityConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(file, exc)) from None


DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.toml"


def config_path_from_env(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("FASTHOLD_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG
