"""`/login/oidc` and `/login/oidc/callback`: staff log in with the municipality's identity
provider (`service.staff.oidc`, `[staff_login.oidc]`).

Leaving: a new attempt (state, nonce, PKCE verifier, where to go afterwards) is kept in a
signed, HttpOnly cookie for ten minutes (on the clock), and the browser goes to the provider.
Coming back: the cookie's state must be the one the provider returns; the code is exchanged
and the ID token checked; the username must be an active user under Brugere. Then a new
session starts exactly as after a password login. Every refusal is a Danish login page; the
log says why, without the token.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web
from itsdangerous import BadSignature, URLSafeSerializer

from service.keys import CLOCK, CONFIG, OIDC, SECRETS, STAFF_USERS
from service.platform.sessions import same_token
from service.staff.login import logged_in, login_page, safe_next
from service.staff.oidc import PROVIDER_SESSION_COOKIE, Attempt, OidcRefused

log = logging.getLogger("fasthold.staff")

COOKIE = "fasthold_oidc"
COOKIE_PATH = "/login/oidc"
VALID_FOR = timedelta(minutes=10)
CALLBACK = "/login/oidc/callback"

EXPIRED = "Login-forsøget var udløbet eller ufuldstændigt. Prøv igen."
PROVIDER_DOWN = "Kommunens login kan ikke nås lige nu. Prøv igen om lidt."
FAILED = "Kommunens login lykkedes ikke. Prøv igen."
CANCELLED = "Du afbrød kommunens login."


def _signer(request: web.Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app[SECRETS].secret_key, salt="fasthold-oidc-login")


def redirect_uri(request: web.Request) -> str:
    """Where the provider sends the browser back: the municipality's own address (`[mail]
    link_base_url`, what is registered with the provider), not what a proxy passed on."""
    return request.app[CONFIG].mail.link(CALLBACK)


async def start(request: web.Request) -> web.Response:
    client = request.app.get(OIDC)
    if client is None:
        raise web.HTTPNotFound()
    attempt = Attempt.new(safe_next(request.query.get("next")) or "")
    try:
        target = await client.authorization_url(attempt, redirect_uri(request))
    except OidcRefused as exc:
        log.warning("OIDC login could not start: %s", exc.reason)
        return login_page(request, 502, PROVIDER_DOWN)
    expires = request.app[CLOCK].utcnow() + VALID_FOR
    value = _signer(request).dumps({"state": attempt.state, "nonce": attempt.nonce,
                                    "verifier": attempt.verifier, "next": attempt.next,
                                    "expires": int(expires.timestamp())})
    response = web.HTTPFound(target, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE, value, httponly=True, samesite="Lax", secure=request.secure,
                        path=COOKIE_PATH, max_age=int(VALID_FOR.total_seconds()))
    raise response


def _attempt(request: web.Request) -> Attempt | None:
    """The attempt this browser started, if it is still valid."""
    try:
        data = _signer(request).loads(request.cookies.get(COOKIE, ""))
    except BadSignature:
        return None
    if not isinstance(data, dict) or \
            int(data.get("expires", 0)) < request.app[CLOCK].utcnow().timestamp():
        return None
    try:
        return Attempt(str(data["state"]), str(data["nonce"]), str(data["verifier"]),
                       safe_next(str(data["next"])) or "")
    except KeyError:
        return None


async def callback(request: web.Request) -> web.Response:
    client = request.app.get(OIDC)
    if client is None:
        raise web.HTTPNotFound()
    attempt = _attempt(request)
    if attempt is None or not same_token(attempt.state, request.query.get("state")):
        return login_page(request, 400, EXPIRED)
    if "error" in request.query:
        log.info("OIDC login ended at the provider: %s", request.query.get("error", "")[:64])
        return login_page(request, 401, CANCELLED)
    code = request.query.get("code", "")
    if not code:
        return login_page(request, 400, EXPIRED)
    try:
        identity = await client.identity(code, attempt, redirect_uri(request))
    except OidcRefused as exc:
        log.warning("OIDC login refused: %s", exc.reason)
        return login_page(request, 401, FAILED)
    result = await request.app[STAFF_USERS].external_login(
        identity.username, "oidc", roles=identity.roles, email=identity.email)
    if result.user_id is None:
        return login_page(request, 403, result.message)
    response = await logged_in(request, result.user_id, attempt.next)
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    response.set_cookie(PROVIDER_SESSION_COOKIE, "1", httponly=True, samesite="Lax",
                        secure=request.secure, path="/")
    raise response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login/oidc", start, name="login_oidc")
    app.router.add_get(CALLBACK, callback, name="login_oidc_callback")
