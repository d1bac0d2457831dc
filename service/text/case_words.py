"""A case's states in Danish words, as the staff pages (and anything else) show them."""

from __future__ import annotations

STATUS = {"target": "I målgruppen", "excluded": "Undtaget", "not_target": "Ikke i målgruppen",
          "incomplete": "Mangler oplysninger"}
FOLLOW_UP = {"workplace_meeting": "Møde på arbejdspladsen",
             "jobcenter_meeting": "Møde i jobcentret", "telephone": "Telefonisk opfølgning",
             "standard": "Almindelig opfølgning"}
MEETING_STATUS = {"proposed": "Foreslået", "confirmed": "Bekræftet", "held": "Afholdt",
                  "not_held": "Ikke afholdt", "cancelled": "Aflyst",
                  # the citizen's private talk (service.meetings.talk_kinds)
                  "talk_planned": "Planlagt", "talk_held": "Afholdt",
                  "talk_not_held": "Ikke afholdt", "talk_cancelled": "Aflyst"}
MEETING_KIND = {"workplace_meeting": "På arbejdspladsen", "jobcenter_meeting": "I jobcentret",
                "private_talk": "Samtale uden arbejdsgiver (telefon eller jobcentret)"}
PLACE = {"workplace": "på arbejdspladsen", "jobcentre": "i jobcentret", "phone": "telefonisk"}
MEETING_PURPOSE = {"first_meeting": "Første opfølgningsmøde", "follow_up": "Opfølgningsmøde"}
EMPLOYER_ANSWER = {"confirmed": "bekræftet", "other_times": "bad om andre tider",
                   "declined": "takkede nej til arbejdspladsen", "cancelled": "aflyste"}
MESSAGE_STATUS = {"pending": "Venter", "sending": "Sendes", "sent": "Leveret",
                  "failed": "Fejlet", "to_print": "Skal printes", "printed": "Sendt som brev",
                  "obsolete": "Overflødig"}
CHANNEL = {"email": "E-mail", "letter": "Brev", "slack": "Slack", "sms": "SMS"}
# What a message was about; the channel and recipient columns say to whom. Every kind the
# service sends (mail templates, Slack messages) has its words here (tests/text checks).
MESSAGE_KIND = {
    "meeting_conflict": "Møde konsulenten ikke kan holde",
    "proposal_moved": "Mødeforslag flyttet af planlægningen",
    "employer_invitation": "Mødeforslag", "employer_reminder": "Påmindelse om mødeforslag",
    "employer_day_before": "Påmindelse dagen før", "employer_confirmed": "Møde bekræftet",
    # Who cancelled is said by `cancelled_by` (the meeting's cancel reason) next to it.
    "employer_cancelled": "Aflysning til arbejdsgiveren",
    "employer_other_times": "Ønske om andre tider", "employer_decline_received": "Afslag modtaget",
    "employer_declined": "Arbejdsgiveren takkede nej",
    "employer_declined_call": "Arbejdsgiveren kan ikke holde mødet: ring til dem",
    "employer_decline_restored": "Mødet på arbejdspladsen genoprettet",
    "invitation_sent_after_wait": "Invitationen sendt efter ventetiden",
    "case_assigned_call_first": "Ny sag: ring først",
    "employer_no_answer": "Arbejdsgiveren har ikke svaret",
    "employer_mail_failed": "E-mail til arbejdsgiveren fejlede",
    "citizen_mail_failed": "E-mail til borgeren fejlede",
    "employer_contact_missing": "Arbejdsgiverens kontakt mangler",
    "citizen_meeting": "Mødebrev til borgeren",
    "citizen_first_contact": "Første besked til borgeren (konsulent, ret til samtale)",
    "citizen_private_talk": "Tid for samtalen uden arbejdsgiver til borgeren",
    "citizen_private_talk_cancelled": "Aflysning af samtalen uden arbejdsgiver til borgeren",
    "citizen_cancelled": "Aflysning til borgeren",
    "citizen_day_before": "Påmindelse dagen før til borgeren",
    "meeting_confirmed": "Møde bekræftet", "meetings_cancelled": "Møder aflyst",
    "meeting_tomorrow": "Påmindelse om mødet næste arbejdsdag",
    "telephone_due": "Telefonisk opfølgning nu",
    "intervention_missing": "Virksomhedsrettet indsats mangler",
    "invitation_failed": "Invitationen kunne ikke sendes",
    "deadline_at_risk": "Frist i fare", "case_assigned": "Ny sag til konsulenten",
    "intake_assignment": "Tildeling i visitationens kanal", "slack_update": "Opdatering",
    "slack_ephemeral": "Svar i Slack", "slack_home": "Slack-forside",
    "slack_fallback": "E-mail i stedet for Slack",
    "slack_delete": "Slack-besked fjernet (sagen fik en anden ejer)",
    "meeting_minutes": "Aftaler fra mødet", "journal_minutes": "Referat til journalen",
    "agreement_due": "Aftale forfalder i dag",
    "talk_tomorrow": "Påmindelse om samtalen uden arbejdsgiver næste arbejdsdag",
    "talk_planned": "Samtale uden arbejdsgiver planlagt",
    "letter_too_late": "Brevet når ikke frem: ring til borgeren",
}
CANCELLED_KINDS = ("employer_cancelled", "citizen_cancelled")
# A meeting's cancel reason (meetings.cancel_reason, as the use cases write it) as who
# cancelled it and why.
CANCELLED_BY = {
    "sagen er afsluttet": "aflyst af jobcentret, fordi sagen er lukket",
    "konsulenten er forhindret": "aflyst af jobcentret, fordi konsulenten er forhindret",
    "planlagt om": "flyttet af jobcentret til en ny tid",
    "sagen har fået en ny konsulent": "flyttet af jobcentret, fordi sagen har fået en ny "
                                      "konsulent",
    "opfølgningen er ændret": "aflyst af jobcentret, fordi opfølgningen er ændret",
    "aflyst af arbejdsgiveren": "aflyst af arbejdsgiveren",
    "arbejdsgiveren har bedt om andre tider": "aflyst, fordi arbejdsgiveren bad om andre "
                                              "tider",
    "arbejdsgiveren har takket nej til mødet på arbejdspladsen":
        "aflyst, fordi arbejdsgiveren takkede nej til mødet på arbejdspladsen",
}


def cancelled_by(reason: str | None) -> str:
    """Who cancelled a meeting and why, from its cancel reason: 'aflyst af jobcentret, fordi
    sagen er lukket'. An unknown reason: the employer's when it names them, else the
    jobcentre's."""
    if not reason:
        return "aflyst"
    if reason in CANCELLED_BY:
        return CANCELLED_BY[reason]
    who = "arbejdsgiveren" if "arbejdsgiver" in reason else "jobcentret"
    return f"aflyst af {who}: {reason}"


# How a case may end (`service.intake.schemas.CLOSE_OUTCOMES`), the same words on every
# channel; `CLOSED_AS` also words the outcomes of cases closed before the list changed.
CLOSE_OUTCOME = {"recovered": "Raskmeldt", "dismissed": "Opsagt",
                 "other_programme": "Overgået til ressource- eller jobafklaringsforløb",
                 "other_municipality": "Flyttet til anden kommune", "other": "Andet"}
CLOSED_AS = {**CLOSE_OUTCOME, "partly_recovered": "Delvist raskmeldt (tidligere afslutningsårsag)",
             "moved": "Flyttet til anden kommune"}
TRIGGER = {"intake": "Visitation", "update": "Ændring", "employer_answer": "Arbejdsgiverens svar"}
AUDIT_ACTION = {
    "case.read": "Sagen læst", "case.read_refused": "Adgang afvist", "case.list": "Sagsliste",
    "case.create": "Sagen oprettet", "case.intake_update": "Sagen opdateret ved visitation",
    "case.intake_unchanged": "Visiteret igen uden ændringer", "case.patch": "Fakta ændret",
    "case.owner_override": "Ejer valgt manuelt",
    "case.employer_changed": "Arbejdsgiverens oplysninger ændret (alle sager med CVR-nummeret)",
    "case.close": "Sagen lukket",
    "case.close_again": "Lukket igen (uændret)", "case.reopen": "Sagen genåbnet",
    "case.intervention": "Virksomhedsrettet indsats registreret",
    "kpi.correction": "Rettelse til en afsluttet måned",
    "meeting.confirm_by_staff": "Mødetid bekræftet af medarbejder",
    "meeting.outcome": "Mødets udfald registreret",
    "case.called_citizen": "Borgeren ringet op", "case.called_employer": "Arbejdsgiveren ringet op",
    "case.search": "Søgt frem på CPR-nummer",
    "task.done": "Opgave markeret som udført",
    "outbox.retry": "Besked sendt igen", "outbox.printed": "Brev markeret som sendt",
    "letter.list": "Breve til print vist", "letter.read": "Brev til print åbnet",
    "case.erased": "Personoplysninger slettet (opbevaringsperioden udløbet)",
    "case.calls_done": "Opkald registreret", "case.invitation_sent_after_wait":
    "Invitationen sendt efter ventetiden",
    "meeting.cancel_by_staff": "Mødet aflyst af medarbejder",
    "meeting.move_by_staff": "Mødet flyttet af medarbejder",
    "meeting.new_proposals": "Nye mødetider foreslået",
    "meeting.decline_registered": "Arbejdsgiverens afslag registreret",
    "meeting.decline_restored": "Afslaget trukket tilbage",
    "meeting.decline_moved": "Mødet flyttet efter afslag",
    "private_talk.wished": "Borgeren ønsker en samtale alene",
    "private_talk.register": "Samtalen alene registreret",
    "consultant.create": "Konsulent oprettet", "consultant.change": "Konsulent ændret",
    "consultant.deactivate": "Konsulent deaktiveret",
    "consultant.absence_add": "Fravær registreret", "consultant.absence_delete": "Fravær slettet",
    "calendar_feed.create": "Kalenderabonnement oprettet",
    "calendar_feed.revoke": "Kalenderabonnement tilbagekaldt",
    "calendar_source.set": "Egen kalender tilknyttet",
    "calendar_source.remove": "Egen kalender fjernet",
    "staff.login": "Logget ind", "staff.logout": "Logget ud",
    "staff.login_refused": "Log ind afvist (ukendt eller deaktiveret bruger, eller ingen rolle)",
    "staff.user_role_changed": "Brugerens rolle ændret af kommunens login",
    "staff.user_created": "Bruger oprettet", "staff.user_disabled": "Bruger deaktiveret",
    "staff.user_enabled": "Bruger aktiveret", "staff.password_set": "Adgangskode sat",
    "audit.read": "Revisionsloggen søgt",
    "case.access_request": "Sagen udleveret i en indsigt (borgerens anmodning)",
    "access_request.made": "Indsigt udarbejdet",
}
CSV_OUTCOME = {"imported": "Oprettet", "updated": "Opdateret", "unchanged": "Uændret",
               "rejected": "Afvist"}


# Who did something (an audit entry's or an assessment's actor, "role:name") in words.
ACTOR_ROLE = {"intake": "visitationen", "consultant": "konsulent", "manager": "leder",
              "admin": "administrator", "employer": "arbejdsgiveren"}
SYSTEM_ACTORS = {"planner": "fasthold (planlægningen)", "system": "fasthold"}


def actor_in_words(actor: str | None) -> str:
    """'intake:visitation' -> 'visitation (visitationen)'; 'system:planner' -> 'fasthold
    (planlægningen)'; 'employer:arbejdsgiver via link' -> 'arbejdsgiveren via linket i
    e-mailen'."""
    if not actor:
        return "–"
    role, _, name = actor.partition(":")
    if not name:
        return SYSTEM_ACTORS.get(role, role)
    if role == "system":
        return SYSTEM_ACTORS.get(name, f"fasthold ({name})")
    if role == "employer":
        return "arbejdsgiveren via linket i e-mailen"
    return f"{name} ({ACTOR_ROLE[role]})" if role in ACTOR_ROLE else name


def word(table: dict[str, str], key: str | None, empty: str = "–") -> str:
    """`key` in words from `table`; an unknown key as it is."""
    if key is None or key == "":
        return empty
    return table.get(key, key)


WORDS = {"status": STATUS, "follow_up": FOLLOW_UP, "meeting_status": MEETING_STATUS,
         "meeting_kind": MEETING_KIND, "place": PLACE, "employer_answer": EMPLOYER_ANSWER,
         "message_status": MESSAGE_STATUS, "message_kind": MESSAGE_KIND, "channel": CHANNEL,
         "close_outcome": CLOSED_AS,
         "trigger": TRIGGER, "audit_action": AUDIT_ACTION, "csv_outcome": CSV_OUTCOME}
