"""The consultant's pages: "Mine sager" (`/my-cases`), one case with the registration forms
(`/my-cases/{case_id}`: the same outcomes as the Slack buttons, through `app[OUTCOMES]` and
`app[CASE_CLOSING]`), the week as a calendar (`/week`), and the personal calendar feed
(`/calendar`, `/calendar/{token}.ics`).

A consultant sees their own cases only (another's case is a 404, audited); a manager or an
admin may look at any consultant's cases and week and register for them.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote, urlencode

from aiohttp import web

from service.calendars.pages import calendar_import_block
from service.consultants.pages import REASONS as ABSENCE_REASONS
from service.consultants.pages import absence_errors as danish_absence_errors
from service.consultants.pages import absence_form as read_absence_form
from service.consultants.schemas import MAX_ABSENCE_NOTE
from service.followup.calendar_feed import feed_path
from service.followup.closing import CLOSE_OUTCOMES, MAX_CLOSE_NOTE
from service.followup.follow_ups import follow_up_overdue
from service.followup.forms import (
    AGREEMENT_ROWS,
    CLOSE_TEXT,
    MINUTES_ERRORS,
    MINUTES_FIELDS,
    PLACE_TEXT,
    STEP_ROWS,
    CloseForm,
    ContactForm,
    InterventionForm,
    OutcomeForm,
    form_values,
    parse_form,
    parse_minutes,
)
from service.followup.my_work import CaseView
from service.followup.outcomes import PLACES, InterventionKind
from service.followup.week_layout import (
    consultant_hours,
    current_week,
    lay_out,
    monday_of,
    parse_week,
)
from service.keys import (
    CALENDAR_FEEDS,
    CASE_CLOSING,
    CLOCK,
    CONFIG,
    CONSULTANTS,
    EMPLOYER_DECLINES,
    HELD_INVITATIONS,
    MY_WORK,
    OUTCOMES,
    TASKS,
)
from service.meetings.talk_kinds import TALK_LABEL, TALK_STATUS_TEXT
from service.platform.auth import Principal
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound
from service.platform.http import text_problem
from service.platform.pages import add_nav, not_found, page_principal, read_form, render
from service.text.case_words import FOLLOW_UP as FOLLOW_UP_WORDS
from service.text.danish import danish_date, danish_slot, danish_time
from service.text.errors import danish_error, danish_field_errors, danish_problem
from service.text.minutes_words import INTERVENTION_KIND, SEND_TO, WHO, plan_lines

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_CASE_REF = 64  # cases.case_ref
ROLES = ("consultant", "manager")  # and admin
ABSENCE_NOTICES = {"fravaer": "Fraværet er registreret. Der planlægges ingen møder de dage.",
                   "fravaer-slettet": "Fraværet er slettet."}
NOTICES = {
    "ringet-borger": "Opkaldet til borgeren er registreret.",
    "ringet-arbejdsgiver": "Opkaldet til arbejdsgiveren er registreret.",
    "samtale-holdt": "Samtalen er registreret som holdt.",
    "samtale-ikke-holdt": "Samtalen er registreret som ikke holdt; der planlægges en ny tid.",
    "indsats": "Den virksomhedsrettede indsats er registreret.",
    "afsluttet": "Sagen er afsluttet.",
    "genaabnet-fordeles": "Sagen er genåbnet, men du har ikke plads til flere sager. Den "
                          "fordeles til en konsulent med plads ved næste planlægning.",
    "abonnement-stoppet": "Abonnementet er stoppet; den gamle adresse virker ikke længere.",
    "opgave-udfoert": "Opgaven er markeret som udført.",
    "invitation-sendt": "Opkaldene er registreret, og invitationen er sendt til "
                        "arbejdsgiveren.",
    "moede-genoprettet": "Mødet på arbejdspladsen er genoprettet; arbejdsgiveren har fået "
                         "besked.",
}
MEETING_STATUS = {"proposed": "foreslået", "confirmed": "bekræftet", "held": "holdt"}
KIND_TEXT = {"workplace_meeting": "på arbejdspladsen", "jobcenter_meeting": "i jobcentret",
             "telephone": "telefonisk"}


def _local(value: datetime | None, request: web.Request) -> str:
    if value is None:
        return ""
    moment = value.astimezone(request.app[CLOCK].tz)
    return f"{danish_date(moment.date())} kl. {danish_time(moment)}"


def _deadline_text(days_left: int) -> str:
    if days_left < 0:
        return f"overskredet med {-days_left} {'dag' if days_left == -1 else 'dage'}"
    if days_left == 0:
        return "i dag"
    return f"om {days_left} {'dag' if days_left == 1 else 'dage'}"


def _case_row(case: CaseView, request: web.Request) -> dict[str, Any]:
    meeting = case.meeting
    return {
        "ref": case.case_ref, "href": f"/my-cases/{quote(case.case_ref, safe='')}",
        "citizen": case.citizen_name or "–", "employer": case.employer_name or "–",
        "deadline": danish_date(case.first_meeting_deadline),
        "deadline_left": ("overholdt" if case.held.start.date() <= case.first_meeting_deadline
                          else "holdt for sent") if case.held else _deadline_text(
                              case.days_left),
        "deadline_past": case.days_left < 0 and case.held is None,
        "at_risk": case.at_risk,
        "intervention_deadline": danish_date(case.intervention_deadline),
        "meeting": (f"{danish_slot(meeting.start, meeting.end)} "
                    f"{KIND_TEXT.get(meeting.kind, '')} ({MEETING_STATUS[meeting.status]})"
                    if meeting else ("holdt " + danish_date(case.held.start.date())
                                     if case.held else "ingen endnu")),
        # The citizen's private talk (no employer): planned or held, or still to plan.
        "talk": (f"{TALK_LABEL}: {danish_slot(case.talk.start, case.talk.end)} "
                 f"({TALK_STATUS_TEXT.get(case.talk.status, '')})" if case.talk else
                 f"{TALK_LABEL}: ønsket, ikke planlagt endnu" if case.private_talk_first
                 else ""),
        # follow-ups until recovery: the next one's day and kind, once the first was held
        # (`service.intake.views.follow_up_kind`)
        "next_follow_up": (f"{danish_date(date.fromisoformat(case.next_follow_up['due']))}, "
                           f"{FOLLOW_UP_WORDS[case.next_follow_up['kind']].lower()}"
                           if case.next_follow_up else ""),
        # over time (the dashboard's "Opfølgninger over tid", the same rule)
        "follow_up_overdue": bool(case.next_follow_up) and follow_up_overdue(
            case.next_follow_up_due, request.app[CLOCK].today()),
        "action": case.next_action.text if case.next_action else "",
        "action_code": case.next_action.code if case.next_action else "",
        "urgent": bool(case.next_action and case.next_action.urgent),
        "tasks": case.tasks[-1:],  # the newest open task; the case page lists them all
        "tasks_href": f"/my-cases/{quote(case.case_ref, safe='')}/tasks",
        "more_tasks": max(len(case.tasks) - 1, 0),
    }


async def _consultant_choice(request: web.Request, principal: Principal
                             ) -> tuple[str, list[Any]]:
    """Whose page: a consultant's own; a manager's choice (`?konsulent=`)."""
    work = request.app[MY_WORK]
    try:
        key = await work.consultant_for(principal, request.query.get("konsulent"))
    except Invalid:
        raise not_found(request, "Konsulenten") from None
    choices = [] if principal.role == "consultant" else \
        await request.app[CONSULTANTS].choices(active_only=False)
    return key, choices


# -- Mine sager ----------------------------------------------------------------------------

async def my_cases(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    key, choices = await _consultant_choice(request, principal)
    cases = await request.app[MY_WORK].my_cases(principal, key)
    found = await request.app[CONSULTANTS].find(key)
    name = found.name if found is not None else key
    return render(request, "followup/my_cases.html", cases=[_case_row(c, request)
                                                            for c in cases],
                  consultant=key, consultant_name=name, choices=choices,
                  urgent=sum(1 for c in cases if c.next_action and c.next_action.urgent),
                  notice=NOTICES.get(request.query.get("besked", ""), ""))


# -- one case and its registration forms -----------------------------------------------------

async def _case_or_404(request: web.Request, principal: Principal) -> CaseView:
    case_ref = _checked_ref(request)
    try:
        return await request.app[MY_WORK].case(case_ref, principal)
    except NotFound:
        raise not_found(request, "Sagen") from None


def _checked_ref(request: web.Request) -> str:
    """The case reference in the path; one no case can have is simply not found."""
    case_ref = request.match_info["case_id"]
    if len(case_ref) > MAX_CASE_REF or text_problem(case_ref):
        raise not_found(request, "Sagen")
    return case_ref


async def _case_page(request: web.Request, principal: Principal, status: int = 200,
                     errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                     problem: str = "", refused: Invalid | None = None) -> web.Response:
    """The case page (a read of the case, audited); with `refused`, the use case's field
    errors in Danish next to the fields."""
    case = await _case_or_404(request, principal)
    if refused is not None:
        errors = danish_field_errors(refused.errors)
    today = request.app[CLOCK].today()
    meeting, held = case.meeting, case.held
    started = meeting is not None and meeting.start <= request.app[CLOCK].local_now()
    return render(
        request, "followup/case.html", status=status, case=case, row=_case_row(case, request),
        errors=errors or {}, values=values or {}, problem=problem,
        notice=NOTICES.get(request.query.get("besked", ""), ""),
        first_absence=danish_date(case.first_absence_day) if case.first_absence_day else "–",
        citizen_called=_local(case.citizen_called_at, request),
        employer_called=_local(case.employer_called_at, request),
        meeting_text=(f"{danish_slot(meeting.start, meeting.end)} "
                      f"{KIND_TEXT.get(meeting.kind, '')}" if meeting else ""),
        meeting_status=MEETING_STATUS.get(meeting.status, "") if meeting else "",
        meeting_started=started,
        held_text=(f"{danish_date(held.start.date())} "
                   f"{PLACE_TEXT.get(held.place or '', '').lower()}"
                   + (" · arbejdsgiveren deltog" if held.employer_took_part else
                      " · uden arbejdsgiveren") if held else ""),
        intervention=(danish_date(case.intervention_started_on)
                      if case.intervention_started_on else ""),
        places=[(p, PLACE_TEXT[p]) for p in PLACES],
        minutes_errors=[message for name, message in (errors or {}).items()
                        if name.split("[")[0].split(".")[0] in MINUTES_ERRORS],
        case_today=today, places_words=PLACE_TEXT,
        guide=request.app[CONFIG].meetings.guide, who_choices=list(WHO.items()),
        send_to_choices=list(SEND_TO.items()), agreement_rows=range(AGREEMENT_ROWS),
        step_rows=range(STEP_ROWS), kinds=[(k, INTERVENTION_KIND[k])
                                          for k in get_args(InterventionKind)],
        kind_words=INTERVENTION_KIND, who_words=WHO, plan_lines=_plan_lines,
        now_local=request.app[CLOCK].local_now().strftime("%Y-%m-%dT%H:%M"),
        close_outcomes=[(o, CLOSE_TEXT[o]) for o in CLOSE_OUTCOMES], note_limit=MAX_CLOSE_NOTE,
        today=today.isoformat())


def _plan_lines(plan: dict[str, Any] | None) -> list[str]:
    """A stored return plan in Danish lines."""
    if not plan:
        return []
    return plan_lines([(date.fromisoformat(s["from"]), float(s["hours_per_week"]))
                       for s in plan["steps"]], date.fromisoformat(plan["full_time_from"]))


async def case_page(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    return await _case_page(request, principal)


def _back(request: web.Request, notice: str) -> web.HTTPSeeOther:
    ref = quote(request.match_info["case_id"], safe="")
    return web.HTTPSeeOther(f"/my-cases/{ref}?besked={notice}",
                            headers={"Cache-Control": "no-store"})


async def _register(request: web.Request, principal: Principal, values: dict[str, str],
                    action: Any) -> web.Response | None:
    """Run a registration (the use case checks who may, and the input); on a refusal the
    case page again with the reason (None: done, and nothing was read: the page redirects)."""
    try:
        await action
    except Invalid as exc:
        return await _case_page(request, principal, 422, values=values, refused=exc)
    except Conflict as exc:
        return await _case_page(request, principal, 409, values=values,
                                problem=danish_problem(exc))
    except (NotFound, Forbidden):
        raise not_found(request, "Sagen") from None
    return None


async def register_contact(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    form = await read_form(request)
    case_ref = _checked_ref(request)
    values = form_values(form, ("who",))
    parsed, errors = parse_form(ContactForm, values)
    if parsed is None:
        return await _case_page(request, principal, 422, errors, values)
    refused = await _register(request, principal, values, request.app[OUTCOMES]
                              .register_contact(case_ref, parsed.who, principal))
    if refused is not None:
        return refused
    raise _back(request, "ringet-borger" if parsed.who == "citizen" else "ringet-arbejdsgiver")


async def register_meeting(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    form = await read_form(request)
    case_ref = _checked_ref(request)
    values = form_values(form, ("place", "employer_took_part", *MINUTES_FIELDS))
    send_to = [v for v in form.getall("send_to", []) if isinstance(v, str)]
    # The meeting guide's ticks, only to show them again with an error (never stored).
    values["guide"] = ",".join(v for v in form.getall("guide", [])
                               if isinstance(v, str) and v.isdigit())[:200]
    parsed, errors = parse_form(OutcomeForm, {k: values[k] for k in ("place",
                                                                       "employer_took_part")})
    held = parsed is not None and parsed.place != "not_held"
    minutes, held_text, minutes_errors = parse_minutes(values, send_to) if held else (
        None, None, {})
    held_at = None
    if held_text is not None:
        try:
            held_at = datetime.fromisoformat(held_text)
        except ValueError:
            minutes_errors["held_at"] = danish_error("held_at", "datetime_from_date_parsing")
    if parsed is None or minutes_errors:
        return await _case_page(request, principal, 422, {**errors, **minutes_errors},
                                values | {"send_to": ",".join(send_to)})
    refused = await _register(request, principal, values, request.app[OUTCOMES]
                              .register_meeting(case_ref, parsed.place, parsed.took_part(),
                                                principal, held_at=held_at, minutes=minutes))
    if refused is not None:
        return refused
    raise _back(request, "samtale-ikke-holdt" if parsed.place == "not_held" else "samtale-holdt")


async def register_intervention(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    form = await read_form(request)
    case_ref = _checked_ref(request)
    values = form_values(form, ("started_on", "kind", "hours_per_week", "ends_on"))
    if values["hours_per_week"]:
        values["hours_per_week"] = values["hours_per_week"].replace(",", ".")
    # The page always asks for the kind (the API's default "other" is for old clients).
    parsed, errors = parse_form(InterventionForm, values)
    if not values["kind"].strip():
        errors["kind"] = danish_error("kind", "not_one_of")
    if parsed is None or errors:
        return await _case_page(request, principal, 422, errors, values)
    refused = await _register(request, principal, values, request.app[OUTCOMES]
                              .register_intervention(case_ref, parsed.started_on, principal,
                                                     kind=parsed.kind,
                                                     hours_per_week=parsed.hours_per_week,
                                                     ends_on=parsed.ends_on))
    if refused is not None:
        return refused
    raise _back(request, "indsats")


async def close_case(request: web.Request) -> web.Response:
    """Closing a closed case again changes nothing (the use case keeps the first closing)."""
    principal = await page_principal(request, *ROLES)
    form = await read_form(request)
    case_ref = _checked_ref(request)
    values = form_values(form, ("outcome", "on", "note"))
    parsed, errors = parse_form(CloseForm, values)
    if parsed is None:
        return await _case_page(request, principal, 422, errors, values)
    refused = await _register(request, principal, values, request.app[CASE_CLOSING].close(
        case_ref, parsed.outcome, parsed.on, parsed.note, principal))
    if refused is not None:
        return refused
    raise _back(request, "afsluttet")


async def calls_done(request: web.Request) -> web.Response:
    """"Jeg har ringet — send invitationen" (`after_calls`): both calls registered, the held
    invitation sent."""
    principal = await page_principal(request, *ROLES)
    await read_form(request)
    case_ref = _checked_ref(request)
    refused = await _register(request, principal, {}, request.app[HELD_INVITATIONS]
                              .calls_done(case_ref, principal))
    if refused is not None:
        return refused
    raise _back(request, "invitation-sendt")


async def restore_decline(request: web.Request) -> web.Response:
    """"Genopret mødet på arbejdspladsen": after the call, the declined meeting stands."""
    principal = await page_principal(request, *ROLES)
    await read_form(request)
    case_ref = _checked_ref(request)
    refused = await _register(request, principal, {}, request.app[EMPLOYER_DECLINES]
                              .restore(case_ref, principal))
    if refused is not None:
        return refused
    raise _back(request, "moede-genoprettet")


async def task_done(request: web.Request) -> web.Response:
    """A task marked done from "Mine sager" or the case page (`back=mine-sager` returns to
    the list); a task already done stays done, another consultant's task is not found."""
    principal = await page_principal(request, *ROLES)
    form = await read_form(request)
    case_ref = _checked_ref(request)
    try:
        task = await request.app[TASKS].mark_done(int(request.match_info["task_id"]),
                                                  principal, case_ref)
    except (NotFound, Forbidden):
        raise not_found(request, "Opgaven") from None
    if form.get("back") == "mine-sager":
        query = {"besked": "opgave-udfoert"}
        if principal.role != "consultant" and task["consultant_id"]:
            query["konsulent"] = task["consultant_id"]
        raise web.HTTPSeeOther("/my-cases?" + urlencode(query),
                               headers={"Cache-Control": "no-store"})
    raise _back(request, "opgave-udfoert")


# -- the week ----------------------------------------------------------------------------------

async def week(request: web.Request) -> web.Response:
    return await _week_page(request)


async def _week_page(request: web.Request, status: int = 200,
                     absence_errors: dict[str, str] | None = None,
                     absence_values: dict[str, str] | None = None) -> web.Response:
    principal = await page_principal(request, *ROLES)
    key, choices = await _consultant_choice(request, principal)
    today = request.app[CLOCK].today()
    config = request.app[CONFIG]
    consultant = await request.app[CONSULTANTS].find(key)
    hours = consultant_hours(consultant.working_hours if consultant else None,
                             config.working_hours)
    # on a weekend "this week" is the coming one (`current_week`)
    current = current_week(today, hours)
    current_words = "Denne uge" if current == monday_of(today) else "Kommende uge"
    raw = request.query.get("uge")
    monday = parse_week(raw) if raw else current
    error = ""
    if monday is None:
        error = f"Skriv en uge som ÅÅÅÅ-Wuu, fx 2026-W48. Viser {current_words.lower()}."
        monday = current
    view = await request.app[MY_WORK].week(principal, key, monday)
    layout = lay_out(view, hours, today, dict(ABSENCE_REASONS))
    extra = {"konsulent": key} if principal.role != "consultant" else {}
    try:
        absences = await request.app[CONSULTANTS].absences(key, principal)
    except NotFound:
        absences = []
    return render(request, "followup/week.html", status=400 if error else status,
                  error=error,
                  layout=layout, consultant=key, consultant_name=view.consultant_name,
                  choices=choices, current_words=current_words,
                  previous_href="/week?" + urlencode({"uge": layout.previous, **extra}),
                  next_href="/week?" + urlencode({"uge": layout.following, **extra}),
                  today_href="/week" + ("?" + urlencode(extra) if extra else ""),
                  title=f"Uge {monday.isocalendar()[1]}, {danish_date(monday)} – "
                        f"{danish_date(layout.days[-1].day)}",
                  absences=absences, reasons=ABSENCE_REASONS,
                  reason_words=dict(ABSENCE_REASONS), absence_errors=absence_errors or {},
                  absence_values=absence_values or {}, note_max=MAX_ABSENCE_NOTE,
                  absence_action="/week/absences",
                  absence_query="?" + urlencode(extra) if extra else "",
                  absence_notice=ABSENCE_NOTICES.get(request.query.get("besked", ""), ""),
                  calendar_import=await calendar_import_block(request, principal, key))


def _week_back(key: str, principal: Principal, notice: str) -> web.HTTPSeeOther:
    extra = {"konsulent": key} if principal.role != "consultant" else {}
    return web.HTTPSeeOther("/week?" + urlencode({**extra, "besked": notice}) + "#fravaer")


async def add_absence(request: web.Request) -> web.Response:
    """The week page's absence form: a consultant's own absence (a manager's for the
    consultant chosen)."""
    principal = await page_principal(request, *ROLES)
    key, _ = await _consultant_choice(request, principal)
    form = await read_form(request)
    values = {name: str(form.get(name) or "") for name in ("from", "to", "reason", "note")}
    try:
        values, absence = read_absence_form(form)
        await request.app[CONSULTANTS].add_absence(key, absence, principal)
    except NotFound:
        raise not_found(request, "Konsulenten") from None
    except Invalid as exc:
        return await _week_page(request, 422, danish_absence_errors(exc), values)
    raise _week_back(key, principal, "fravaer")


async def delete_absence(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    key, _ = await _consultant_choice(request, principal)
    await read_form(request)
    raw = request.match_info["absence_id"]
    try:
        await request.app[CONSULTANTS].delete_absence(key, int(raw), principal)
    except NotFound:
        raise not_found(request, "Fraværet") from None
    raise _week_back(key, principal, "fravaer-slettet")


# -- the calendar feed -------------------------------------------------------------------------

async def calendar_page(request: web.Request, status: int = 200, new_url: str = ""
                        ) -> web.Response:
    principal = await page_principal(request, "consultant")
    if principal.role != "consultant" or not principal.consultant_key:
        return render(request, "followup/calendar.html", status=200, feed=None, new_url="",
                      notice="", for_consultants_only=True)
    feed = await request.app[CALENDAR_FEEDS].status(principal)
    return render(request, "followup/calendar.html", status=status, feed=feed,
                  created=_local(feed.created_at, request), new_url=new_url,
                  notice=NOTICES.get(request.query.get("besked", ""), ""),
                  for_consultants_only=False)


async def show_calendar(request: web.Request) -> web.Response:
    return await calendar_page(request)


async def new_feed(request: web.Request) -> web.Response:
    principal = await page_principal(request, "consultant")
    await read_form(request)
    try:
        token = await request.app[CALENDAR_FEEDS].create(principal)
    except Forbidden:
        raise web.HTTPSeeOther("/calendar") from None
    # Shown once, on this answer only (it is stored hashed); never put in a redirect.
    return await calendar_page(request, 200, request.app[CONFIG].mail.link(feed_path(token)))


async def revoke_feed(request: web.Request) -> web.Response:
    principal = await page_principal(request, "consultant")
    await read_form(request)
    try:
        await request.app[CALENDAR_FEEDS].revoke(principal)
    except Forbidden:
        pass
    raise web.HTTPSeeOther("/calendar?besked=abonnement-stoppet",
                           headers={"Cache-Control": "no-store"})


async def feed(request: web.Request) -> web.Response:
    """The subscription itself: no login, the secret token is the key."""
    try:
        body = await request.app[CALENDAR_FEEDS].ics(request.match_info["token"])
    except NotFound:
        raise web.HTTPNotFound(text="Ukendt eller tilbagekaldt kalenderabonnement.",
                               headers={"Cache-Control": "no-store"}) from None
    return web.Response(body=body, headers={
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": 'inline; filename="fasthold.ics"',
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex, nofollow"})


async def form_url(request: web.Request) -> web.Response:
    """A form's URL opened with GET (the page reloaded after an error, a bookmark): to the
    case page rather than 405 — nothing is registered by a GET. Only for whom the case page
    itself is (another role: 403; a case they may not see: 404, as the page answers)."""
    principal = await page_principal(request, *ROLES)
    case = await _case_or_404(request, principal)
    raise web.HTTPSeeOther(f"/my-cases/{quote(case.case_ref, safe='')}",
                           headers={"Cache-Control": "no-store"})


# The case page's form URLs answered on GET by `form_url`.
CASE_FORMS = ("contacts", "meeting-outcome", "intervention", "close", "calls-done",
              "decline/restore")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/my-cases", my_cases, name="my_cases")
    app.router.add_get("/my-cases/{case_id}", case_page, name="my_case")
    app.router.add_post("/my-cases/{case_id}/contacts", register_contact)
    app.router.add_post("/my-cases/{case_id}/meeting-outcome", register_meeting)
    app.router.add_post("/my-cases/{case_id}/intervention", register_intervention)
    app.router.add_post("/my-cases/{case_id}/close", close_case)
    app.router.add_post("/my-cases/{case_id}/calls-done", calls_done)
    app.router.add_post("/my-cases/{case_id}/decline/restore", restore_decline)
    for form_path in CASE_FORMS:
        app.router.add_get(f"/my-cases/{{case_id}}/{form_path}", form_url)
    app.router.add_post(r"/my-cases/{case_id}/tasks/{task_id:[0-9]{1,12}}/done", task_done)
    app.router.add_get("/week", week, name="week")
    app.router.add_post("/week/absences", add_absence)
    app.router.add_post(r"/week/absences/{absence_id:[1-9][0-9]{0,9}}/delete", delete_absence)
    app.router.add_get("/calendar", show_calendar, name="calendar")
    app.router.add_post("/calendar/new", new_feed)
    app.router.add_post("/calendar/revoke", revoke_feed)
    app.router.add_get(r"/calendar/{token:[A-Za-z0-9_-]{16,100}}.ics", feed,
                       name="calendar_feed")
    add_nav(app, "Mine sager", "/my-cases", ("consultant",), order=20)
    add_nav(app, "Min uge", "/week", ("consultant",), order=30)
    add_nav(app, "Kalenderabonnement", "/calendar", ("consultant",), order=90)
