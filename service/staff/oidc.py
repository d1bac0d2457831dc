"""Staff login with the municipality's identity provider (OpenID Connect, `[staff_login.oidc]`).

The authorization code flow with PKCE (RFC 7636, S256) and a nonce: the browser is sent to the
provider's authorization endpoint; the provider sends it back with a code; fasthold exchanges
the code (with the PKCE verifier, and the client secret when there is one) for an ID token,
checks its signature against the provider's published keys (JWKS; fetched again once when a
token names a key not yet seen — the provider rotated its keys) and its claims — issuer,
audience, expiry and issue time against the injected clock (a minute's leeway), the nonce —
and reads the username from it. Who the person may be in fasthold is fasthold's own: the
username must be an active user under Brugere (`StaffUsers.external_login`).

The provider's metadata (`/.well-known/openid-configuration`) is read at the first login and
kept for an hour; its issuer must be the configured one.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from service.clock import Clock
from service.config import ConfigError, OidcConfig

METADATA_FOR = timedelta(hours=1)
# Set at a login through the provider (HttpOnly, no value worth stealing): the logout then
# ends the provider's session too, where the provider has an `end_session_endpoint`.
PROVIDER_SESSION_COOKIE = "fasthold_oidc_session"
TIMEOUT = aiohttp.ClientTimeout(total=10)
LEEWAY_SECONDS = 60
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]


def client_secret(config: OidcConfig, env: Mapping[str, str] | None = None) -> str | None:
    """The client secret from the environment variable the configuration names (None: the
    provider takes PKCE alone). A name given but not set is a configuration error."""
    if config.client_secret_env is None:
        return None
    value = (os.environ if env is None else env).get(config.client_secret_env, "")
    if not value:
        raise ConfigError(f"environment: {config.client_secret_env} "
                          "(staff_login.oidc.client_secret_env) is not set")
    return value


class OidcRefused(Exception):
    """The login did not go through; `reason` is for the log (no token, no personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """Who the provider says the person is: the username (lower-case), their e-mail address
    if the token has one, and — when `roles_claim` is set — the roles it grants here."""

    username: str
    email: str | None
    roles: list[str] | None


@dataclass(frozen=True)
class Attempt:
    """One login under way: kept (signed) in the browser between leaving and coming back."""

    state: str
    nonce: str
    verifier: str
    next: str

    @classmethod
    def new(cls, next_path: str) -> Attempt:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24),
                   secrets.token_urlsafe(48), next_path)

    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """One municipality's identity provider, as a client of it."""

    def __init__(self, config: OidcConfig, clock: Clock, client_secret: str | None) -> None:
        self.config = config
        self.clock = clock
        self.client_secret = client_secret
        self._metadata: dict[str, Any] | None = None
        self._metadata_at: datetime | None = None
        self._keys: KeySet | None = None

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.get(url) as answer:
                if answer.status != 200:
                    raise OidcRefused(f"{url} answered {answer.status}")
                body = await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OidcRefused(f"{url}: {type(exc).__name__}") from None
        if not isinstance(body, dict):
            raise OidcRefused(f"{url} did not answer a JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        now = self.clock.utcnow()
        if self._metadata is None or self._metadata_at is None \
                or now - self._metadata_at > METADATA_FOR:
            issuer = self.config.issuer.rstrip("/")
            found = await self._get_json(f"{issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != issuer:
                raise OidcRefused("the provider's metadata names another issuer")
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(name), str):
                    raise OidcRefused(f"the provider's metadata has no {name}")
            self._metadata, self._metadata_at = found, now
            self._keys = None
        return self._metadata

    async def authorization_url(self, attempt: Attempt, redirect_uri: str) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        query = urlencode({
            "response_type": "code", "client_id": self.config.client_id,
            "redirect_uri": redirect_uri, "scope": "openid profile email",
            "state": attempt.state, "nonce": attempt.nonce,
            "code_challenge": attempt.challenge(), "code_challenge_method": "S256"})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def logout_url(self, back_to: str) -> str | None:
        """Where to send the browser to end its session at the provider too (OpenID Connect
        RP-initiated logout), coming back to `back_to`; None when the provider offers none
        or cannot be reached (then the logout is fasthold's alone)."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except OidcRefused:
            return None
        if not isinstance(endpoint, str) or not endpoint:
            return None
        query = urlencode({"client_id": self.config.client_id,
                           "post_logout_redirect_uri": back_to})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            found = await self._get_json((await self.metadata())["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(found)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise OidcRefused(f"the provider's keys cannot be read: {exc}") from None
        return self._keys

    async def _id_token(self, code: str, attempt: Attempt, redirect_uri: str) -> str:
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri, "client_id": self.config.client_id,
                "code_verifier": attempt.verifier}
        metadata = await self.metadata()
        headers: dict[str, str] = {}
        if self.client_secret:
            # In the form (client_secret_post) unless the provider takes only HTTP Basic
            # (RFC 6749 2.3.1: each part form-encoded, then base64).
            methods = metadata.get("token_endpoint_auth_methods_supported") or []
            if "client_secret_post" not in methods and "client_secret_basic" in methods:
                pair = f"{quote(self.config.client_id, safe='')}:" \
                       f"{quote(self.client_secret, safe='')}"
                headers["Authorization"] = "Basic " + base64.b64encode(
                    pair.encode("utf-8")).decode("ascii")
            else:
                form["client_secret"] = self.client_secret
        endpoint = metadata["token_endpoint"]
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as http, \
                    http.post(endpoint, data=form, headers=headers) as answer:
                body = await answer.json(content_type=None)
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OidcRefused(f"token endpoint: {type(exc).__name__}") from None
        if status != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise OidcRefused(f"token endpoint answered {status} {error or ''}".strip())
        token = body.get("id_token")
        if not isinstance(token, str):
            raise OidcRefused("the token endpoint gave no ID token")
        return token

    async def identity(self, code: str, attempt: Attempt, redirect_uri: str) -> Identity:
        """Exchange the code; who the checked ID token says the person is."""
        token = await self._id_token(code, attempt, redirect_uri)
        claims = await self._claims(token)
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self.clock.utcnow().timestamp()), leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": (await self.metadata())["issuer"]},
            aud={"essential": True, "value": self.config.client_id},
            exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": attempt.nonce})
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcRefused(f"the ID token's claims: {exc.error}") from None
        name = claims.get(self.config.username_claim)
        if not isinstance(name, str) or not name.strip():
            raise OidcRefused(f"the ID token has no {self.config.username_claim}")
        email = claims.get("email")
        return Identity(name.strip().lower(),
                        email.strip().lower() if isinstance(email, str) else None,
                        self._roles(claims))

    def _roles(self, claims: dict[str, Any]) -> list[str] | None:
        """fasthold's roles the token's roles claim grants (None: roles are not the
        provider's to give here)."""
        if not self.config.roles_claim:
            return None
        values = claims.get(self.config.roles_claim) or []
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            return []
        return sorted({self.config.roles[v] for v in values
                       if isinstance(v, str) and v in self.config.roles})

    async def _claims(self, token: str) -> dict[str, Any]:
        for refresh in (False, True):
            try:
                return dict(jwt.decode(token, await self._key_set(refresh),
                                       algorithms=ALGORITHMS).claims)
            except JoseError as exc:
                if refresh or exc.error not in ("invalid_key_id", "missing_key"):
                    raise OidcRefused(f"the ID token: {exc.error}") from None
            except (ValueError, KeyError, TypeError):
                raise OidcRefused("the ID token cannot be read") from None
        raise OidcRefused("the ID token's key is unknown")
