"""Which kinds of intervention are workplace-oriented ("virksomhedsrettet indsats"): the one
definition the week-13 KPI (`service.kpis.figures`) and anything else that means
"workplace-oriented" read.

Every kind in `INTERVENTION_KINDS` but `education`: education or up-skilling
("Uddannelse eller opkvalificering") is not workplace-oriented — STAR counts guidance and
up-skilling apart from work trials (virksomhedspraktik) and wage subsidies. `other` is
"Anden virksomhedsrettet indsats" and counts. A case's `intervention_started_on` is the
earliest start of a workplace-oriented one (an education alone leaves it empty: the case
still needs its intervention, and the week-13 reminder and next step say so);
`first_workplace_intervention` gives the same from the interventions themselves.
"""

from __future__ import annotations

from sqlalchemy import Subquery, func, select

from service.platform.db.models import INTERVENTION_KINDS, Intervention

# Registered and shown, but not a workplace-oriented intervention.
NOT_WORKPLACE_ORIENTED: frozenset[str] = frozenset({"education"})
WORKPLACE_ORIENTED_KINDS: tuple[str, ...] = tuple(
    kind for kind in INTERVENTION_KINDS if kind not in NOT_WORKPLACE_ORIENTED)


def is_workplace_oriented(kind: str) -> bool:
    return kind in WORKPLACE_ORIENTED_KINDS


def first_workplace_intervention(municipality: str) -> Subquery:
    """Per case (`case_id`) the earliest start (`started_on`) of a workplace-oriented
    intervention; cases without one are not in it."""
    return (select(Intervention.case_id,
                   func.min(Intervention.started_on).label("started_on"))
            .where(Intervention.municipality_id == municipality,
                   Intervention.kind.in_(WORKPLACE_ORIENTED_KINDS))
            .group_by(Intervention.case_id).subquery())
