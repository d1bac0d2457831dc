"""A local OpenID Connect provider for the staff login's tests: discovery, an authorization
endpoint that signs the configured user in at once (or refuses), a token endpoint that checks
the code, the redirect URI, the client and the PKCE verifier, and a JWKS — on loopback, its
ID tokens signed with a key made for the test. `trouble` makes it misbehave one way."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "fasthold-test"
CLIENT_SECRET = "idp-test-secret"


@cache
def _key(kid: str) -> RSAKey:
    """A signing key per key id, made once per test process (2048-bit RSA takes a while)."""
    return RSAKey.generate_key(2048, {"kid": kid, "use": "sig", "alg": "RS256"})


class FakeIdp:
    def __init__(self, now: Callable[[], datetime], client_secret: str | None = CLIENT_SECRET
                 ) -> None:
        self.now = now
        self.client_secret = client_secret
        self.key = _key("k1")
        self.user: str | None = "lene"
        self.email: str | None = None  # the token's `email`, when set
        self.roles: list[str] | None = None  # the token's `roles` claim, when set
        # "deny" | "wrong_aud" | "other_key" | "expired" | "wrong_nonce" | "no_username" |
        # "wrong_issuer"
        self.trouble: str | None = None
        self.codes: dict[str, dict[str, str]] = {}
        self.jwks_fetches = 0
        self.logouts: list[dict[str, str]] = []  # the end-session requests it got
        self.offers_logout = True  # whether its metadata has an end_session_endpoint
        # how the client authenticates at the token endpoint: "post" (in the form) or "basic"
        self.auth_method = "post"
        self.server: TestServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def rotate(self) -> None:
        """A new signing key (a new kid); the JWKS then has only it."""
        self.key = _key("k2")

    async def start(self) -> FakeIdp:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        app.router.add_get("/jwks", self.jwks)
        app.router.add_get("/logout", self.logout)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def discovery(self, request: web.Request) -> web.Response:
        issuer = self.issuer + ("/other" if self.trouble == "wrong_issuer" else "")
        return web.json_response({
            "issuer": issuer, "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [f"client_secret_{self.auth_method}"],
            **({"end_session_endpoint": f"{self.issuer}/logout"} if self.offers_logout
               else {})})

    async def logout(self, request: web.Request) -> web.Response:
        """Ends the (pretended) provider session and sends the browser back."""
        self.logouts.append(dict(request.query))
        raise web.HTTPFound(request.query["post_logout_redirect_uri"])

    async def jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        return web.json_response(KeySet([self.key]).as_dict(private=False))

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID
        assert q["code_challenge_method"] == "S256" and "openid" in q["scope"].split()
        back = q["redirect_uri"]
        if self.trouble == "deny":
            denied = urlencode({"error": "access_denied", "state": q["state"]})
            raise web.HTTPFound(f"{back}?{denied}")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"],
                            "redirect_uri": back}
        raise web.HTTPFound(f"{back}?{urlencode({'code': code, 'state': q['state']})}")

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = self.codes.pop(str(form.get("code")), None)
        if self.auth_method == "basic":
            header = request.headers.get("Authorization", "")
            expected = base64.b64encode(f"{CLIENT_ID}:{self.client_secret}".encode()).decode()
            authenticated = header == f"Basic {expected}" and "client_secret" not in form
        else:
            authenticated = not self.client_secret or form.get("client_secret") == \
                self.client_secret
        if grant is None or form.get("grant_type") != "authorization_code" \
                or form.get("redirect_uri") != grant["redirect_uri"] \
                or form.get("client_id") != CLIENT_ID or not authenticated:
            return web.json_response({"error": "invalid_grant"}, status=400)
        verifier = str(form.get("code_verifier", "")).encode("ascii")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if challenge.decode("ascii") != grant["challenge"]:
            return web.json_response({"error": "invalid_grant"}, status=400)
        now = self.now()
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": "sub-" + (self.user or "x"),
            "aud": "someone-else" if self.trouble == "wrong_aud" else CLIENT_ID,
            "iat": int(now.timestamp()),
            "exp": int((now - timedelta(minutes=10) if self.trouble == "expired"
                        else now + timedelta(minutes=5)).timestamp()),
            "nonce": "not-yours" if self.trouble == "wrong_nonce" else grant["nonce"]}
        if self.user and self.trouble != "no_username":
            claims["preferred_username"] = self.user
        if self.email is not None:
            claims["email"] = self.email
        if self.roles is not None:
            claims["roles"] = self.roles
        # "other_key": signed with another key under this key's id (a forgery)
        key = _key("forger") if self.trouble == "other_key" else self.key
        token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)
        return web.json_response({"access_token": "at", "token_type": "Bearer",
                                  "id_token": token})
