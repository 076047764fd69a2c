"""Sign-in, sessions and roles: authorization lives here and nowhere else.

Routes declare who may call them with the `Annotated` dependencies at the bottom
(`CurrentUser`, `AgentUser`, `SupervisorUser`, ...); no route checks roles by
hand. Sessions are signed cookies (Starlette's SessionMiddleware); the same
session authenticates the websocket, so a page reload keeps the user signed in.
Passwords are hashed with Argon2 (pwdlib).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from pwdlib import PasswordHash
from sqlmodel import select
from starlette.requests import HTTPConnection

from agent_ui.errors import ApiError
from agent_ui.models import Role, User

_hasher = PasswordHash.recommended()
SESSION_KEY = "user"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return _hasher.verify(password, hashed)


@dataclass(frozen=True)
class SessionUser:
    id: int
    login: str
    name: str
    role: Role
    language: str

    @property
    def agent_id(self) -> str | None:
        """Agents sign in with their agent id as login."""
        return self.login if self.role == Role.AGENT else None

    def to_session(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "login": self.login,
            "name": self.name,
            "role": str(self.role),
            "language": self.language,
        }

    @classmethod
    def from_session(cls, data: Any) -> SessionUser | None:
        try:
            return cls(
                id=int(data["id"]),
                login=str(data["login"]),
                name=str(data["name"]),
                role=Role(data["role"]),
                language=str(data.get("language", "zh-CN")),
            )
        except (KeyError, TypeError, ValueError):
            return None


class AuthenticationFailed(Exception):
    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


async def authenticate(sessions: Any, login: str, password: str) -> SessionUser:
    """Check a login and password. Raises AuthenticationFailed naming what is wrong."""
    async with sessions() as session:
        user = (await session.exec(select(User).where(User.login == login))).first()
    if user is None:
        raise AuthenticationFailed("unknown_login", f"unknown login {login!r}")
    if not user.active:
        raise AuthenticationFailed("account_disabled", f"account {login!r} is disabled")
    if not verify_password(password, user.password_hash):
        raise AuthenticationFailed("wrong_password", "wrong password")
    assert user.id is not None
    return SessionUser(user.id, user.login, user.name, Role(user.role), user.language)


def session_user(conn: HTTPConnection) -> SessionUser | None:
    return SessionUser.from_session(conn.session.get(SESSION_KEY)) if "session" in conn.scope else None


async def current_user(conn: HTTPConnection) -> SessionUser:
    user = session_user(conn)
    if user is None:
        raise ApiError(401, "not_authenticated", "sign in first")
    return user


def require_roles(*roles: Role) -> Callable[[HTTPConnection], Coroutine[Any, Any, SessionUser]]:
    allowed = frozenset(roles)

    async def dependency(conn: HTTPConnection) -> SessionUser:
        user = await current_user(conn)
        if user.role not in allowed:
            raise ApiError(403, "forbidden", f"role {user.role} may not do this")
        return user

    return dependency


CurrentUser = Annotated[SessionUser, Depends(current_user)]
AgentUser = Annotated[SessionUser, Depends(require_roles(Role.AGENT))]
SupervisorUser = Annotated[SessionUser, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
AuditorUser = Annotated[SessionUser, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]
AdminUser = Annotated[SessionUser, Depends(require_roles(Role.ADMIN))]
StaffUser = Annotated[SessionUser, Depends(require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]
