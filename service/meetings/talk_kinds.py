"""The private talk's row (rule 10 of the planning contract): a `Meeting` of kind
`private_talk` with its own statuses, so that nothing that looks at a case's first meeting
(`ACTIVE_MEETING`, "held", the one-active-meeting index) ever takes a talk for one.

talk_planned -> talk_held | talk_not_held (registered by the consultant), or talk_cancelled
(the citizen no longer wants it, the plan moved it, the owner changed, the case closed).
"""

from __future__ import annotations

PRIVATE_TALK = "private_talk"
TALK_PLANNED = "talk_planned"
TALK_HELD = "talk_held"
TALK_NOT_HELD = "talk_not_held"
TALK_CANCELLED = "talk_cancelled"
# Talks agreed with the citizen (the contract's kept `private_talk`): planned, or held.
KEPT_TALK = (TALK_PLANNED, TALK_HELD)
# The words the staff pages use for a talk and its statuses.
TALK_LABEL = "Samtale uden arbejdsgiver"
TALK_STATUS_TEXT = {TALK_PLANNED: "planlagt", TALK_HELD: "holdt", TALK_NOT_HELD: "ikke holdt",
                    TALK_CANCELLED: "aflyst"}
