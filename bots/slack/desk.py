"""What the bot's listeners ask of the service: the `SlackDesk` protocol (the service
implements it in `service/slack/desk.py`), in Slack's terms — a Slack user id, a case
reference, the message a button sits on — and plain answers back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol


@dataclass(frozen=True)
class Reply:
    """The outcome of an action: `ok`, or what to tell the person (in Danish), and for a
    modal the input block the message belongs to."""

    ok: bool
    text: str = ""
    field: str | None = None


@dataclass(frozen=True)
class Where:
    """The message a button was clicked on (to update it), if known."""

    channel: str
    ts: str


class SlackDesk(Protocol):
    async def first_delivery(self, event_id: str) -> bool:
        """Whether this Events API event is new (False: Slack's retry of one handled)."""
        ...

    def today(self) -> date: ...

    async def tell(self, user_id: str, channel: str, text: str) -> None:
        """An ephemeral message to `user_id` in `channel` (e.g. "Det er ikke din sag.")."""
        ...

    async def may(self, user_id: str, action: str, case_ref: str) -> Reply:
        """Whether the user may do `action` (a button's action id: `blocks.REGISTER_MEETING`,
        `blocks.CLOSE_CASE`, …) on the case — asked before its modal is opened; the service
        asks again when it is submitted."""
        ...

    def choices(self, field: str) -> list[tuple[str, str]]:
        """A modal's choices (value, Danish words) for `field` — `place` (the meeting modal),
        `outcome` (the close modal), `kind` (the intervention modal), `who` and `send_to` (the
        meeting modal's minutes): the service's list for the same field."""
        ...

    async def contact(self, user_id: str, case_ref: str, who: str, where: Where | None
                      ) -> Reply: ...

    async def calls_done(self, user_id: str, case_ref: str, where: Where | None) -> Reply:
        """The consultant has called citizen and employer: the held invitation goes out."""
        ...

    async def restore_decline(self, user_id: str, case_ref: str, where: Where | None
                              ) -> Reply:
        """After the call: the employer's declined workplace meeting stands."""
        ...

    async def meeting_outcome(self, user_id: str, case_ref: str, place: str,
                              employer_took_part: bool | None, where: Where | None, *,
                              minutes: dict[str, str] | None = None,
                              send_to: list[str] | None = None) -> Reply:
        """`minutes`: the modal's minutes as text by block (`blocks.MINUTES_BLOCKS`, named as
        the case page's fields; empty: not given); `send_to`: parties (`choices("send_to")`)."""
        ...

    async def intervention(self, user_id: str, case_ref: str, started_on: date,
                           where: Where | None, kind: str = "other") -> Reply:
        """`kind`: one of `choices("kind")`."""
        ...

    async def private_talk(self, user_id: str, case_ref: str, outcome: str,
                           where: Where | None) -> Reply:
        """The case's planned talk without the employer registered: `outcome` one of
        `held`, `not_held`, `not_wanted` (`blocks.TALK_BUTTONS`)."""
        ...

    async def close(self, user_id: str, case_ref: str, outcome: str, on: date, note: str,
                    where: Where | None) -> Reply: ...

    async def owner_choices(self, user_id: str, case_ref: str
                            ) -> tuple[Reply, list[tuple[str, str]]]:
        """Whether the user may choose the owner, and the eligible consultants (id, label
        with their load)."""
        ...

    def owner_reasons(self) -> list[tuple[str, str]]:
        """The fixed reasons for choosing another owner (key, words): what Slack is told."""
        ...

    def max_length(self, field: str) -> int:
        """The most characters the service takes in a modal's text field (`note` of the close
        modal, `owner_note` of the owner modal): the API's limit for the same field."""
        ...

    async def change_owner(self, user_id: str, case_ref: str, consultant_id: str,
                           category: str, note: str, where: Where | None) -> Reply:
        """`category`: one of `owner_reasons`; `note`: free text kept in fasthold."""
        ...

    async def home_opened(self, user_id: str) -> None:
        """The user opened the app's Home tab: publish it if it is missing or changed."""
        ...

    async def command(self, user_id: str, text: str) -> tuple[str, list[dict[str, Any]]]:
        """The answer to `/fasthold <text>`: (fallback text, blocks)."""
        ...
