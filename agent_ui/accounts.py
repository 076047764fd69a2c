"""Sign-in accounts: create, set a password, disable, list — one service for the CLI, the API and the
admin page, so the rules hold however an account is made.

Password rules (`check_password`): at least `MIN_PASSWORD_LENGTH` characters, not the login (in any
case), not one character repeated. A password an admin chose (a new account, a reset, the first
admin's generated password) must be changed at the first sign-in: `User.must_change_password`; until
then that session answers only the password page (`agent_ui.auth.connection_user`).

Every change is on the hash-chained audit log (`admin.user_create`, `admin.user_update` with before
and after, `admin.password_set`, `auth.password_changed`); no password or hash ever goes there.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.models import Role, User, WebSession
from agent_ui.passwords import hash_password
from agent_ui.trail import AuditTrail
from config.database import utcnow

MIN_PASSWORD_LENGTH = 10
LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,40}$")
FIRST_ADMIN = "admin"

Hasher = Callable[[str], Awaitable[str]]


class AccountError(Exception):
    """An account change refused; `error_id` is stable, `field` names the input at fault."""

    def __init__(
        self, status: int, error_id: str, message: str, field: str | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.field = field
        self.reason = reason  # which password rule, for `weak_password` (PASSWORD_RULES)


# The password rules by a stable code (pages translate it: agent_ui.i18n.admin `password.rule.*`).
PASSWORD_RULES: dict[str, str] = {
    "too_short": f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
    "is_login": "the password may not be the login",
    "one_character": "the password may not be one character repeated",
}


def password_rule_broken(login: str, password: str) -> str | None:
    """The code (PASSWORD_RULES) of the rule `password` breaks for `login`, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if password.strip().casefold() == login.strip().casefold():
        return "is_login"
    if len(set(password)) == 1:
        return "one_character"
    return None


def password_problem(login: str, password: str) -> str | None:
    """Why `password` is refused for `login`, or None."""
    rule = password_rule_broken(login, password)
    return PASSWORD_RULES[rule] if rule is not None else None


def check_password(login: str, password: str) -> None:
    rule = password_rule_broken(login, password)
    if rule is not None:
        raise AccountError(422, "weak_password", PASSWORD_RULES[rule], "password", reason=rule)


def generate_password() -> str:
    """A one-time password to hand over (16 URL-safe characters, ~96 bits)."""
    return secrets.token_urlsafe(12)


async def _blocking_hash(password: str) -> str:
    return hash_password(password)


@dataclass(frozen=True, slots=True)
class AccountView:
    login: str
    name: str
    role: Role
    active: bool
    language: str
    must_change_password: bool


def _view(user: User) -> AccountView:
    return AccountView(
        user.login, user.name, Role(user.role), user.active, user.language, user.must_change_password
    )


class Accounts:
    """The account rules over the database; `hasher` runs Argon2 (off the loop in the web app)."""

    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        trail: AuditTrail,
        hasher: Hasher = _blocking_hash,
        changed: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._trail = trail
        self._hash = hasher
        # After each committed change to an account: the web process's session store forgets
        # the sessions it keeps (agent_ui.sessions), so the change holds from the next request.
        self._changed = changed or (lambda: None)

    async def list(self) -> list[AccountView]:
        async with self._db() as session:
            users = (await session.exec(select(User).order_by(col(User.login)))).all()
        return [_view(u) for u in users]

    async def get(self, login: str) -> AccountView | None:
        async with self._db() as session:
            user = await _find(session, login)
        return _view(user) if user else None

    async def password_hash(self, login: str) -> str | None:
        async with self._db() as session:
            user = await _find(session, login)
        return user.password_hash if user and user.active else None

    async def user_id(self, login: str) -> int | None:
        async with self._db() as session:
            user = await _find(session, login)
        return user.id if user else None

    async def add(
        self,
        *,
        login: str,
        name: str,
        role: Role,
        password: str,
        actor: str,
        actor_role: str = "admin",
        language: str = "zh-CN",
        must_change: bool = True,
        source_ip: str | None = None,
    ) -> AccountView:
        login = login.strip()
        if not LOGIN_PATTERN.match(login):
            raise AccountError(422, "invalid_login", "a login is 1-40 letters, digits or _ . @ -", "login")
        if not name.strip():
            raise AccountError(422, "invalid_name", "a name is required", "name")
        check_password(login, password)
        hashed = await self._hash(password)
        async with self._db() as session:
            if await _find(session, login) is not None:
                raise AccountError(409, "login_taken", f"an account {login!r} exists already", "login")
            user = User(
                login=login,
                name=name.strip()[:200],
                role=role,
                password_hash=hashed,
                language=language,
                must_change_password=must_change,
            )
            session.add(user)
            await self._trail.append(
                session,
                actor=actor,
                action="admin.user_create",
                subject=f"user:{login}",
                role=actor_role,
                source_ip=source_ip,
                after={"name": user.name, "role": str(role), "active": True, "language": language},
            )
            await session.commit()
            return _view(user)

    async def set_password(
        self,
        *,
        login: str,
        password: str,
        actor: str,
        actor_role: str = "admin",
        must_change: bool = True,
        source_ip: str | None = None,
    ) -> tuple[AccountView, int]:
        """An admin sets someone's password (or the CLI does). Ends the account's sessions:
        returns (account, sessions ended); the caller closes their websockets."""
        check_password(login, password)
        hashed = await self._hash(password)
        async with self._db() as session:
            user = await _require(session, login)
            user.password_hash = hashed
            user.must_change_password = must_change
            session.add(user)
            ended = await self._revoke_audited(
                session, user, "admin.password_set", actor, actor_role, source_ip, must_change=must_change
            )
            return _view(user), ended

    async def end_sessions(
        self, *, login: str, actor: str, actor_role: str = "admin", source_ip: str | None = None
    ) -> tuple[int, int | None]:
        """Sign the account out everywhere (a lost phone, a screen left signed in): returns
        (sessions ended, user id); the caller closes their websockets. Audited as the API's
        DELETE /api/admin/users/{login}/sessions is (`auth.sessions_ended`)."""
        async with self._db() as session:
            user = await _require(session, login)
            ended = await self._revoke_audited(
                session, user, "auth.sessions_ended", actor, actor_role, source_ip
            )
            return ended, user.id

    async def _revoke_audited(
        self,
        session: AsyncSession,
        user: User,
        action: str,
        actor: str,
        actor_role: str,
        source_ip: str | None,
        **details: Any,
    ) -> int:
        """End the account's sessions, audit it and commit, in one transaction: the sessions
        ended and the trail entry that says so stand or fall together. Returns sessions ended."""
        ended = await _revoke(session, user)
        await self._trail.append(
            session,
            actor=actor,
            action=action,
            subject=f"user:{user.login}",
            role=actor_role,
            source_ip=source_ip,
            **details,
            sessions_ended=ended,
        )
        await session.commit()
        self._changed()
        return ended

    async def open_sessions(self) -> dict[str, int]:
        """Live (unrevoked, unexpired) sessions per login."""
        async with self._db() as session:
            rows = (
                await session.exec(
                    select(User.login, func.count())
                    .join(WebSession, col(WebSession.user_id) == col(User.id))
                    .where(col(WebSession.revoked_at).is_(None), col(WebSession.expires_at) > utcnow())
                    .group_by(col(User.login))
                )
            ).all()
        return {str(login): int(count) for login, count in rows}

    async def change_own_password(
        self,
        *,
        login: str,
        new_password: str,
        keep_session: str | None = None,
        source_ip: str | None = None,
    ) -> tuple[AccountView, int]:
        """The person picks their own password (the current one was checked by the caller).

        Ends the account's other sessions (`keep_session`, the one that changed it, stays):
        whoever learnt the old password or copied a cookie is out. Returns (account, sessions
        ended); the caller closes their websockets (`SocketRegistry.end_user(..., keep=...)`)."""
        check_password(login, new_password)
        hashed = await self._hash(new_password)
        async with self._db() as session:
            user = await _require(session, login)
            user.password_hash = hashed
            user.must_change_password = False
            session.add(user)
            ended = await _revoke(session, user, keep=keep_session)
            await self._trail.append(
                session,
                actor=login,
                action="auth.password_changed",
                subject=f"user:{login}",
                role=str(user.role),
                source_ip=source_ip,
                sessions_ended=ended,
            )
            await session.commit()
            self._changed()
            return _view(user), ended

    async def update(
        self,
        *,
        login: str,
        actor: str,
        actor_id: int | None = None,
        actor_role: str = "admin",
        role: Role | None = None,
        active: bool | None = None,
        name: str | None = None,
        source_ip: str | None = None,
    ) -> tuple[AccountView, int, int | None]:
        """Change role, active or name. A role or active change ends the account's sessions.
        Returns (account, sessions ended, user id). An admin cannot demote or disable themself."""
        async with self._db() as session:
            user = await _require(session, login)
            before = {"name": user.name, "role": str(user.role), "active": user.active}
            after = {
                "name": name.strip()[:200] if name and name.strip() else before["name"],
                "role": str(role) if role is not None else before["role"],
                "active": active if active is not None else before["active"],
            }
            if after == before:
                return _view(user), 0, user.id
            security = after["role"] != before["role"] or after["active"] != before["active"]
            if security and actor_id is not None and user.id == actor_id:
                raise AccountError(
                    409, "own_account", "you cannot change your own role or disable your own account"
                )
            user.name = str(after["name"])
            user.role = Role(str(after["role"]))
            user.active = bool(after["active"])
            session.add(user)
            ended = await _revoke(session, user) if security else 0
            await self._trail.append(
                session,
                actor=actor,
                action="admin.user_update",
                subject=f"user:{login}",
                role=actor_role,
                source_ip=source_ip,
                before=before,
                after=after,
                sessions_ended=ended,
            )
            await session.commit()
            self._changed()
            return _view(user), ended, user.id

    async def ensure_first_admin(self, password: str | None) -> tuple[str, str | None] | None:
        """At `db upgrade`: when no active admin exists, create `admin` with `password`
        (HOTLINE_ADMIN_PASSWORD) or a generated one that must be changed at first sign-in.
        Returns (login, generated password or None), or None when an admin exists."""
        async with self._db() as session:
            admins = (
                await session.exec(
                    select(User.id).where(col(User.role) == Role.ADMIN.value, col(User.active).is_(True))
                )
            ).first()
            existing = await _find(session, FIRST_ADMIN)
        if admins is not None:
            return None
        if existing is not None:  # an `admin` login that is no admin (or disabled): do not touch it
            raise AccountError(
                409,
                "no_admin",
                "no active admin account, and the login 'admin' is taken: "
                "use `hotline users add <login> --role admin`",
            )
        generated = None if password else generate_password()
        await self.add(
            login=FIRST_ADMIN,
            name="Administrator",
            role=Role.ADMIN,
            password=password or str(generated),
            actor="hotline db upgrade",
            actor_role="system",
            language="zh-CN",
            must_change=generated is not None,
        )
        return FIRST_ADMIN, generated


async def _find(session: AsyncSession, login: str) -> User | None:
    return (await session.exec(select(User).where(User.login == login))).first()


async def _require(session: AsyncSession, login: str) -> User:
    user = await _find(session, login)
    if user is None:
        raise AccountError(404, "unknown_user", f"no account {login!r}", "login")
    return user


async def _revoke(session: AsyncSession, user: User, *, keep: str | None = None) -> int:
    """End every live session of the account but `keep` in this transaction (as
    SessionStore.revoke_user)."""
    live = update(WebSession).where(col(WebSession.user_id) == user.id, col(WebSession.revoked_at).is_(None))
    if keep is not None:
        live = live.where(col(WebSession.id) != keep)
    result = await session.exec(live.values(revoked_at=utcnow()))
    return int(result.rowcount or 0)
