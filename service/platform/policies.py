"""Who may do what, on which cases: one policy per action on a case, the only place it is
written. Every channel asks it through the use case that does the action (the API's
handlers, the staff pages, Slack's buttons and modals, the simulation); a channel may ask
it first too, to show or hide a form or a button, never to decide on its own.

A policy answers two questions, in this order:

1. **The role** — may someone in the caller's role do this at all? An admin may do
   everything. No: `Forbidden` (the API's 403, a page's 403 page, Slack's "not your case").
2. **The case** — need to know: a consultant acts only on the cases they own (intake,
   managers and admins on every case of the municipality). Another case is answered exactly
   as if it did not exist (`NotFound`, 404), and the attempt is in the audit log as
   `case.read_refused` with the policy's `action` (`IntakeService.acting_on` / `allowed`).

| action | roles (and admin) |
|---|---|
| read a case | intake, consultant, manager |
| change its facts | intake, consultant |
| choose its owner | intake |
| close it, reopen it | intake, manager, consultant |
| register a call, a meeting's outcome, an intervention | consultant, manager |
| register the private talk (held, not held, not wanted) | consultant, manager |
| confirm its meeting for the employer | intake, consultant |
| move or cancel its meeting (the employer phoned) | intake, manager, consultant |
| resolve a meeting its consultant cannot hold, hand cases over | intake, manager |

The consultants themselves (`service.consultants`) have their policies here too; "the case"
is then the consultant: a consultant reads, and registers absences, for themselves only.

| action | roles (and admin) |
|---|---|
| read a consultant | manager, consultant (their own) |
| add or change a consultant | manager |
| register or delete an absence | manager, consultant (their own) |
"""

from __future__ import annotations

from dataclasses import dataclass

from service.platform.auth import Principal, may_see
from service.platform.errors import Forbidden


@dataclass(frozen=True)
class Policy:
    """Who may do `action` (the word a refusal's audit entry names) on a case."""

    action: str
    roles: tuple[str, ...]  # besides admin, who may do everything

    def allows_role(self, principal: Principal) -> bool:
        """Whether the caller's role may do this at all (on some case)."""
        return principal.role == "admin" or principal.role in self.roles

    def allows(self, principal: Principal, owner_key: str | None) -> bool:
        """Whether the caller may do this on a case owned by `owner_key` (None: no owner)."""
        return self.allows_role(principal) and may_see(principal, owner_key)

    def require_role(self, principal: Principal) -> None:
        """Raise `Forbidden` for a role that may not do this at all."""
        if not self.allows_role(principal):
            raise Forbidden(f"role {principal.role!r} may not {self.action.replace('_', ' ')}",
                            "role_not_allowed", {"role": principal.role})


READ_CASE = Policy("read", ("intake", "consultant", "manager"))
PATCH_FACTS = Policy("patch", ("intake", "consultant"))
CHOOSE_OWNER = Policy("choose_owner", ("intake",))
CLOSE_CASE = Policy("close", ("intake", "manager", "consultant"))
REOPEN_CASE = Policy("reopen", ("intake", "manager", "consultant"))
_REGISTERING = ("consultant", "manager")
REGISTER_CONTACT = Policy("register_contact", _REGISTERING)
REGISTER_MEETING = Policy("register_meeting", _REGISTERING)
REGISTER_TALK = Policy("register_private_talk", _REGISTERING)
REGISTER_INTERVENTION = Policy("register_intervention", _REGISTERING)
CONFIRM_MEETING = Policy("confirm_meeting", ("intake", "consultant"))
MOVE_MEETING = Policy("move_meeting", ("intake", "manager", "consultant"))
CANCEL_MEETING = Policy("cancel_meeting", ("intake", "manager", "consultant"))
RESOLVE_CONFLICT = Policy("resolve_meeting_conflict", ("intake", "manager"))
READ_CONSULTANT = Policy("read_consultant", ("manager", "consultant"))
MANAGE_CONSULTANTS = Policy("manage_consultants", ("manager",))
MANAGE_ABSENCES = Policy("manage_absences", ("manager", "consultant"))
