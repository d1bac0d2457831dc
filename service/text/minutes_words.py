"""A meeting's minutes in Danish: who does what (agreements), the intervention kinds, and the
mail that tells the citizen or the employer the agreements and return plan that concern them
(never the consultant's note, nothing about health)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from service.text.danish import danish_date, danish_number

WHO = {"citizen": "Borgeren", "employer": "Arbejdsgiveren", "consultant": "Konsulenten",
       "other": "Andre"}
INTERVENTION_KIND = {
    "partial_return": "Delvis raskmelding (gradvis tilbagevenden)",
    "work_trial": "Virksomhedspraktik",
    "wage_subsidy": "Løntilskud",
    "redeployment": "Omplacering",
    "aids_or_adjustments": "Hjælpemidler eller tilpasning af arbejdet",
    "education": "Uddannelse eller opkvalificering",
    "other": "Anden virksomhedsrettet indsats",
}
SEND_TO = {"citizen": "Borgeren", "employer": "Arbejdsgiveren"}


@dataclass(frozen=True)
class MinutesMail:
    """Who the mail is from: the jobcentre's name and phone number."""

    jobcentre: str
    phone: str
    # the municipality's privacy notice (`[jobcentre] privacy_url`), at the end as in every mail
    privacy_url: str | None = None
    # the case system's journal mailbox (`[followup] journal_email`): a copy of the minutes
    journal: str | None = None


def plan_lines(steps: list[tuple[date, float]], full_time_from: date) -> list[str]:
    """'Fra mandag den 4. januar 2027: 15 timer om ugen', …, 'Fuld tid fra …'."""
    return ([f"Fra {danish_date(day)}: {danish_number(hours)} timer om ugen"
             for day, hours in steps] + [f"Fuld tid fra {danish_date(full_time_from)}"])


AGREEMENTS = "Aftaler"
PLAN = "Plan for tilbagevenden til arbejdet"


def agreement_lines(agreements: list[tuple[str, str, date]]) -> list[str]:
    """'Borgeren: Tal med lægen (senest …)' per agreement (what, who, due)."""
    return [f"{WHO.get(who, who)}: {what} (senest {danish_date(due)})"
            for what, who, due in agreements]


def _add_list(text: list[str], html: list[str], heading: str, lines: list[str]) -> None:
    """A heading and its lines as a list, to a mail's plain text and its HTML."""
    text += [f"{heading}:", *[f"- {line}" for line in lines], ""]
    html += [f"<p><strong>{escape(heading)}</strong></p><ul>",
             *[f"<li>{escape(line)}</li>" for line in lines], "</ul>"]


def minutes_mail(mail: MinutesMail, party: str, held_on: date,
                 agreements: list[tuple[str, str, date]],
                 plan: tuple[list[tuple[date, float]], date] | None,
                 consultant: str, consultant_phone: str | None = None) -> tuple[str, str, str]:
    """(subject, text, html) of the mail to `party` (citizen | employer) after the meeting
    held on `held_on`: the agreements given (what, who, due) and the plan's steps; whom to
    call is the consultant, on their own number (the jobcentre's without one)."""
    subject = f"Aftaler fra opfølgningsmødet {danish_date(held_on)}"
    greeting = "Kære borger" if party == "citizen" else "Kære arbejdsgiver"
    text = [greeting, "", f"Her er aftalerne fra mødet {danish_date(held_on)}.", ""]
    html = [f"<p>{escape(greeting)}</p>",
            f"<p>Her er aftalerne fra mødet {escape(danish_date(held_on))}.</p>"]
    for heading, lines in ((AGREEMENTS, agreement_lines(agreements)),
                           (PLAN, plan_lines(*plan) if plan is not None else [])):
        if lines:
            _add_list(text, html, heading, lines)
    phone = consultant_phone or mail.phone
    text += [f"Kontakt {consultant or mail.jobcentre} på {phone}, hvis noget ikke passer.",
             "", "Med venlig hilsen", consultant, mail.jobcentre]
    html += [f"<p>Kontakt {escape(consultant or mail.jobcentre)} på {escape(phone)}, "
             "hvis noget ikke passer.</p>",
             f"<p>Med venlig hilsen<br>{escape(consultant)}<br>{escape(mail.jobcentre)}</p>"]
    if mail.privacy_url:
        text += ["", f"Sådan behandler vi personoplysninger: {mail.privacy_url}"]
        html.append(f'<p style="font-size:13px;color:#555;">Sådan behandler vi '
                    f'personoplysninger: <a href="{escape(mail.privacy_url)}">'
                    f"{escape(mail.privacy_url)}</a></p>")
    return subject, "\n".join(text).replace("\n\n\n", "\n\n") + "\n", "\n".join(html)


@dataclass(frozen=True)
class HeldMeetingWords:
    """A held meeting as the journal copy states it."""

    case_ref: str
    held_at: datetime
    what: str  # e.g. "Første opfølgningsmøde, på arbejdspladsen"
    consultant: str
    employer_took_part: bool | None
    retention_plan_requested: bool | None
    sent_to: list[str]


def journal_mail(held: HeldMeetingWords, agreements: list[tuple[str, str, date]],
                 plan: tuple[list[tuple[date, float]], date] | None) -> tuple[str, str, str]:
    """(subject, text, html) of the minutes' copy for the case file: the case number first
    in the subject (the case system files it by that), every agreement, the plan, who took
    part and who was mailed the minutes — never the consultant's note."""
    when = f"{danish_date(held.held_at.date())} kl. {held.held_at:%H.%M}"
    subject = f"{held.case_ref} – referat af opfølgningsmøde {danish_date(held.held_at.date())}"
    yes_no = {True: "ja", False: "nej", None: "ikke registreret"}
    facts = [("Sag", held.case_ref), ("Møde", f"{held.what}, {when}"),
             ("Konsulent", held.consultant or "–"),
             ("Arbejdsgiveren deltog", yes_no[held.employer_took_part]),
             ("Borgeren ønsker en fastholdelsesplan", yes_no[held.retention_plan_requested]),
             ("Aftalerne sendt til", ", ".join(SEND_TO.get(p, p).lower() for p in held.sent_to)
              or "ingen")]
    text = [f"{label}: {value}" for label, value in facts] + [""]
    html = ["<table>", *[f"<tr><th align=\"left\">{escape(label)}</th><td>{escape(value)}</td>"
                         "</tr>" for label, value in facts], "</table>"]
    _add_list(text, html, AGREEMENTS, agreement_lines(agreements) or ["ingen"])
    if plan is not None:
        _add_list(text, html, PLAN, plan_lines(*plan))
    text += ["Sendt automatisk af fasthold."]
    html += ["<p>Sendt automatisk af fasthold.</p>"]
    return subject, "\n".join(text) + "\n", "\n".join(html)
