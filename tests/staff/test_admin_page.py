"""The admin's user page: create users (validated, in Danish next to the fields), disable
and enable them (a disabled user's sessions end at once), set a new password; admins only."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from service.keys import DB
from service.platform.db.models import AuditEntry, StaffUser
from tests.support import Staff, log_in


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def _user_id(staff: Staff, username: str) -> int:
    async with staff.api.client.app[DB].read() as session:
        return (await session.execute(select(StaffUser.id).where(
            StaffUser.username == username))).scalar_one()


async def test_admin_creates_a_user_who_can_log_in(staff: Staff) -> None:
    admin = await staff.login("admin")
    response, page = await admin.post("/admin/users", {
        "username": "Mette.Ærø", "role": "consultant", "consultant_id": "", "password": "kort"})
    assert response.status == 422
    text = _text(page)
    assert "Brugernavnet skal være 2-64 tegn" in text
    assert "En bruger med rollen konsulent skal knyttes til en konsulent." in text
    assert "Adgangskoden skal være mindst 10 tegn." in text
    assert 'value="Mette.Ærø"' in page
    response, page = await admin.post("/admin/users", {
        "username": "mette", "role": "consultant", "consultant_id": "bo",
        "password": "mettes-lange-kode"})
    assert response.status == 200 and "Brugeren er oprettet." in page
    assert "Bo Nielsen" in _text(page)
    response, page = await admin.post("/admin/users", {
        "username": "mette", "role": "intake", "password": "en-anden-lang-kode"})
    assert response.status == 409 and "findes allerede" in _text(page)
    response, page = await admin.post("/admin/users", {
        "username": "per", "role": "manager", "consultant_id": "bo",
        "password": "pers-lange-kode-1"})
    assert response.status == 422 and "Kun brugere med rollen konsulent" in _text(page)

    browser = await staff.browser()
    response, page = await log_in(browser, "mette", "mettes-lange-kode")
    assert response.status == 200 and "mette · Fastholdelseskonsulent" in page
    async with staff.api.client.app[DB].read() as session:
        row = (await session.execute(select(StaffUser).where(StaffUser.username == "mette"))
               ).scalar_one()
        created = (await session.execute(select(AuditEntry).where(
            AuditEntry.action == "staff.user_created"))).scalars().all()
    assert row.password_hash.startswith("$argon2id$") and "mettes" not in row.password_hash
    assert row.consultant_key == "bo"
    assert any(e.details.get("user") == "mette" and e.actor == "admin:test-admin"
               for e in created)


async def test_disabling_a_user_ends_their_session_at_once(staff: Staff) -> None:
    manager = await staff.login("manager")
    admin = await staff.login("admin")
    manager_id = await _user_id(staff, "test-manager")
    # Each row's buttons name their user (the same words in every row otherwise).
    _, page = await admin.get("/admin/users")
    assert 'aria-label="Deaktivér test-manager">Deaktivér</button>' in page
    response, page = await admin.post(f"/admin/users/{manager_id}/state",
                                      {"action": "disable"})
    assert response.status == 200 and "Brugeren er deaktiveret." in page
    assert 'aria-label="Aktivér test-manager">Aktivér</button>' in page
    response, _ = await manager.get("/cases")
    assert response.url.path == "/login"
    response, page = await log_in(await staff.browser(), "test-manager")
    assert response.status == 401 and "Forkert brugernavn eller adgangskode." in page
    response, page = await admin.post(f"/admin/users/{manager_id}/state", {"action": "enable"})
    assert "Brugeren er aktiveret igen." in page
    await staff.login("manager")
    # An admin cannot lock themself out.
    admin_id = await _user_id(staff, "test-admin")
    response, page = await admin.post(f"/admin/users/{admin_id}/state", {"action": "disable"})
    assert response.status == 409 and "Du kan ikke deaktivere dig selv." in page


async def test_a_new_password_ends_sessions_and_is_checked(staff: Staff) -> None:
    intake = await staff.login("intake")
    admin = await staff.login("admin")
    user_id = await _user_id(staff, "test-intake")
    response, page = await admin.post(f"/admin/users/{user_id}/password",
                                      {"password": "test-intake"})
    assert response.status == 422
    response, page = await admin.post(f"/admin/users/{user_id}/password", {"password": "x"})
    assert response.status == 422 and "mindst 10 tegn" in _text(page)
    assert f'id="f-password-{user_id}"' in page and 'aria-invalid="true"' in page
    response, _ = await admin.post(f"/admin/users/{user_id}/password",
                                   {"password": "helt-ny-kode-123"})
    assert response.status == 200
    response, _ = await intake.get("/cases")
    assert response.url.path == "/login"
    response, _ = await admin.post("/admin/users/99999/password", {"password": "x" * 12})
    assert response.status == 404
    response, _ = await admin.post("/admin/users/abc/state", {"action": "disable"})
    assert response.status == 404
