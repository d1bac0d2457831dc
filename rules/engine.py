"""The eligibility and follow-up rules (shared/spec/rules.md), declared with durable_rules.

One ruleset holds the four decision stages of the contract — scope, exclusions, follow-up,
deadlines — as named rules. Each stage's rules are mutually exclusive (the contract's "first
that applies" is written out as explicit conditions), except the exclusions, where every one
that applies fires. All rules match the one fact asserted per case, so a decision is a single
call into the engine; every rule writes its outcome and reason code into the session state, and
`Decision` reads them back in the contract's stage order.

Thresholds travel in the fact (`m.weeks > m.weeks_over`), so one ruleset serves every
municipality. Dates travel as day numbers (`date.toordinal()`); the date arithmetic of the
contract ("first_absence_day + 55 days") is done before the fact is asserted, the decisions
(which deadline applies, whether a recovery plan is within reach) are the rules'. Week counts
travel as integers of the same order (`order_key`): durable_rules' JSON reader fails on numbers
such as `1e-7` or `1e+16`, and the contract decides every finite estimate.

Facts about durable_rules this module designs around (shared/notes/durable_rules.md): one
registry per process (the ruleset is registered once, under a versioned name), a background
dispatcher that can steal an action (our host runs none), at most 1,024 live sessions (a fresh
session per decision, deleted in `finally`), errors inside actions that are only reported in
the result (checked), and facts no rule matches (every fact is matched by some scope rule).
"""

from __future__ import annotations

import itertools
import struct
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from durable import engine as durable_engine
from durable import lang as durable_lang
from durable.lang import m, ruleset, when_all

from rules.facts import CaseFacts, FactsError
from rules.thresholds import Thresholds

RULESET = "fasthold_eligibility_v1"

# -- predicates: the contract's terms, named once and combined below --------------------------
# durable_rules has no "not", so each predicate that is negated somewhere has its complement
# written out next to it (De Morgan), and tests check both against a plain reference.

EMPLOYED = m.employment == "employed"
NOT_EMPLOYED = m.employment != "employed"
CATEGORY_2_3 = (m.category == 2) | (m.category == 3)
CATEGORY_1 = m.category == 1
NO_CATEGORY = m.category == 0
HAS_ESTIMATE = m.has_weeks == 1
NO_ESTIMATE = m.has_weeks == 0
EXPECTED_OVER = HAS_ESTIMATE & (m.weeks > m.weeks_over)
EXPECTED_AT_MOST = HAS_ESTIMATE & (m.weeks <= m.weeks_over)

IN_SCOPE = EMPLOYED & (CATEGORY_2_3 | (NO_CATEGORY & EXPECTED_OVER))
OUT_OF_SCOPE = NOT_EMPLOYED | (EMPLOYED & (CATEGORY_1 | (NO_CATEGORY & EXPECTED_AT_MOST)))
UNDECIDED_SCOPE = EMPLOYED & NO_CATEGORY & NO_ESTIMATE

SERIOUS_ILLNESS = (m.serious_illness == 1) & (m.exclude_serious_illness == 1)
NO_SERIOUS_ILLNESS = (m.serious_illness == 0) | (m.exclude_serious_illness == 0)
WORKPLACE_CAUSE = (m.workplace_cause == 1) & (m.exclude_workplace_cause == 1)
NO_WORKPLACE_CAUSE = (m.workplace_cause == 0) | (m.exclude_workplace_cause == 0)

TARGET = IN_SCOPE & NO_SERIOUS_ILLNESS & NO_WORKPLACE_CAUSE
EXCLUDED = IN_SCOPE & (SERIOUS_ILLNESS | WORKPLACE_CAUSE)

RECOVERY_SOON = (m.has_recovery_plan == 1) & (m.recovery_day <= m.telephone_until_day)
NO_RECOVERY_SOON = (m.has_recovery_plan == 0) | (m.recovery_day > m.telephone_until_day)
MEETING_TARGET = TARGET & NO_RECOVERY_SOON
NOT_DISMISSED = m.dismissed == 0
EMPLOYER_AGREES = m.employer_declines == 0
CITIZEN_AGREES = m.citizen_declines == 0

FAST_TRACK_EARLIER = (m.has_fast_track == 1) & (m.fast_track_day < m.normal_deadline_day)
NO_EARLIER_FAST_TRACK = (m.has_fast_track == 0) | (m.fast_track_day >= m.normal_deadline_day)


def _declare() -> dict[str, Any]:
    """Declare the ruleset with durable.lang and return its definition (not yet registered)."""
    with ruleset(RULESET):
        # -- Scope: exactly one applies (contract, "Scope", points 1-6) -----------------------
        @when_all(NOT_EMPLOYED)
        def scope_not_employed(c: Any) -> None:
            c.s.scope = "scope.not_employed"

        @when_all(EMPLOYED & CATEGORY_2_3)
        def scope_category_2_3(c: Any) -> None:
            c.s.scope = "scope.category_2_3"

        @when_all(EMPLOYED & CATEGORY_1)
        def scope_category_1(c: Any) -> None:
            c.s.scope = "scope.category_1"

        @when_all(EMPLOYED & NO_CATEGORY & EXPECTED_OVER)
        def scope_expected_over(c: Any) -> None:
            c.s.scope = "scope.expected_over_8_weeks"

        @when_all(EMPLOYED & NO_CATEGORY & EXPECTED_AT_MOST)
        def scope_expected_at_most(c: Any) -> None:
            c.s.scope = "scope.expected_8_weeks_or_less"

        @when_all(UNDECIDED_SCOPE)
        def scope_missing_estimate(c: Any) -> None:
            c.s.scope = "scope.missing_absence_estimate"
            c.s.status = "incomplete"
            c.s.missing = ["expected_absence_weeks"]

        # -- Exclusions: in scope only; every one that applies is listed ------------------------
        @when_all(IN_SCOPE & SERIOUS_ILLNESS)
        def exclude_serious_illness(c: Any) -> None:
            c.s.exclude_serious_illness = "exclude.serious_illness"

        @when_all(IN_SCOPE & WORKPLACE_CAUSE)
        def exclude_workplace_cause(c: Any) -> None:
            c.s.exclude_workplace_cause = "exclude.workplace_cause"

        # -- Status and follow-up: the first that applies ---------------------------------------
        @when_all(OUT_OF_SCOPE)
        def followup_standard_not_target(c: Any) -> None:
            c.s.status = "not_target"
            c.s.follow_up = "standard"

        @when_all(EXCLUDED)
        def followup_standard_excluded(c: Any) -> None:
            c.s.status = "excluded"
            c.s.follow_up = "standard"

        @when_all(TARGET & RECOVERY_SOON)
        def followup_telephone(c: Any) -> None:
            c.s.status = "target"
            c.s.follow_up = "telephone"
            c.s.follow_up_reason = "followup.recovery_within_4_weeks"

        @when_all(MEETING_TARGET & (m.dismissed == 1))
        def followup_dismissed(c: Any) -> None:
            c.s.status = "target"
            c.s.follow_up = "jobcenter_meeting"
            c.s.follow_up_reason = "followup.dismissed"

        @when_all(MEETING_TARGET & NOT_DISMISSED & (m.employer_declines == 1))
        def followup_declined_by_employer(c: Any) -> None:
            c.s.status = "target"
            c.s.follow_up = "jobcenter_meeting"
            c.s.follow_up_reason = "followup.declined_by_employer"

        @when_all(MEETING_TARGET & NOT_DISMISSED & EMPLOYER_AGREES & (m.citizen_declines == 1))
        def followup_declined_by_citizen(c: Any) -> None:
            c.s.status = "target"
            c.s.follow_up = "jobcenter_meeting"
            c.s.follow_up_reason = "followup.declined_by_citizen"

        @when_all(MEETING_TARGET & NOT_DISMISSED & EMPLOYER_AGREES & CITIZEN_AGREES
                  & (m.wants_private_talk == 0))
        def followup_workplace(c: Any) -> None:
            c.s.status = "target"
            c.s.follow_up = "workplace_meeting"
            c.s.follow_up_reason = "followup.workplace"

        # private_talk_first: only with a workplace meeting and when the citizen asks for it.
        @when_all(MEETING_TARGET & NOT_DISMISSED & EMPLOYER_AGREES & CITIZEN_AGREES
                  & (m.wants_private_talk == 1))
        def followup_workplace_private_talk_first(c: Any) -> None:
            c.s.status = "target"
            c.s.follow_up = "workplace_meeting"
            c.s.follow_up_reason = "followup.workplace"
            c.s.private_talk_first = "followup.private_talk_first"

        # -- Deadlines: for every case, decided or incomplete -----------------------------------
        @when_all(FAST_TRACK_EARLIER)
        def deadline_fast_track(c: Any) -> None:
            c.s.first_meeting_deadline = c.m.fast_track_day
            c.s.deadline_reason = "deadline.fast_track"
            c.s.intervention_deadline = c.m.intervention_day

        @when_all(NO_EARLIER_FAST_TRACK)
        def deadline_normal(c: Any) -> None:
            c.s.first_meeting_deadline = c.m.normal_deadline_day
            c.s.intervention_deadline = c.m.intervention_day

    declared = durable_lang._rulesets.pop(RULESET)
    name, definition = declared.define()
    return {name: definition}


class _QuietHost(durable_engine.Host):
    """A durable_rules host without the background dispatcher thread.

    The stock host wakes a dispatcher every 0.2 s that can take an action away from the
    calling thread; we use no timers, so that loop only does harm.
    """

    def _run(self) -> None:
        return None


class _OrjsonCodec:
    """The `json` functions durable_rules' engine module calls, backed by orjson.

    durable_rules encodes and decodes the session state and the fact once per action; with the
    standard library that is about a third of a decision's time. durable-rules is pinned at its
    last release (2.0.28), so the module global we replace cannot move under us.
    """

    @staticmethod
    def loads(text: str | bytes) -> Any:
        return orjson.loads(text)

    @staticmethod
    def dumps(value: Any, ensure_ascii: bool = False) -> str:
        return orjson.dumps(value).decode()


_host_lock = threading.Lock()
_host: _QuietHost | None = None


def _shared_host() -> _QuietHost:
    """The process-wide host with our ruleset registered exactly once."""
    global _host
    with _host_lock:
        if _host is None:
            durable_engine.json = _OrjsonCodec  # type: ignore[assignment]
            host = _QuietHost()
            host.register_rulesets(_declare())
            _host = host
        return _host


class RulesError(RuntimeError):
    """The rules engine failed to decide (an error inside the engine, not bad input)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The contract's decision for one case."""

    case_id: str
    status: str
    follow_up: str | None
    private_talk_first: bool
    first_meeting_deadline: date
    intervention_deadline: date
    reasons: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The contract's output object (`missing` only when incomplete)."""
        out: dict[str, Any] = {
            "case_id": self.case_id,
            "status": self.status,
            "follow_up": self.follow_up,
            "private_talk_first": self.private_talk_first,
            "first_meeting_deadline": self.first_meeting_deadline.isoformat(),
            "intervention_deadline": self.intervention_deadline.isoformat(),
            "reasons": list(self.reasons),
        }
        if self.status == "incomplete":
            out["missing"] = list(self.missing)
        return out


def _flag(value: bool) -> int:
    return 1 if value else 0


def order_key(value: float) -> int:
    """A finite number ≥ 0 as an integer of the same order: its IEEE 754 bits.

    For x, y ≥ 0: x > y exactly when order_key(x) > order_key(y), and x == y when the keys are
    equal, so the rules compare week counts exactly as the contract does. durable_rules reads
    and compares such integers (below 2**63) exactly; it cannot read every float (`1e-7`,
    `5e-324` and `1e+16` make its JSON reader fail).
    """
    # + 0.0 turns -0.0 (whose sign bit would make it the largest key) into 0.0.
    return int(struct.unpack("<q", struct.pack("<d", float(value) + 0.0))[0])


LAST_DAY = date.max.toordinal()


def to_fact(facts: CaseFacts, as_of: date, t: Thresholds) -> dict[str, Any]:
    """The fact asserted for one case: the case's values, the thresholds and derived dates."""
    first_day = facts.first_absence_day.toordinal()
    recovery = facts.full_recovery_plan_date
    fast_track = facts.fast_track_requested_on
    weeks = facts.expected_absence_weeks
    return {
        "employment": facts.employment,
        "category": facts.visitation_category or 0,
        "has_weeks": _flag(weeks is not None),
        "weeks": order_key(weeks) if weeks is not None else 0,
        "weeks_over": order_key(t.target_expected_weeks_over),
        "serious_illness": _flag(facts.serious_illness),
        "exclude_serious_illness": _flag(t.exclude_serious_illness),
        "workplace_cause": _flag(facts.workplace_cause),
        "exclude_workplace_cause": _flag(t.exclude_workplace_cause),
        "has_recovery_plan": _flag(recovery is not None),
        "recovery_day": recovery.toordinal() if recovery else 0,
        "telephone_until_day": as_of.toordinal() + t.telephone_recovery_within_days,
        "dismissed": _flag(facts.dismissed),
        "employer_declines": _flag(facts.employer_declines_workplace_meeting),
        "citizen_declines": _flag(facts.citizen_declines_workplace_meeting),
        "wants_private_talk": _flag(facts.citizen_wants_private_talk),
        "normal_deadline_day": first_day + t.first_meeting_deadline_days,
        "has_fast_track": _flag(fast_track is not None),
        "fast_track_day": (fast_track.toordinal() + t.fast_track_meeting_within_days
                           if fast_track else 0),
        "intervention_day": first_day + t.intervention_deadline_days,
    }


_session_ids = itertools.count(1)
_REASON_SLOTS = ("scope", "exclude_serious_illness", "exclude_workplace_cause",
                 "follow_up_reason", "private_talk_first", "deadline_reason")


class RulesEngine:
    """Decides cases with the declared rules and one configuration's thresholds.

    Safe to share: each decision runs in its own engine session, and calls into the engine are
    serialised (the C core holds the GIL anyway, so threads would not run it in parallel).
    A decision takes tens of microseconds, so aiohttp handlers call it inline.
    """

    _lock = threading.Lock()

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._host = _shared_host()

    def decide(self, facts: CaseFacts, as_of: date | None = None) -> Decision:
        """Decide one case. `facts.as_of` wins over `as_of`; one of them must be given.

        Raises `FactsError` when the first absence day lies after the evaluation date, or so
        late that a deadline derived from it would fall after 9999-12-31.
        """
        day = facts.as_of or as_of
        if day is None:
            raise ValueError("as_of is required (in the facts or as an argument)")
        if facts.first_absence_day > day:
            raise FactsError("first_absence_day",
                             f"must not be after as_of ({day.isoformat()}), "
                             f"got {facts.first_absence_day.isoformat()}",
                             "after_as_of", {"as_of": day.isoformat()})
        t = self.thresholds
        days_on = max(t.first_meeting_deadline_days, t.intervention_deadline_days)
        if facts.first_absence_day.toordinal() + days_on > LAST_DAY:
            raise FactsError("first_absence_day",
                             f"is too late: its deadlines ({days_on} days on) would fall after "
                             f"9999-12-31, got {facts.first_absence_day.isoformat()}",
                             "date_too_late")
        fact = to_fact(facts, day, self.thresholds)
        state = self._run(fact)
        return _decision(facts.case_id, state)

    def _run(self, fact: dict[str, Any]) -> dict[str, Any]:
        sid = f"d{next(_session_ids)}"
        fact["sid"] = sid
        with self._lock:
            try:
                state = self._host.assert_fact(RULESET, fact)
            except durable_engine.MessageNotHandledException:
                self._forget(sid, quietly=True)
                raise RulesError("no rule matched the case (a gap in the rules)") from None
            except MemoryError:
                # Too many live sessions: deleting the half-made one would crash the C core.
                raise RulesError("the rules engine has no room for another session") from None
            except Exception as exc:  # the C core's errors have no type of their own
                self._forget(sid, quietly=True)
                raise RulesError(f"the rules engine failed: {exc}") from exc
            self._forget(sid)
        if not isinstance(state, dict):
            raise RulesError("the rules engine returned no decision")
        if "exception" in state:
            raise RulesError(f"a rule failed: {state['exception']}")
        return state

    def _forget(self, sid: str, quietly: bool = False) -> None:
        """Delete the decision's session; after a failed assert there may be none to delete."""
        try:
            self._host.delete_state(RULESET, sid)
        except Exception as exc:
            if not quietly:
                raise RulesError(f"the rules engine failed to end a session: {exc}") from exc


def _decision(case_id: str, state: dict[str, Any]) -> Decision:
    status = state.get("status")
    if status is None or "first_meeting_deadline" not in state:
        raise RulesError(f"incomplete decision from the rules: {sorted(state)}")
    reasons = [state[slot] for slot in _REASON_SLOTS if isinstance(state.get(slot), str)]
    return Decision(
        case_id=case_id,
        status=status,
        follow_up=state.get("follow_up"),
        private_talk_first="private_talk_first" in state,
        first_meeting_deadline=date.fromordinal(int(state["first_meeting_deadline"])),
        intervention_deadline=date.fromordinal(int(state["intervention_deadline"])),
        reasons=reasons,
        missing=list(state.get("missing") or []),
    )
