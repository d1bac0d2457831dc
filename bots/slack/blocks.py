"""Block Kit in Danish: the bot's messages, modals, Home tab and command answers.

Plain data in (a `CaseCard` the service fills with words and links only), Slack's JSON out.
Privacy: nothing here knows more of a case than its reference, dates, the meeting's time and
place, what was registered, and links into the service — never CPR, the citizen's name, a
diagnosis or exclusion reasons (Slack is an external cloud).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# Action ids of the buttons (the listeners in bots/slack/listeners.py answer them).
CONTACT_CITIZEN = "contact_citizen"
CONTACT_EMPLOYER = "contact_employer"
REGISTER_MEETING = "register_meeting"
REGISTER_INTERVENTION = "register_intervention"
CLOSE_CASE = "close_case"
CHANGE_OWNER = "change_owner"
OPEN_LINK = "open_link"
# The private talk's buttons (no modal: one click registers it).
TALK_HELD = "private_talk_held"
TALK_NOT_HELD = "private_talk_not_held"
TALK_NOT_WANTED = "private_talk_not_wanted"
TALK_BUTTONS = {TALK_HELD: "held", TALK_NOT_HELD: "not_held", TALK_NOT_WANTED: "not_wanted"}
CALLS_DONE = "calls_done"  # the calls are made: the held invitation goes out
RESTORE_DECLINE = "restore_decline"  # after the call: the workplace meeting stands
# Callback ids of the modals.
MEETING_MODAL = "meeting_outcome"
INTERVENTION_MODAL = "intervention"
CLOSE_MODAL = "close_case"
OWNER_MODAL = "change_owner"

# The modals' choices (where the meeting was held, how the case ended) and limits come from
# the service (its use cases' input models), with their words: `Choices`.
TOOK_PART = {"yes": "Ja", "no": "Nej", "not_held": "Mødet blev ikke holdt"}
Choices = list[tuple[str, str]]  # (value, Danish words), in the order shown
MAX_BLOCKS = 100  # Slack's limit for a message or a Home tab
MAX_LIST = 12  # items per list on the Home tab; the rest is in the web UI


@dataclass(frozen=True)
class CaseCard:
    """What a consultant's message shows about a case, in words (see the privacy note)."""

    case_ref: str
    link: str
    follow_up: str = ""
    deadline: str = ""
    meeting: str = ""
    citizen_called: str = ""
    employer_called: str = ""
    meeting_registered: str = ""
    intervention: str = ""
    closed: str = ""
    note: str = ""  # the event's detail, e.g. the employer's wishes in words
    talk: str = ""  # the planned private talk's time ("samtale uden arbejdsgiver")
    talk_done: str = ""  # how the last talk went, in words ("holdt", "ikke holdt", …)
    # the next step, as "Mine sager" words it (service.followup.signals; "" once closed)
    next_step: str = ""
    decline: str = ""  # a pending employer decline's reason (the restore button shows)
    # `after_calls`: the case's invitation waits for the calls (the calls-done button shows)
    invitation_held: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseCard:
        return cls(**{k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Assignment:
    """An auto-assignment as the intake channel sees it."""

    case_ref: str
    link: str
    consultant: str
    reasons: list[str] = field(default_factory=list)
    deadline: str = ""
    changed_by: str = ""  # set once someone chose another consultant
    change_reason: str = ""


# What each kind of consultant message says first, and which buttons it carries.
HEADLINES = {
    "case_assigned": ":new: Ny sag til dig: *{ref}*. Ring til borger og arbejdsgiver.",
    "employer_confirmed": ":white_check_mark: Arbejdsgiveren har bekræftet mødet i sag "
                          "*{ref}*.",
    "employer_other_times": ":calendar: Arbejdsgiveren beder om andre tider i sag *{ref}*. "
                            "Sagen planlægges igen med ønskerne.",
    "employer_declined": ":no_entry_sign: Arbejdsgiveren har takket nej til mødet på "
                         "arbejdspladsen i sag *{ref}*. Der planlægges et møde i jobcentret.",
    "employer_mail_failed": ":email: En besked til arbejdsgiveren i sag *{ref}* kunne ikke "
                            "leveres. Ring til arbejdsgiveren.",
    "citizen_mail_failed": ":email: En besked til borgeren i sag *{ref}* kunne ikke "
                           "leveres. Ring til borgeren.",
    "invitation_failed": ":telephone_receiver: Invitationen i sag *{ref}* kunne ikke sendes "
                         "automatisk. Ring til arbejdsgiveren og aftal et tidspunkt.",
    "meeting_tomorrow": ":alarm_clock: Næste arbejdsdag: møde i sag *{ref}*.",
    "employer_no_answer": ":hourglass: Arbejdsgiveren i sag *{ref}* har ikke svaret på "
                          "invitationen. Ring til dem.",
    "deadline_at_risk": ":warning: Fristen er i fare i sag *{ref}*: uge 7 er nået, og intet "
                        "møde er bekræftet.",
    "telephone_due": ":telephone_receiver: Telefonisk opfølgning i sag *{ref}* er nu.",
    "agreement_due": ":alarm_clock: Aftale forfalder i dag i sag *{ref}*.",
    "intervention_missing": ":warning: Uge 13 nærmer sig i sag *{ref}*, og ingen "
                            "virksomhedsrettet indsats er registreret.",
    "meeting_conflict": ":warning: Du kan ikke holde det bekræftede møde i sag *{ref}*. Det "
                        "står på listen \"Møder der skal flyttes\", hvor visitationen "
                        "giver det til en kollega eller beder arbejdsgiveren om nye tider.",
    "talk_tomorrow": ":alarm_clock: Næste arbejdsdag: samtale uden arbejdsgiver i sag "
                     "*{ref}*.",
    "talk_planned": ":speech_balloon: Borgeren i sag *{ref}* vil gerne tale med dig uden "
                    "arbejdsgiveren før mødet på arbejdspladsen. Samtalen er planlagt.",
    "letter_too_late": ":mailbox_with_no_mail: Ring til borgeren — brevet når ikke frem: "
                       "borgeren i sag *{ref}* har ingen e-mail, og brevet om tiden "
                       "kan ikke nå frem i tide.",
    "proposal_moved": ":calendar: Planlægningen har flyttet det foreslåede møde i sag "
                      "*{ref}*. Arbejdsgiveren har fået det nye tidspunkt.",
    "case_assigned_call_first": ":new: Ny sag til dig: *{ref}*. Ring først til borger og "
                                "arbejdsgiver: invitationen til arbejdsgiveren venter, til "
                                "du har ringet.",
    "invitation_sent_after_wait": ":email: Invitationen i sag *{ref}* er nu sendt til "
                                  "arbejdsgiveren: ventetiden på dine opringninger er gået.",
    "employer_declined_call": ":telephone_receiver: Arbejdsgiveren kan ikke holde mødet på "
                              "arbejdspladsen i sag *{ref}*. Ring til arbejdsgiveren; "
                              "genopret mødet, hvis I bliver enige — ellers planlægges et "
                              "møde i jobcentret.",
}
_BUTTONS = {
    "case_assigned": (CONTACT_CITIZEN, CONTACT_EMPLOYER, REGISTER_MEETING,
                      REGISTER_INTERVENTION, CLOSE_CASE),
    "employer_confirmed": (REGISTER_MEETING, CLOSE_CASE),
    "employer_other_times": (CONTACT_EMPLOYER,),
    "employer_declined": (CONTACT_EMPLOYER,),
    "employer_mail_failed": (CONTACT_EMPLOYER,),
    "citizen_mail_failed": (CONTACT_CITIZEN,),
    "invitation_failed": (CONTACT_EMPLOYER,),
    "meeting_tomorrow": (REGISTER_MEETING,),
    "employer_no_answer": (CONTACT_EMPLOYER,),
    "deadline_at_risk": (CONTACT_EMPLOYER, REGISTER_MEETING),
    "telephone_due": (REGISTER_MEETING, CLOSE_CASE),
    "intervention_missing": (REGISTER_INTERVENTION, CLOSE_CASE),
    "proposal_moved": (CONTACT_EMPLOYER,),
    "letter_too_late": (CONTACT_CITIZEN,),
    "case_assigned_call_first": (CALLS_DONE, CONTACT_CITIZEN, CONTACT_EMPLOYER,
                                 REGISTER_MEETING, CLOSE_CASE),
    "invitation_sent_after_wait": (CONTACT_EMPLOYER,),
    "employer_declined_call": (RESTORE_DECLINE, CONTACT_EMPLOYER),
}
_LABELS = {CONTACT_CITIZEN: "Ringet til borger", CONTACT_EMPLOYER: "Ringet til arbejdsgiver",
           REGISTER_MEETING: "Registrér mødet", REGISTER_INTERVENTION: "Registrér indsats",
           CLOSE_CASE: "Afslut sag", CHANGE_OWNER: "Skift konsulent",
           TALK_HELD: "Holdt", TALK_NOT_HELD: "Ikke holdt",
           TALK_NOT_WANTED: "Borgeren ønsker den ikke længere",
           CALLS_DONE: "Jeg har ringet — send invitationen",
           RESTORE_DECLINE: "Genopret mødet på arbejdspladsen"}
# Messages that carry the talk's buttons while a talk is planned.
_TALK_BUTTON_KINDS = ("case_assigned", "case_assigned_call_first", "talk_planned",
                      "talk_tomorrow")
KINDS = tuple(HEADLINES)


def _text(text: str, kind: str = "mrkdwn") -> dict[str, Any]:
    return {"type": kind, "text": text} if kind == "mrkdwn" else \
        {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _text(text)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_text(text)]}


def _button(action_id: str, value: str, text: str | None = None,
            style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "value": value,
                              "text": _text(text or _LABELS[action_id], "plain_text")}
    if style:
        button["style"] = style
    return button


def _link_button(url: str, text: str = "Åbn sagen") -> dict[str, Any]:
    return {"type": "button", "action_id": OPEN_LINK, "url": url,
            "text": _text(text, "plain_text")}


def escape(text: str) -> str:
    """Slack's mrkdwn escapes: &, < and > (the rest is text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def case_message(kind: str, card: CaseCard) -> tuple[str, list[dict[str, Any]]]:
    """A consultant's message of `kind` about a case: (fallback text, blocks)."""
    ref = escape(card.case_ref)
    headline = HEADLINES[kind].format(ref=ref)
    facts = []
    if card.follow_up:
        facts.append(f"*Opfølgning:* {escape(card.follow_up)}")
    if card.deadline:
        facts.append(f"*Frist for første samtale:* {escape(card.deadline)}")
    if card.meeting:
        facts.append(f"*Møde:* {escape(card.meeting)}")
    if card.talk:
        facts.append(f"*Samtale uden arbejdsgiver:* {escape(card.talk)}")
    if card.next_step:
        facts.append(f"*Næste skridt:* {escape(card.next_step)}")
    blocks: list[dict[str, Any]] = [_section(headline)]
    if card.note:
        blocks.append(_section(escape(card.note)))
    if facts:
        blocks.append(_section("\n".join(facts)))
    done = [f":white_check_mark: {label} {escape(value)}" for label, value in (
        ("Ringet til borger", card.citizen_called),
        ("Ringet til arbejdsgiver", card.employer_called),
        ("Møde registreret:", card.meeting_registered),
        ("Virksomhedsrettet indsats startet", card.intervention),
        ("Samtale uden arbejdsgiver:", card.talk_done)) if value]
    if card.closed:
        done.append(f":lock: Sagen er afsluttet: {escape(card.closed)}")
    if done:
        blocks.append(_context("\n".join(done)))
    buttons: list[dict[str, Any]] = []
    if not card.closed:
        # (a registered meeting leaves nothing to register, but for the next one — a
        # follow-up — when the message shows it)
        for action in _BUTTONS.get(kind, ()):
            if (action == CALLS_DONE and (not card.invitation_held or (
                    card.citizen_called and card.employer_called))) or \
                    (action == RESTORE_DECLINE and not card.decline) or \
                    (action == CONTACT_CITIZEN and card.citizen_called) or \
                    (action == CONTACT_EMPLOYER and card.employer_called) or \
                    (action == REGISTER_MEETING and card.meeting_registered
                     and not card.meeting) or \
                    (action == REGISTER_INTERVENTION and (
                        card.intervention or (kind == "case_assigned"
                                              and not card.meeting_registered))):
                continue
            buttons.append(_button(action, card.case_ref,
                                   style="primary" if not buttons else None))
    buttons.append(_link_button(card.link))
    blocks.append({"type": "actions", "block_id": f"case:{card.case_ref}"[:255],
                   "elements": buttons})
    if card.talk and not card.closed and kind in _TALK_BUTTON_KINDS:
        blocks.append({"type": "actions", "block_id": f"talk:{card.case_ref}"[:255],
                       "elements": [_button(action, card.case_ref) for action in TALK_BUTTONS]})
    fallback = headline.replace("*", "") + f" {card.link}"
    return fallback, blocks


def assignment_message(item: Assignment) -> tuple[str, list[dict[str, Any]]]:
    """The intake channel's post about an auto-assignment (updated when it is changed)."""
    ref = escape(item.case_ref)
    if item.changed_by:
        headline = (f":arrows_counterclockwise: Sag *{ref}* er flyttet til "
                    f"*{escape(item.consultant)}* af {escape(item.changed_by)}.")
        reasons = [item.change_reason] if item.change_reason else []
    else:
        headline = f":inbox_tray: Sag *{ref}* er fordelt til *{escape(item.consultant)}*."
        reasons = item.reasons
    blocks: list[dict[str, Any]] = [_section(headline)]
    if reasons:
        blocks.append(_section("*Hvorfor:*\n" + "\n".join(f"• {escape(r)}" for r in reasons)))
    if item.deadline:
        blocks.append(_context(f"Frist for første samtale: {escape(item.deadline)}"))
    blocks.append({"type": "actions", "block_id": f"owner:{item.case_ref}"[:255],
                   "elements": [_button(CHANGE_OWNER, item.case_ref),
                                _link_button(item.link)]})
    return headline.replace("*", "") + f" {item.link}", blocks


def _notice_with_link(headline: str, note: str, link: str, button: str = "Åbn sagen"
                      ) -> tuple[str, list[dict[str, Any]]]:
    """An intake-channel notice: its headline, a line of context when there is one, and the
    link (to the case, unless `button` names another page); the plain text for
    notifications beside the blocks."""
    blocks: list[dict[str, Any]] = [_section(headline)]
    if note:
        blocks.append(_context(note))
    blocks.append({"type": "actions", "elements": [_link_button(link, button)]})
    return headline.replace("*", "") + f" {link}", blocks


def workplace_unplaced_message(case_ref: str, link: str, reason: str
                               ) -> tuple[str, list[dict[str, Any]]]:
    """The intake channel's post about a case whose workplace address could not be placed on
    the map (why, in words; never a person's or health detail)."""
    headline = (f":round_pushpin: Sag *{escape(case_ref)}*: arbejdspladsens adresse kunne ikke "
                "placeres på kortet — mødet planlægges som på jobcentret.")
    note = f"Hvorfor: {escape(reason)}. Ret adressen på sagen." if reason else ""
    return _notice_with_link(headline, note, link)


def late_handover_message(case_ref: str, link: str, week: int, deadline: str
                          ) -> tuple[str, list[dict[str, Any]]]:
    """The intake channel's post about a case the benefits office handed over after absence
    week 7 (the week it arrived in and the first meeting's deadline; no person, no health)."""
    headline = (f":hourglass: Sag *{escape(case_ref)}* blev overdraget i fraværsuge {week} — "
                "senere end uge 7.")
    note = f"Frist for første samtale: {escape(deadline)}" if deadline else ""
    return _notice_with_link(headline, note, link)


def long_absence_message(consultant: str, first_day: str, last_day: str, working_days: int,
                         link: str) -> tuple[str, list[dict[str, Any]]]:
    """The intake channel's post about a consultant's long absence, registered: who and when
    (never why: the reason may be health), and the link to the cases to hand over."""
    headline = (f":palm_tree: *{escape(consultant)}* er væk {escape(first_day)}–"
                f"{escape(last_day)} ({working_days} arbejdsdage).")
    note = ("Sager med frist i fraværet kan overdrages til en kollega under "
            "\"Møder der skal flyttes\".")
    return _notice_with_link(headline, note, link, "Møder der skal flyttes")


def unassigned_message(case_ref: str, link: str, reason: str, deadline: str = ""
                       ) -> tuple[str, list[dict[str, Any]]]:
    """The intake channel's post about a case planning could give no owner, with why and
    the button to choose one."""
    ref = escape(case_ref)
    headline = f":warning: Sag *{ref}* har ingen konsulent."
    body: list[dict[str, Any]] = [_section(headline),
                                  _section(f"*Hvorfor:*\n• {escape(reason)}")]
    if deadline:
        body.append(_context(f"Frist for første samtale: {escape(deadline)}"))
    body.append({"type": "actions", "block_id": f"owner:{case_ref}"[:255],
                 "elements": [_button(CHANGE_OWNER, case_ref, text="Vælg konsulent",
                                      style="primary"), _link_button(link)]})
    return headline.replace("*", "") + f" {link}", body


def moved_message(case_ref: str) -> tuple[str, list[dict[str, Any]]]:
    """A consultant's earlier message about a case that now has another owner."""
    text = f":arrows_counterclockwise: Sag *{escape(case_ref)}* er flyttet til en anden konsulent."
    return text.replace("*", ""), [_section(text)]


def meeting_to_move_message(case_ref: str, text: str, link: str
                            ) -> tuple[str, list[dict[str, Any]]]:
    """The intake channel's post about a confirmed meeting whose consultant cannot hold it
    (`text`: the situation in plain words, without the case's reference)."""
    headline = f":warning: Mødet i sag *{escape(case_ref)}* skal flyttes. {escape(text)}"
    return headline.replace("*", "") + f" {link}", [
        _section(headline),
        {"type": "actions", "block_id": f"to-move:{case_ref}"[:255],
         "elements": [_link_button(link, "Møder der skal flyttes")]}]


def ephemeral(text: str) -> list[dict[str, Any]]:
    return [_section(escape(text))]


# -- modals ------------------------------------------------------------------------------

def _modal(callback_id: str, title: str, blocks: list[dict[str, Any]],
           metadata: dict[str, str], submit: str = "Gem") -> dict[str, Any]:
    return {"type": "modal", "callback_id": callback_id, "title": _text(title, "plain_text"),
            "submit": _text(submit, "plain_text"), "close": _text("Annullér", "plain_text"),
            "private_metadata": json.dumps(metadata), "blocks": blocks}


def _radio(block_id: str, label: str, options: Choices, optional: bool = False
           ) -> dict[str, Any]:
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": _text(label, "plain_text"),
            "element": {"type": "radio_buttons", "action_id": block_id,
                        "options": [{"text": _text(text, "plain_text"), "value": value}
                                    for value, text in options]}}


def _datepicker(block_id: str, label: str, initial: str) -> dict[str, Any]:
    return {"type": "input", "block_id": block_id, "label": _text(label, "plain_text"),
            "element": {"type": "datepicker", "action_id": block_id, "initial_date": initial}}


# Slack's limit for a plain_text_input's max_length.
MAX_TEXT_INPUT = 3000


def _text_input(block_id: str, label: str, max_length: int, optional: bool = True
                ) -> dict[str, Any]:
    """A free-text input of at most `max_length` characters (the API's limit for the field;
    the service checks it again: a submission can say anything)."""
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": _text(label, "plain_text"),
            "element": {"type": "plain_text_input", "action_id": block_id, "multiline": True,
                        "max_length": max(1, min(max_length, MAX_TEXT_INPUT))}}


# The minutes' rows the meeting modal offers (the page offers more; Slack's modal stays short).
MODAL_AGREEMENT_ROWS = 3
MODAL_STEP_ROWS = 3
# The minutes' input blocks, named as the case page's form fields (the service reads both
# alike); `held_on` + `held_time` are the page's `held_at`.
MINUTES_BLOCKS = (
    "held_on", "held_time",
    *[f"agreement-{i}-{part}" for i in range(MODAL_AGREEMENT_ROWS)
      for part in ("what", "who", "due")],
    *[f"step-{i}-{part}" for i in range(MODAL_STEP_ROWS) for part in ("from", "hours")],
    "full_time_from")
NOTE_ON_THE_PAGE = "Noter skrives på sagssiden (kun for medarbejdere) – aldrig i Slack."


def _optional_input(block_id: str, label: str, element: dict[str, Any]) -> dict[str, Any]:
    return {"type": "input", "block_id": block_id, "optional": True,
            "label": _text(label, "plain_text"), "element": {"action_id": block_id, **element}}


def _select(options: Choices) -> dict[str, Any]:
    return {"type": "static_select", "options": [
        {"text": _text(text[:75], "plain_text"), "value": value} for value, text in options]}


def _checkboxes(options: Choices) -> dict[str, Any]:
    return {"type": "checkboxes", "options": [
        {"text": _text(text, "plain_text"), "value": value} for value, text in options]}


def meeting_modal(case_ref: str, metadata: dict[str, str], places: Choices,
                  who: Choices | None = None, send_to: Choices | None = None
                  ) -> dict[str, Any]:
    """`places`: where the meeting was held, or that it was not (the service's choices);
    then the minutes as the case page takes them (issue 20): when it was held, agreements
    (what / `who` / due), the plan back to full time, a retention plan asked for, and whom to
    send the agreements (`send_to`). Never the staff-only note: that is written on the page."""
    # The first two questions are required (a person is never told an answer is optional and
    # then asked for it): the second has an answer for a meeting that was not held. The
    # minutes are optional, as on the page.
    rows: list[dict[str, Any]] = []
    for i in range(MODAL_AGREEMENT_ROWS):
        rows += [
            _optional_input(f"agreement-{i}-what", f"Aftale {i + 1}: hvad",
                            {"type": "plain_text_input", "max_length": 300}),
            _optional_input(f"agreement-{i}-who", f"Aftale {i + 1}: hvem", _select(who or [])),
            _optional_input(f"agreement-{i}-due", f"Aftale {i + 1}: senest",
                            {"type": "datepicker"})]
    steps: list[dict[str, Any]] = []
    for i in range(MODAL_STEP_ROWS):
        steps += [
            _optional_input(f"step-{i}-from", f"Trin {i + 1}: fra", {"type": "datepicker"}),
            _optional_input(f"step-{i}-hours", f"Trin {i + 1}: timer om ugen",
                            {"type": "plain_text_input", "max_length": 10})]
    return _modal(MEETING_MODAL, "Registrér mødet", [
        _section(f"Sag *{escape(case_ref)}*"),
        _radio("place", "Hvor blev mødet holdt?", places),
        _radio("employer_took_part", "Deltog arbejdsgiveren?", list(TOOK_PART.items())),
        {"type": "header", "text": _text("Referat", "plain_text")},
        _context("Tomt tidspunkt: det planlagte for et bekræftet møde, ellers nu. "
                 + NOTE_ON_THE_PAGE),
        _optional_input("held_on", "Holdt (dato)", {"type": "datepicker"}),
        _optional_input("held_time", "Holdt (klokken)", {"type": "timepicker"}),
        {"type": "header", "text": _text("Aftaler – hvem gør hvad hvornår", "plain_text")},
        *rows,
        _context("Dine egne aftaler bliver opgaver med fristen."),
        {"type": "header", "text": _text("Plan tilbage til fuld tid", "plain_text")},
        *steps,
        _optional_input("full_time_from", "Fuld tid fra", {"type": "datepicker"}),
        _optional_input("retention_plan_requested", "Fastholdelsesplan",
                        _checkboxes([("ja", "Medarbejderen ønsker en fastholdelsesplan")])),
        *([_optional_input("send_to", "Send aftalerne og planen til", _checkboxes(send_to)),
           _context("Hver part får sine egne aftaler, dine og planen – aldrig noten eller "
                    "helbredsoplysninger.")] if send_to else []),
    ], metadata)


def intervention_modal(case_ref: str, today: str, metadata: dict[str, str],
                       kinds: Choices | None = None) -> dict[str, Any]:
    """`kinds`: the kinds of workplace-oriented intervention (the service's choices)."""
    return _modal(INTERVENTION_MODAL, "Indsatsen", [
        _section(f"Sag *{escape(case_ref)}*: hvilken virksomhedsrettet indsats, og hvornår "
                 "startede den?"),
        {"type": "input", "block_id": "kind", "label": _text("Indsats", "plain_text"),
         "element": {"type": "static_select", "action_id": "kind",
                     "options": [{"text": _text(text, "plain_text"), "value": value}
                                 for value, text in kinds or []]}},
        _datepicker("started_on", "Startdato", today),
    ], metadata)


def close_modal(case_ref: str, today: str, metadata: dict[str, str], outcomes: Choices,
                note_limit: int) -> dict[str, Any]:
    """`outcomes`: how a case may end; `note_limit`: the note's most characters (the
    service's, from its input model)."""
    return _modal(CLOSE_MODAL, "Afslut sag", [
        _section(f"Sag *{escape(case_ref)}* er slut. Dens møder aflyses, og de berørte får "
                 "besked."),
        {"type": "input", "block_id": "outcome", "label": _text("Hvorfor?", "plain_text"),
         "element": {"type": "static_select", "action_id": "outcome",
                     "options": [{"text": _text(text, "plain_text"), "value": value}
                                 for value, text in outcomes]}},
        _datepicker("on", "Dato", today),
        _text_input("note", "Note (gemmes på sagen, ikke i Slack)", note_limit),
    ], metadata, submit="Afslut")


def owner_modal(case_ref: str, choices: list[tuple[str, str]], reasons: list[tuple[str, str]],
                metadata: dict[str, str], note_limit: int) -> dict[str, Any]:
    """`choices`: (consultant id, label with the consultant's load); `reasons`: the fixed
    reasons (key, words) — what the intake channel is told. The note stays in fasthold."""
    return _modal(OWNER_MODAL, "Skift konsulent", [
        _section(f"Hvem skal eje sag *{escape(case_ref)}*? Planlægningen beholder valget."),
        {"type": "input", "block_id": "consultant", "label": _text("Konsulent", "plain_text"),
         "element": {"type": "static_select", "action_id": "consultant",
                     "options": [{"text": _text(label[:75], "plain_text"), "value": key}
                                 for key, label in choices[:100]]}},
        {"type": "input", "block_id": "category", "label": _text("Hvorfor?", "plain_text"),
         "element": {"type": "static_select", "action_id": "category",
                     "options": [{"text": _text(label[:75], "plain_text"), "value": key}
                                 for key, label in reasons[:100]]}},
        _text_input("owner_note", "Note (gemmes på sagen, ikke i Slack)", note_limit),
    ], metadata, submit="Skift")


# -- Home tab and the slash command ---------------------------------------------------------

@dataclass(frozen=True)
class HomeItem:
    case_ref: str
    link: str
    text: str  # e.g. "frist 3. december · møde tirsdag 1. december kl. 10.00"


def _items(title: str, items: list[HomeItem], empty: str, more_link: str
           ) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _text(title, "plain_text")}]
    if not items:
        return [*blocks, _context(empty)]
    for item in items[:MAX_LIST]:
        blocks.append({"type": "section", "text": _text(
            f"*{escape(item.case_ref)}* · {escape(item.text)}"),
            "accessory": _link_button(item.link)})
    if len(items) > MAX_LIST:
        blocks.append(_context(f"… og {len(items) - MAX_LIST} til: <{more_link}|se alle i "
                               "fasthold>"))
    return blocks


def home_view(name: str, week: list[HomeItem], action: list[HomeItem], open_cases: list[HomeItem],
              week_link: str, *, coming_week: bool = False) -> dict[str, Any]:
    """The consultant's Home tab (at most `MAX_BLOCKS` blocks). `coming_week`: `week` holds
    the coming week's meetings (on a weekend), not the rest of this one's."""
    heading, empty = (
        ("Møder i den kommende uge", "Ingen møder i den kommende uge.") if coming_week
        else ("Møder denne uge", "Ingen møder resten af ugen."))
    blocks: list[dict[str, Any]] = [
        _section(f"*Hej {escape(name)}* – her er dine sager i fasthold. "
                 f"<{week_link}|Åbn din uge i fasthold>"),
        {"type": "divider"},
        *_items(heading, week, empty, week_link),
        {"type": "divider"},
        *_items("Kræver handling", action, "Intet kræver handling lige nu.", week_link),
        {"type": "divider"},
        *_items("Åbne sager, nærmeste frist først", open_cases, "Ingen åbne sager.",
                week_link),
    ]
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def unknown_user_home() -> dict[str, Any]:
    return {"type": "home", "blocks": [_section(
        "Du er ikke sat op som konsulent i fasthold. Spørg din leder.")]}


def command_list(title: str, items: list[HomeItem], empty: str, more_link: str
                 ) -> list[dict[str, Any]]:
    return _items(title, items, empty, more_link)[:MAX_BLOCKS]


HELP = ("*/fasthold mine* – dine åbne sager, nærmeste frist først\n"
        "*/fasthold næste* – dine næste møder\n"
        "*/fasthold hjælp* – denne hjælp\n"
        "Knapperne på botens beskeder registrerer opkald, møder, indsats og afslutning.")
