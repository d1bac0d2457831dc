"""Thresholds of the eligibility rules (the `[rules]` table of a municipality's config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every number and switch the rules use; defaults are those of the rules contract."""

    target_expected_weeks_over: float = 8
    telephone_recovery_within_days: int = 28
    first_meeting_deadline_days: int = 55
    fast_track_meeting_within_days: int = 14
    intervention_deadline_days: int = 90
    exclude_serious_illness: bool = True
    exclude_workplace_cause: bool = True
