"""Over https the session cookie is Secure (and still HttpOnly, SameSite=Lax): the app served
with TLS (a self-signed certificate made for the test), a real client logging in."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service.app import create_app
from service.keys import STAFF_USERS
from service.platform.sessions import SESSION_COOKIE
from tests.support import _CSRF_FIELD, SOLVER, STAFF_PASSWORD, make_secrets

NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # fixed: the test reads no wall clock


def _certificate(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE).not_valid_after(NOT_BEFORE + dt.timedelta(days=36500))
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def test_the_session_cookie_is_secure_over_https(tmp_path: Path, demo_config: Any,
                                                       sqlite_url: str) -> None:
    app = create_app(demo_config, make_secrets(sqlite_url), solver=SOLVER)
    server = TestServer(app)
    await server.start_server(ssl=_certificate(tmp_path))
    try:
        await app[STAFF_USERS].create("test-admin", "admin", STAFF_PASSWORD)
        base = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(f"{base}/login", ssl=False) as response:
                page = await response.text()
                login_cookie = response.cookies["fasthold_login_csrf"]
            assert login_cookie["secure"] and login_cookie["httponly"]
            token = _CSRF_FIELD.search(page)
            assert token
            async with session.post(f"{base}/login", ssl=False, allow_redirects=False, data={
                    "username": "test-admin", "password": STAFF_PASSWORD,
                    "csrf_token": token.group(1)}) as response:
                assert response.status == 303
                cookie = response.cookies[SESSION_COOKIE]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
        assert cookie["path"] == "/"
    finally:
        await server.close()
