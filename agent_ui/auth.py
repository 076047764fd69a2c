"""Sign-in, sessions and roles: authorization lives here and nowhere else.

Routes declare who may call them with the `Annotated` dependencies at the bottom
(`CurrentUser`, `AgentUser`, `SupervisorUser`, ...); no route checks roles by hand, and
the OpenAPI lists each operation's roles (`x-roles`) from the same declaration.

Sessions are server-side (`agent_ui.sessions`): the cookie carries a random token, every
request looks it up with the account, so logout, a disabled account and a changed role
hold from the next request; ending a session also closes its websockets.

Signing in (`Authenticator.sign_in`) is built to survive a flood of wrong passwords:
attempts are throttled per login and per address before any hashing (429 with
Retry-After), the Argon2 check runs in a small thread pool off the event loop
(`agent_ui.passwords`), and every failure looks the same from outside: one error id,
`login_failed`, and the same work whether the login exists or not. Every sign-in, failed
sign-in, throttled burst and sign-out is on the audit log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection
from starlette.responses import Response

from agent_ui.errors import ApiError
from agent_ui.models import Role, User
from agent_ui.passwords import Busy, PasswordChecker, hash_password
from agent_ui.sessions import RECHECK_S, SessionStore, SessionUser, SocketRegistry
from agent_ui.throttle import Key, Limit, LoginThrottle, MemoryThrottle
from agent_ui.trail import AuditTrail
from tickets.reads import Reads

__all__ = ["SESSION_COOKIE", "Authenticator", "SessionUser", "SignInRefused", "hash_password"]

log = logging.getLogger(__name__)

SESSION_COOKIE = "hotline_session"
LOGIN_FAILED = "login_failed"
LOGIN_FAILED_MESSAGE = "wrong login or password, or the account is disabled"
MAX_IN_FLIGHT = 32  # sign-in requests answered at once; the hashing pool queues at most 17 of them
# Database connections sign-in may hold at once (account look-ups, session rows, audit entries).
# The pool (config.database: 10 + 10 on PostgreSQL) is shared with telephony: an offered call's
# ticket write takes a connection before the call is routed and popped. Unbounded, 32 sign-ins
# in flight held all 20 at once (a failed one holds its connection while its audit entry waits
# for the audit head's lock), and the call waited for the pool behind the flood.
SIGN_IN_CONNECTIONS = 4


class SignInRefused(Exception):
    """Why a sign-in did not happen: `status` 401 (`login_failed`), 429 (`too_many_attempts`,
    with `retry_after`) or 503 (`sign_in_busy`: too many password checks queued)."""

    def __init__(self, status: int, error_id: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.retry_after = retry_after

    def as_api_error(self) -> ApiError:
        headers = {"Retry-After": str(max(1, round(self.retry_after)))} if self.retry_after else None
        return ApiError(self.status, self.error_id, self.message, headers=headers)


DEFAULT_PER_LOGIN = Limit(attempts=5, window_s=300)
DEFAULT_PER_ADDRESS = Limit(attempts=30, window_s=300)


@dataclass(frozen=True, slots=True)
class SignInLimits:
    per_login: Limit = DEFAULT_PER_LOGIN
    per_address: Limit = DEFAULT_PER_ADDRESS


@dataclass(frozen=True, slots=True)
class _Account:
    id: int
    login: str
    name: str
    role: str
    language: str
    password_hash: str
    active: bool
    must_change_password: bool


class Authenticator:
    """Signs people in and out and ends sessions; the one writer of `web_session`."""

    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        *,
        store: SessionStore,
        throttle: LoginThrottle,
        passwords: PasswordChecker,
        trail: AuditTrail,
        sockets: SocketRegistry | None = None,
    ) -> None:
        self._db = db
        self.store = store
        self.throttle = throttle
        self.passwords = passwords
        self.trail = trail
        self.sockets = sockets or SocketRegistry(on_end=store.forget)
        self.recheck_s = RECHECK_S  # how often an open websocket looks its session up again
        self._reported: dict[Key, float] = {}  # keys whose lockout is on the audit log already
        self.in_flight = 0  # sign-in requests being answered (counted by agent_ui.middleware.SignInGate)
        self.max_in_flight = MAX_IN_FLIGHT
        self._connections = asyncio.Semaphore(SIGN_IN_CONNECTIONS)  # taken before each use of `db`

    async def precheck(self, source_ip: str | None) -> SignInRefused | None:
        """Before a sign-in request's body is even read: refuse it at once if its address is
        locked out or too many sign-ins are being answered already. A flood then costs the
        server little more than accepting its connections."""
        if self.in_flight >= self.max_in_flight:
            return SignInRefused(503, "sign_in_busy", "sign-in is busy; try again in a moment", 1.0)
        address: Key = ("address", source_ip or "-")
        wait = await self.throttle.retry_after(address)
        if wait is not None:
            await self._report_throttled([address], "-", source_ip)
            return SignInRefused(429, "too_many_attempts", "too many sign-in attempts; try again later", wait)
        return None

    async def sign_in(
        self, login: str, password: str, *, source_ip: str | None, user_agent: str = ""
    ) -> tuple[SessionUser, str]:
        """The signed-in user and the cookie token for a new session. Raises SignInRefused."""
        keys: list[Key] = [("login", login), ("address", source_ip or "-")]
        wait = await self.throttle.attempt(keys)
        if wait is not None:
            await self._report_throttled(keys, login, source_ip)
            raise SignInRefused(429, "too_many_attempts", "too many sign-in attempts; try again later", wait)
        account = await self._account(login)
        try:
            matched = await self.passwords.verify(password, account.password_hash if account else None)
        except Busy:
            await self.throttle.succeeded(keys)  # not judged: give the attempt back
            raise SignInRefused(503, "sign_in_busy", "sign-in is busy; try again in a moment", 1.0) from None
        if account is None or not matched or not account.active:
            reason = "unknown_login" if account is None else "wrong_password" if not matched else "disabled"
            await self._record(
                actor=login,
                action="auth.sign_in_failed",
                subject=f"user:{login}",
                source_ip=source_ip,
                outcome="failed",
                reason=reason,
            )
            raise SignInRefused(401, LOGIN_FAILED, LOGIN_FAILED_MESSAGE)
        await self.throttle.succeeded(keys)
        async with self._connections, self._db() as session:
            token, sid = await self.store.add(session, account.id, source_ip=source_ip, user_agent=user_agent)
            await self.trail.append(
                session,
                actor=account.login,
                action="auth.sign_in",
                subject=f"user:{account.login}",
                role=account.role,
                source_ip=source_ip,
            )
            await session.commit()
        user = SessionUser(
            account.id,
            account.login,
            account.name,
            Role(account.role),
            account.language,
            sid,
            account.must_change_password,
        )
        return user, token

    async def _record(self, **entry: Any) -> None:
        """An audit entry in its own transaction, on one of sign-in's connections."""
        async with self._connections:
            await self.trail.record(**entry)

    async def _account(self, login: str) -> _Account | None:
        async with self._connections, self._db() as session:
            user = (await session.exec(select(User).where(User.login == login))).first()
        if user is None or user.id is None:
            return None
        return _Account(
            user.id,
            user.login,
            user.name,
            str(user.role),
            user.language,
            user.password_hash,
            user.active,
            user.must_change_password,
        )

    async def _report_throttled(self, keys: list[Key], login: str, source_ip: str | None) -> None:
        """One audit entry per lockout and key, not one per refused attempt (a flood would
        otherwise queue hundreds of appends on the audit head)."""
        loop_time = time.monotonic()
        fresh = []
        for key in keys:
            wait = await self.throttle.retry_after(key)
            if wait is not None and self._reported.get(key, 0.0) <= loop_time:
                self._reported[key] = loop_time + wait
                fresh.append(f"{key[0]}:{key[1]}")
        if len(self._reported) > 10_000:
            self._reported = {k: t for k, t in self._reported.items() if t > loop_time}
        if fresh:
            await self._record(
                actor=login,
                action="auth.sign_in_throttled",
                subject=f"user:{login}",
                source_ip=source_ip,
                outcome="refused",
                keys=fresh,
            )

    async def resolve(self, token: str | None) -> SessionUser | None:
        return await self.store.resolve(token) if token else None

    async def sign_out(self, user: SessionUser, *, source_ip: str | None) -> None:
        async with self._db() as session:
            await self.store.revoke(session, user.session_id)
            await self.trail.append(
                session,
                actor=user.login,
                action="auth.sign_out",
                subject=f"user:{user.login}",
                role=str(user.role),
                source_ip=source_ip,
            )
            await session.commit()
        self.sockets.end_session(user.session_id)

    async def end_sessions(self, session: AsyncSession, user_id: int) -> int:
        """Revoke every session of an account inside the caller's transaction (an account
        change); call `sockets.end_user(user_id)` after the commit."""
        return await self.store.revoke_user(session, user_id)

    def close(self) -> None:
        self.passwords.close()


def build_auth(
    db: async_sessionmaker[AsyncSession],
    reads: Reads,
    limits: SignInLimits | None = None,
    *,
    throttle: Callable[[Mapping[str, Limit]], LoginThrottle] | None = None,
) -> Authenticator:
    """The sign-in machinery (the composition root calls this). `throttle` builds the store of
    sign-in counts from the limits: in this process's memory by default, shared (Redis:
    agent_ui.shared_throttle) when several web workers serve."""
    limits = limits or SignInLimits()
    per_kind = {"login": limits.per_login, "address": limits.per_address}
    return Authenticator(
        db,
        store=SessionStore(db, reads),
        throttle=(throttle or MemoryThrottle)(per_kind),
        passwords=PasswordChecker(),
        trail=AuditTrail(db),
    )


# ------------------------------------------------------------------ cookies


def set_session_cookie(response: Response, token: str, *, secure: bool, max_age_s: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age_s, httponly=True, samesite="lax", secure=secure, path="/"
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure, path="/")


def is_https(conn: HTTPConnection) -> bool:
    """Whether the browser reached us over https: the request's scheme (uvicorn takes it from
    X-Forwarded-Proto sent by a proxy it trusts), or HOTLINE_PUBLIC_BASE_URL says https. The
    latter holds behind a TLS proxy that sends no X-Forwarded-Proto: the cookies must still be
    Secure there, or a page loaded over plain http once would hand the session to the network."""
    return conn.url.scheme in ("https", "wss") or bool(getattr(conn.app.state, "public_https", False))


def client_ip(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client else None


# ------------------------------------------------------------------ dependencies


def authenticator(conn: HTTPConnection) -> Authenticator:
    auth: Authenticator = conn.app.state.container.auth
    return auth


async def session_user(conn: HTTPConnection) -> SessionUser | None:
    """The session's user even while they must still change their password (only the
    password page, sign-out and the page gate use this); looked up once per request."""
    cached = conn.scope.get("hotline.user", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    user = await authenticator(conn).resolve(conn.cookies.get(SESSION_COOKIE))
    conn.scope["hotline.user"] = user
    return user


async def connection_user(conn: HTTPConnection) -> SessionUser | None:
    """The signed-in user of a request or websocket, or None. An account whose password an
    admin chose counts as not signed in (401, websockets refused) until it picks its own."""
    user = await session_user(conn)
    return None if user is None or user.must_change_password else user


async def current_user(conn: HTTPConnection) -> SessionUser:
    user = await connection_user(conn)
    if user is None:
        raise ApiError(401, "not_authenticated", "sign in first")
    return user


def check_role(user: SessionUser, allowed: frozenset[Role]) -> SessionUser:
    """The one role check: 403 unless the user's role is allowed. `require_roles` makes it a
    dependency; a dependency that must also resolve something else in the same level (the
    ticket GET's `readable_ticket`) calls it and carries `hotline_roles` itself."""
    if user.role not in allowed:
        raise ApiError(403, "forbidden", f"role {user.role} may not do this")
    return user


def require_roles(*roles: Role) -> Callable[[HTTPConnection], Coroutine[Any, Any, SessionUser]]:
    allowed = frozenset(roles)

    async def dependency(conn: HTTPConnection) -> SessionUser:
        return check_role(await current_user(conn), allowed)

    dependency.hotline_roles = allowed  # type: ignore[attr-defined]  # read by agent_ui.openapi
    return dependency


current_user.hotline_roles = frozenset(Role)  # type: ignore[attr-defined]

CurrentUser = Annotated[SessionUser, Depends(current_user)]
AgentUser = Annotated[SessionUser, Depends(require_roles(Role.AGENT))]
SupervisorUser = Annotated[SessionUser, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
AuditorUser = Annotated[SessionUser, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]
AdminUser = Annotated[SessionUser, Depends(require_roles(Role.ADMIN))]
StaffUser = Annotated[SessionUser, Depends(require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]
# Who reads the desk's directory (customers, departments, tickets): everyone but technicians,
# who see their own work orders only (tickets.access).
DESK_READERS = frozenset((Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN))
DeskReaderUser = Annotated[SessionUser, Depends(require_roles(*DESK_READERS))]
TechnicianUser = Annotated[SessionUser, Depends(require_roles(Role.TECHNICIAN))]
# Who reports a work order's steps: the technician, or an agent / supervisor on their behalf.
FieldUser = Annotated[
    SessionUser, Depends(require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.TECHNICIAN))
]
