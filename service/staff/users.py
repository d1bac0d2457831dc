"""Staff users of one municipality: create, list, disable/enable, new password; and the login
check with its lockout (per user and per address).

Lockout: `USER_LIMIT` failed logins for one username within `WINDOW` lock that username for
`LOCK_FOR` (counted for names that do not exist too, so the answer never tells whether a user
exists); `ADDRESS_LIMIT` failures from one address within `WINDOW` refuse that address until
its failures age out. A successful login clears the user's count. Failures older than
`WINDOW` never count: `staff_users.failed_logins` is the user's failures within the window
(since the last success or lock), recounted at every failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.config import MunicipalityConfig
from service.platform.audit import record
from service.platform.auth import ROLES, Principal, system_principal
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Consultant, LoginFailure, StaffSession, StaffUser
from service.platform.errors import Conflict, FieldError, Invalid, NotFound, field_error
from service.platform.sessions import StaffSessions, staff_principal
from service.staff.passwords import (
    hash_password,
    password_check,
    unusable_hash,
    verify_password,
)

WINDOW = timedelta(minutes=15)
USER_LIMIT = 5
ADDRESS_LIMIT = 20
LOCK_FOR = timedelta(minutes=15)
FORGET = timedelta(days=1)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

WRONG = "Forkert brugernavn eller adgangskode."
# The role a provider's claim grants when it grants several: the widest first.
ROLE_ORDER = ("admin", "manager", "intake", "consultant")
EXTERNAL_NO_ROLE = ("Du er logget ind hos kommunen, men din bruger har ingen rolle i fasthold. "
                    "Bed kommunens it-afdeling om adgang.")
EXTERNAL_NO_CONSULTANT = ("Du har rollen konsulent, men din e-mailadresse hører ikke til en "
                          "konsulent i fasthold. Bed en leder om at rette den under Konsulenter.")
EXTERNAL_UNKNOWN = ("Du er logget ind hos kommunen, men har ingen adgang til fasthold. Bed en "
                    "administrator om at oprette dig under Brugere med dit brugernavn.")
LOCKED = ("For mange mislykkede forsøg. Vent 15 minutter og prøv igen, eller bed en "
          "administrator om en ny adgangskode.")


def normal_username(username: str) -> str:
    return username.strip().lower()


@dataclass(frozen=True)
class LoginResult:
    """A login attempt: the user's id on success, else the Danish message to show."""

    user_id: int | None
    message: str = ""
    locked: bool = False


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    role: str
    consultant_key: str | None
    consultant_name: str | None
    created_at: datetime
    disabled: bool
    locked_until: datetime | None
    failed_logins: int


class StaffUsers:
    """The staff users use case (pages, the CLI and the demo call it alike)."""

    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 sessions: StaffSessions) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.sessions = sessions
        self.municipality_id = config.municipality.id

    @property
    def passwords_used(self) -> bool:
        """Whether staff log in with passwords here (not when `[staff_login.oidc]
        password_login` is false: then a new user needs none)."""
        oidc = self.config.staff_login.oidc
        return oidc is None or oidc.password_login

    # -- administration ---------------------------------------------------------------

    async def _known_consultant(self, key: str) -> bool:
        """A consultant the database has (one added in the app included), or one the
        configuration seeds it with at the service's next start."""
        if self.config.consultant(key) is not None:
            return True
        async with self.db.read() as session:
            return (await session.execute(select(Consultant.id).where(
                Consultant.municipality_id == self.municipality_id,
                Consultant.key == key))).first() is not None

    async def _check(self, username: str, role: str, consultant_key: str | None
                     ) -> list[FieldError]:
        errors: list[FieldError] = []
        if not USERNAME.match(username):
            errors.append(field_error("username", "must be 2-64 characters: lower-case a-z, "
                                      "digits and . _ @ -, starting with a letter or digit",
                                      "username_format"))
        if role not in ROLES:
            errors.append(field_error("role", f"must be one of {', '.join(ROLES)}",
                                      "not_one_of", {"allowed": ", ".join(ROLES)}))
        if role == "consultant":
            if not consultant_key:
                errors.append(field_error("consultant_id", "a consultant user needs a "
                                          "configured consultant", "consultant_required"))
            elif not await self._known_consultant(consultant_key):
                errors.append(field_error("consultant_id", f"unknown consultant "
                                          f"{consultant_key!r}", "unknown_consultant",
                                          {"consultant_id": consultant_key}))
        elif consultant_key:
            errors.append(field_error("consultant_id", "only a consultant user has a "
                                      "consultant", "consultant_only"))
        return errors

    async def create(self, username: str, role: str, password: str,
                     consultant_key: str | None = None, principal: Principal | None = None
                     ) -> UserView:
        """A new user. Raises Invalid naming the field, Conflict if the name is taken."""
        username = normal_username(username)
        consultant_key = consultant_key or None
        errors = await self._check(username, role, consultant_key)
        # Only the municipality's own login: a password nobody knows (never asked for).
        unusable = not password and not self.passwords_used
        problem = None if unusable else password_check(password, username)
        if problem:
            errors.append(field_error("password", *problem))
        if errors:
            raise Invalid(errors)
        password_hash = await unusable_hash() if unusable else await hash_password(password)
        async with self.db.write() as session:
            taken = (await session.execute(select(StaffUser.id).where(
                StaffUser.municipality_id == self.municipality_id,
                StaffUser.username == username))).first()
            if taken is not None:
                raise Conflict(f"username {username!r} is taken", "username_taken",
                               {"username": username})
            user = StaffUser(municipality_id=self.municipality_id, username=username,
                             password_hash=password_hash, role=role,
                             consultant_key=consultant_key, failed_logins=0)
            session.add(user)
            await session.flush()
            record(session, principal, self.municipality_id, "staff.user_created",
                   details={"user": username, "user_role": role})
            return self._view(user)

    def _view(self, user: StaffUser, names: dict[str, str] | None = None) -> UserView:
        configured = self.config.consultant(user.consultant_key) if user.consultant_key \
            else None
        name = (names or {}).get(user.consultant_key or "") or (
            configured.name if configured else None)
        locked = as_utc(user.locked_until) if user.locked_until else None
        if locked is not None and locked <= self.clock.utcnow():
            locked = None
        return UserView(id=user.id, username=user.username, role=user.role,
                        consultant_key=user.consultant_key,
                        consultant_name=name,
                        created_at=as_utc(user.created_at),
                        disabled=user.disabled_at is not None, locked_until=locked,
                        failed_logins=user.failed_logins)

    async def list(self) -> list[UserView]:
        async with self.db.read() as session:
            users = (await session.execute(select(StaffUser).where(
                StaffUser.municipality_id == self.municipality_id
            ).order_by(StaffUser.username))).scalars().all()
            names = dict((await session.execute(select(Consultant.key, Consultant.name).where(
                Consultant.municipality_id == self.municipality_id))).all())
            return [self._view(user, names) for user in users]

    async def _user(self, session: AsyncSession, user_id: int) -> StaffUser:
        user = await session.get(StaffUser, user_id)
        if user is None or user.municipality_id != self.municipality_id:
            raise NotFound("no such user", "user_not_found")
        return user

    async def set_disabled(self, user_id: int, disabled: bool, principal: Principal
                           ) -> UserView:
        """Disable (every session ends at once) or enable a user. An admin cannot disable
        themself (someone must be left to undo it)."""
        if disabled and user_id == principal.key_id and principal.role == "admin":
            raise Conflict("you cannot disable yourself", "cannot_disable_self")
        async with self.db.write() as session:
            user = await self._user(session, user_id)
            user.disabled_at = self.clock.utcnow() if disabled else None
            if disabled:
                await session.execute(delete(StaffSession).where(
                    StaffSession.user_id == user_id))
            record(session, principal, self.municipality_id,
                   "staff.user_disabled" if disabled else "staff.user_enabled",
                   details={"user": user.username})
            return self._view(user)

    async def set_password(self, user_id: int, password: str, principal: Principal | None
                           ) -> UserView:
        """A new password; ends the user's sessions and lifts a lockout."""
        async with self.db.read() as session:
            username = (await self._user(session, user_id)).username
        problem = password_check(password, username)
        if problem:
            raise Invalid.field("password", *problem)
        password_hash = await hash_password(password)
        async with self.db.write() as session:
            user = await self._user(session, user_id)
            user.password_hash = password_hash
            user.failed_logins = 0
            user.locked_until = None
            await session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
            await session.execute(delete(LoginFailure).where(
                LoginFailure.municipality_id == self.municipality_id,
                LoginFailure.username == user.username))
            record(session, principal, self.municipality_id, "staff.password_set",
                   details={"user": user.username})
            return self._view(user)

    async def find(self, username: str) -> UserView | None:
        async with self.db.read() as session:
            user = (await session.execute(select(StaffUser).where(
                StaffUser.municipality_id == self.municipality_id,
                StaffUser.username == normal_username(username)))).scalar_one_or_none()
            return self._view(user) if user is not None else None

    async def has_password(self, username: str, password: str) -> bool:
        """Whether `password` is the user's (a check of a remembered password, not a login:
        nothing is recorded, no session begun)."""
        async with self.db.read() as session:
            password_hash = (await session.execute(select(StaffUser.password_hash).where(
                StaffUser.municipality_id == self.municipality_id,
                StaffUser.username == normal_username(username)))).scalar_one_or_none()
        return password_hash is not None and await verify_password(password_hash, password)

    # -- login ------------------------------------------------------------------------

    async def _locked(self, session: AsyncSession, username: str, address: str, now: datetime
                      ) -> bool:
        since = now - WINDOW
        by_user = (await session.execute(select(func.count(LoginFailure.id)).where(
            LoginFailure.municipality_id == self.municipality_id,
            LoginFailure.username == username, LoginFailure.at > since))).scalar_one()
        if by_user >= USER_LIMIT:
            return True
        by_address = (await session.execute(select(func.count(LoginFailure.id)).where(
            LoginFailure.address == address, LoginFailure.at > since))).scalar_one()
        return bool(by_address >= ADDRESS_LIMIT)

    async def login(self, username: str, password: str, address: str) -> LoginResult:
        """Check a login. Never says whether the username exists: an unknown name, a wrong
        password and a disabled user get the same answer, and the lockout counts them all."""
        username = normal_username(username)[:64]
        now = self.clock.utcnow()
        async with self.db.read() as session:
            if await self._locked(session, username, address, now):
                return LoginResult(None, LOCKED, locked=True)
            user = (await session.execute(select(StaffUser).where(
                StaffUser.municipality_id == self.municipality_id,
                StaffUser.username == username))).scalar_one_or_none()
            locked_until = as_utc(user.locked_until) if user and user.locked_until else None
        if locked_until is not None and locked_until > now:
            return LoginResult(None, LOCKED, locked=True)
        good = await verify_password(user.password_hash if user else None, password)
        if good and user is not None and user.disabled_at is None:
            async with self.db.write() as session:
                row = await self._user(session, user.id)
                row.failed_logins = 0
                row.locked_until = None
                await session.execute(delete(LoginFailure).where(
                    LoginFailure.municipality_id == self.municipality_id,
                    LoginFailure.username == username))
                record(session, staff_principal(row), self.municipality_id, "staff.login")
            return LoginResult(user.id)
        async with self.db.write() as session:
            # Failures older than any window are forgotten (the table stays small).
            await session.execute(delete(LoginFailure).where(LoginFailure.at < now - FORGET))
            session.add(LoginFailure(municipality_id=self.municipality_id, username=username,
                                     address=address[:64], at=now))
            await session.flush()
            if user is not None:
                row = await self._user(session, user.id)
                # Only failures within the window count (and none from before a lock).
                since = now - WINDOW
                if row.locked_until is not None:
                    since = max(since, as_utc(row.locked_until) - LOCK_FOR)
                row.failed_logins = (await session.execute(select(
                    func.count(LoginFailure.id)).where(
                        LoginFailure.municipality_id == self.municipality_id,
                        LoginFailure.username == username, LoginFailure.at > since))
                ).scalar_one()
                if row.failed_logins >= USER_LIMIT:
                    row.locked_until = now + LOCK_FOR
                    row.failed_logins = 0
                await session.flush()
            locked = await self._locked(session, username, address, now)
        return LoginResult(None, LOCKED if locked else WRONG, locked=locked)

    async def external_login(self, username: str, via: str, *,
                             roles: list[str] | None = None, email: str | None = None
                             ) -> LoginResult:
        """A login the municipality's identity provider vouched for: `_external_login`."""
        try:
            return await self._external_login(username, via, roles, email)
        except IntegrityError:
            # Two first logins of one person at once (two tabs): the other made the user.
            return await self._external_login(username, via, roles, email)

    async def _external_login(self, username: str, via: str, roles: list[str] | None,
                              email: str | None) -> LoginResult:
        """The login the provider vouched for (`via`: "oidc"); no password, no lockout (the
        provider has its own). `roles` None: the user must exist here and be active. `roles`
        given (the provider's claim, mapped): the provider decides — the user is made at the
        first login and gets the widest role granted (`ROLE_ORDER`; a consultant: the active
        consultant whose e-mail is `email`), and a user disabled here stays out. Refusals are
        audited with the username the provider gave (a staff identity) and why."""
        username = normal_username(username)[:64]
        async with self.db.read() as session:
            user = (await session.execute(select(StaffUser).where(
                StaffUser.municipality_id == self.municipality_id,
                StaffUser.username == username))).scalar_one_or_none()
        why, message = self._external_refusal(username, user, roles)
        consultant_key = None
        role = next((r for r in ROLE_ORDER if r in (roles or ())), None)
        if why is None and role == "consultant":
            consultant_key = await self._consultant_by_email(email)
            if consultant_key is None:
                why, message = "no_consultant", EXTERNAL_NO_CONSULTANT
        if why is not None:
            async with self.db.write() as session:
                record(session, None, self.municipality_id, "staff.login_refused",
                       details={"username": username, "via": via, "why": why})
            return LoginResult(None, message)
        unusable = await unusable_hash() if user is None else ""
        changed = False
        async with self.db.write() as session:
            if user is None:  # (only with roles: a user unknown here was refused above)
                row = StaffUser(municipality_id=self.municipality_id, username=username,
                                password_hash=unusable, role=role,
                                consultant_key=consultant_key, failed_logins=0)
                session.add(row)
                await session.flush()
                record(session, system_principal(self.municipality_id, via),
                       self.municipality_id, "staff.user_created",
                       details={"username": username, "role": role, "via": via})
            else:
                row = await self._user(session, user.id)
                if role is not None and (row.role, row.consultant_key) != (role,
                                                                           consultant_key):
                    record(session, system_principal(self.municipality_id, via),
                           self.municipality_id, "staff.user_role_changed",
                           details={"username": username, "role_before": row.role,
                                    "role": role, "via": via})
                    row.role, row.consultant_key = role, consultant_key
                    changed = True
            row.failed_logins = 0
            row.locked_until = None
            user_id = row.id
            if changed:
                # the sessions under the old role end; this login starts a new one
                await session.execute(delete(StaffSession).where(
                    StaffSession.user_id == user_id,
                    StaffSession.municipality_id == self.municipality_id))
            record(session, staff_principal(row), self.municipality_id, "staff.login",
                   details={"via": via})
        return LoginResult(user_id)

    @staticmethod
    def _external_refusal(username: str, user: StaffUser | None, roles: list[str] | None
                          ) -> tuple[str | None, str]:
        """Why a login the provider vouched for is refused here, and what the person is told
        (None: it is not)."""
        if user is not None and user.disabled_at is not None:
            return "disabled", EXTERNAL_UNKNOWN
        if roles is None:
            return ("unknown", EXTERNAL_UNKNOWN) if user is None else (None, "")
        if not roles:
            return "no_role", EXTERNAL_NO_ROLE
        if user is None and not USERNAME.match(username):
            return "username_format", EXTERNAL_UNKNOWN
        return None, ""

    async def _consultant_by_email(self, email: str | None) -> str | None:
        """The key of the active consultant whose e-mail address is `email`."""
        if not email:
            return None
        async with self.db.read() as session:
            return (await session.execute(select(Consultant.key).where(
                Consultant.municipality_id == self.municipality_id, Consultant.active,
                func.lower(Consultant.email) == email.lower()).limit(1))).scalar_one_or_none()

    async def logout(self, cookie_value: str, principal: Principal) -> None:
        await self.sessions.end(cookie_value)
        async with self.db.write() as session:
            record(session, principal, self.municipality_id, "staff.logout")

