"""Issue 19 item 6: letters that reach people — the citizen's postal address (API, form, CSV),
"Breve til print" (the list, a printable letter with the municipality's header and the
address, "Markér som sendt" audited with who and when; no CPR; audited reads), a letter for a
meeting fewer than 3 working days away flagged to the consultant, and Digital Post through
the outbox (a local fake gateway), retried like e-mail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from service.config import LettersConfig, MunicipalityConfig
from service.keys import CONFIG, DB, JOBS, NOTIFIER, OUTBOX
from service.platform.db.models import (
    AuditEntry,
    Case,
    ConsultantTask,
    Meeting,
    OutboxMessage,
)
from service.platform.workdays import add_working_days
from tests.intake.test_csv_import import _import as import_previewed
from tests.intake.test_csv_import import _text as as_text
from tests.intake.test_csv_import import _upload as upload
from tests.meetings.email_cases import body, intake
from tests.support import (
    Api,
    FakeGateway,
    Staff,
    fake_gateway,
    mail_config,
    make_secrets,
    start_api,
    today_local,
)

ADDRESS = "Søvej 2, 7400 Herning"


def letter_case(ref: str, **citizen: str) -> dict[str, object]:
    data = body(ref)
    data["citizen"] = {"name": "Mads Madsen", "address": ADDRESS, **citizen}
    return data


async def letters_of(api: Api, ref: str) -> list[OutboxMessage]:
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == ref))
                ).unique().scalar_one()
        return list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.case_id == case.id, OutboxMessage.channel == "letter")
            .order_by(OutboxMessage.id))).scalars())


async def test_breve_til_print_list_letter_and_marked_sent(staff: Staff) -> None:
    api = staff.api
    data = letter_case("LET-1")
    cpr = str(data["cpr"])
    await intake(api, data)
    resp = await api.client.get("/api/cases/LET-1", headers=api.auth("intake"))
    assert (await resp.json())["citizen"]["address"] == ADDRESS
    (first, *_) = await letters_of(api, "LET-1")
    assert first.status == "to_print" and first.kind == "citizen_first_contact"

    intake_user = await staff.login("intake")
    _, page = await intake_user.get("/letters")
    assert "Breve til print" in page and "LET-1" in page and "Mads Madsen" in page
    assert ADDRESS in page and f'href="/letters/{first.id}"' in page
    assert cpr not in page and cpr.replace("-", "") not in page
    _, letter = await intake_user.get(f"/letters/{first.id}")
    assert "Søvej 2<br>7400 Herning" in letter and "@media print" in letter
    config = api.client.app[CONFIG]
    assert f'<div class="sender"><strong>{config.municipality.name}</strong><br>' \
        f'{config.jobcentre.name}' in letter
    assert "Din fastholdelseskonsulent" in letter
    assert cpr not in letter and cpr.replace("-", "") not in letter

    # A consultant has no "Breve til print".
    consultant = await staff.login("consultant")
    resp, _ = await consultant.get("/letters")
    assert resp.status == 403

    # "Markér som sendt": printed, with who and when.
    resp, _ = await intake_user.post(f"/letters/{first.id}/printed", {})
    assert resp.status in (200, 303)
    (first, *_) = await letters_of(api, "LET-1")
    assert first.status == "printed" and first.sent_at is not None
    _, page = await intake_user.get("/letters")
    assert f'href="/letters/{first.id}"' not in page
    resp, _ = await intake_user.post(f"/letters/{first.id}/printed", {})
    assert resp.status in (200, 303)  # not waiting any more: said so, no 5xx
    await api.client.app[JOBS].wait_idle()
    async with api.client.app[DB].read() as session:
        actions = {(e.action, e.actor) for e in (await session.execute(
            select(AuditEntry))).scalars()}
    assert any(a == "outbox.printed" and "intake" in actor for a, actor in actions)
    assert {"letter.list", "letter.read"} <= {a for a, _ in actions}


async def test_the_first_letter_reads_right_on_paper(staff: Staff) -> None:
    """The citizen's first message on paper: nothing to click, so the consultant's phone
    and e-mail, and a short address to type (which opens the same page as the e-mail's
    signed link); the e-mail keeps its link."""
    api = staff.api
    await intake(api, letter_case("LET-P"), letter_case("LET-E", email="mads@example.org"))
    (letter, *_) = await letters_of(api, "LET-P")
    text = letter.body_text
    assert "klik" not in text.lower() and "/samtale/ey" not in text
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "LET-P"))
                ).unique().scalar_one()
        owner = case.owner
        email = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.kind == "citizen_first_contact",
            OutboxMessage.channel == "email"))).scalar_one()
    assert owner is not None and owner.email and owner.email in text
    assert (owner.phone or api.client.app[CONFIG].jobcentre.phone) in text
    notifier = api.client.app[NOTIFIER]
    short = notifier.talk_short_link(case)
    assert short in text and len(short.rsplit("/", 1)[1]) <= 20
    # The e-mail keeps its link to click.
    assert "klik her" in email.body_text and "/samtale/k/" not in email.body_text

    # Typed (in lower case, with a misread 0 for O and without dashes alike): on to the
    # signed page; a wrong code is refused.
    code = short.rsplit("/", 1)[1]
    ident, _, mac = code.partition("-")
    for typed in (code, f"{ident}-{mac.lower()}", f"{ident}-{mac.replace('-', '')}"
                  .replace("O", "0")):
        resp = await api.client.get(f"/samtale/k/{typed}", allow_redirects=False)
        assert resp.status == 303, typed
        assert resp.headers["Location"] == f"/samtale/{notifier.talk_token(case)}"
    page = await (await api.client.get(f"/samtale/k/{code}")).text()
    assert "Jeg vil gerne tale med min konsulent først" in page
    wrong = f"{ident}-{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    resp = await api.client.get(f"/samtale/k/{wrong}", allow_redirects=False)
    assert resp.status == 403 and "Koden virker ikke" in await resp.text()
    resp = await api.client.get("/samtale/k/abc", allow_redirects=False)
    assert resp.status == 403


async def test_the_address_is_validated_and_imported(staff: Staff) -> None:
    api = staff.api
    resp = await api.client.post("/api/cases", json=letter_case("LET-2", address="x" * 301),
                                 headers=api.auth("intake"))
    assert resp.status == 422 and "citizen.address" in await resp.text()
    browser = await staff.login("intake")
    _, form = await browser.get("/new-case")
    assert 'name="citizen_address"' in form and "Borgerens postadresse" in form
    day = (today_local() - timedelta(days=20)).isoformat()
    content = ("case_id;first_absence_day;employment;citizen_name;citizen_address\n"
               f'imp-a;{day};ledig;Åse Ø;"Åvej 3, 7400 Herning"\n')
    await browser.get("/import")
    _, preview = await upload(browser, content.encode("utf-8"))
    assert "1 ny, 0 findes allerede, 0 afvises" in as_text(preview), as_text(preview)
    _, report = await import_previewed(browser, preview)
    assert "1 oprettet" in as_text(report)
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "imp-a"))
                ).unique().scalar_one()
    assert case.citizen_address == "Åvej 3, 7400 Herning"


async def test_a_letter_too_late_is_flagged_to_the_consultant(sqlite_api: Api) -> None:
    api = sqlite_api
    data = letter_case("LET-3")
    await intake(api, data)
    notifier = api.client.app[NOTIFIER]
    async with api.client.app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "LET-3"))
                ).unique().scalar_one()
        meeting = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id))).unique().scalars().first()
        assert meeting is not None
        far = add_working_days(today_local(), 5)
        meeting.start = datetime.combine(far, datetime.min.time()).replace(hour=10)
        meeting.end = meeting.start + timedelta(hours=1)
        await notifier.moved(session, meeting)  # the citizen's letter, in time
    async with api.client.app[DB].read() as session:
        assert not (await session.execute(select(ConsultantTask).where(
            ConsultantTask.kind == "letter_too_late"))).first()
    async with api.client.app[DB].write() as session:
        meeting = await session.get(Meeting, meeting.id)
        assert meeting is not None
        soon = add_working_days(today_local(), 1)
        meeting.start = datetime.combine(soon, datetime.min.time()).replace(hour=10)
        meeting.end = meeting.start + timedelta(hours=1)
        await notifier.moved(session, meeting)
    async with api.client.app[DB].read() as session:
        (task,) = (await session.execute(select(ConsultantTask).where(
            ConsultantTask.kind == "letter_too_late"))).scalars().all()
        assert task.text.startswith("Ring til borgeren — brevet når ikke frem")
        kinds = list((await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.channel == "slack"))).scalars())
    assert kinds.count("letter_too_late") == 1


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[FakeGateway, str]]:
    async with fake_gateway("/digital-post", answers=[503]) as served:
        yield served


async def test_digital_post_delivers_letters_and_retries(
        demo_config: MunicipalityConfig, sqlite_url: str,
        gateway: tuple[FakeGateway, str]) -> None:
    fake, url = gateway
    config = mail_config(demo_config).model_copy(update={"letters": LettersConfig(
        digital_post=True, digital_post_url=url)})
    async for api in start_api(config, make_secrets(sqlite_url)):
        await intake(api, letter_case("LET-4"))
        await api.client.app[JOBS].wait_idle()
        (first, *_) = await letters_of(api, "LET-4")
        assert first.status == "pending" and first.attempts == 1  # 503: retried later
        async with api.client.app[DB].write() as session:
            row = await session.get(OutboxMessage, first.id)
            assert row is not None
            row.next_attempt_at = datetime(2000, 1, 1)
        await api.client.app[OUTBOX].deliver_due()
        (first, *_) = await letters_of(api, "LET-4")
        assert first.status == "sent"
        assert [r["case_ref"] for r in fake.received][:1] == ["LET-4"]
        assert first.message_id in fake.keys
        assert "Din fastholdelseskonsulent" in str(fake.received[0]["subject"])


async def test_a_backlog_of_letters_opens_a_page_at_a_time(
        staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    """"Breve til print" with more letters than a page holds: the oldest first, the number
    waiting in all, links to the other pages; a page past the last shows the last; each
    list's read audit names the letters it showed."""
    monkeypatch.setattr("service.outbox.service.LETTERS_PER_PAGE", 2)
    api = staff.api
    await intake(api, letter_case("LET-P1"), letter_case("LET-P2"), letter_case("LET-P3"))
    async with api.client.app[DB].read() as session:
        waiting = list((await session.execute(select(OutboxMessage.id).where(
            OutboxMessage.channel == "letter", OutboxMessage.status == "to_print")
            .order_by(OutboxMessage.id))).scalars())
    assert len(waiting) >= 3
    pages = -(-len(waiting) // 2)
    intake_user = await staff.login("intake")

    def shown(page: str) -> list[int]:
        return [i for i in waiting if f'href="/letters/{i}"' in page]

    _, first = await intake_user.get("/letters")
    assert f"Breve til print ({len(waiting)})" in first
    assert shown(first) == waiting[:2]
    assert f"Side 1 af {pages}" in first and 'href="/letters?side=2"' in first
    assert "← Forrige" not in first
    _, second = await intake_user.get("/letters?side=2")
    assert shown(second) == waiting[2:4]
    assert 'href="/letters"' in second  # back to the first page
    for beyond in (f"/letters?side={pages + 5}", "/letters?side=0", "/letters?side=x"):
        resp, page = await intake_user.get(beyond)
        assert resp.status == 200
        expected = waiting[:2] if beyond.endswith(("0", "x")) else waiting[(pages - 1) * 2:]
        assert shown(page) == expected, beyond
    await api.client.app[JOBS].wait_idle()
    async with api.client.app[DB].read() as session:
        listed = [e.details["letters"] for e in (await session.execute(
            select(AuditEntry).where(AuditEntry.action == "letter.list")
            .order_by(AuditEntry.id))).scalars()]
    assert listed[:2] == [waiting[:2], waiting[2:4]]
