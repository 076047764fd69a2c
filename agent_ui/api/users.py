"""Accounts for admins: list, change a role, disable, sign someone out everywhere.

A change of role or of `active` ends every session of the account in the same
transaction and closes its websockets: the person signs in again, with what they may
do now. Each change is on the audit log with before and after (`admin.user_update`,
`auth.sessions_ended`). An admin cannot demote or disable their own account (that is
how a center loses its last admin). Creating an account and resetting a password answer a
one-time password, once; the person must change it at the first sign-in (`agent_ui.accounts`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlmodel import col, func, select

from agent_ui.accounts import AccountError, generate_password
from agent_ui.auth import AdminUser, authenticator, client_ip
from agent_ui.deps import AccountsDep, Sessions
from agent_ui.errors import ApiError
from agent_ui.models import Role, User, WebSession
from config.database import utcnow

router = APIRouter(prefix="/admin/users", tags=["accounts"])

Login = Annotated[str, Path(min_length=1, max_length=40)]


class UserPublic(BaseModel):
    login: str
    name: str
    role: Role
    active: bool
    language: str
    open_sessions: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.@-]{1,40}$")
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.AGENT
    language: Literal["zh-CN", "en"] = "zh-CN"


class OneTimePassword(BaseModel):
    login: str
    password: str  # shown once: the account must change it at the first sign-in


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    active: StrictBool | None = None  # 0/1 are not booleans: 422


@router.get("", response_model=list[UserPublic])
async def list_users(_admin: AdminUser, sessions: Sessions) -> list[UserPublic]:
    now = utcnow()
    async with sessions() as session:
        users = (await session.exec(select(User).order_by(col(User.login)))).all()
        counts = dict(
            (
                await session.exec(
                    select(WebSession.user_id, func.count())
                    .where(col(WebSession.revoked_at).is_(None), col(WebSession.expires_at) > now)
                    .group_by(col(WebSession.user_id))
                )
            ).all()
        )
    return [
        UserPublic(
            login=u.login,
            name=u.name,
            role=Role(u.role),
            active=u.active,
            language=u.language,
            open_sessions=int(counts.get(u.id or 0, 0)),
        )
        for u in users
    ]


def _refused(exc: AccountError) -> ApiError:
    details = [{"field": exc.field}] if exc.field else None
    return ApiError(exc.status, exc.error_id, exc.message, details)


@router.post("", response_model=OneTimePassword, status_code=201, responses={409: {}})
async def create_user(
    body: UserCreate, admin: AdminUser, accounts: AccountsDep, request: Request
) -> OneTimePassword:
    """Create an account; the answer carries its one-time password (shown once)."""
    password = generate_password()
    try:
        await accounts.add(
            login=body.login,
            name=body.name,
            role=body.role,
            password=password,
            actor=admin.login,
            actor_role=str(admin.role),
            language=body.language,
            source_ip=client_ip(request),
        )
    except AccountError as exc:
        raise _refused(exc) from None
    return OneTimePassword(login=body.login, password=password)


@router.post("/{login}/password", response_model=OneTimePassword, responses={404: {}})
async def reset_password(
    login: Login, admin: AdminUser, accounts: AccountsDep, request: Request
) -> OneTimePassword:
    """A new one-time password for the account (its sessions end)."""
    password = generate_password()
    try:
        await accounts.set_password(
            login=login, password=password, actor=admin.login, source_ip=client_ip(request)
        )
    except AccountError as exc:
        raise _refused(exc) from None
    target = await accounts.user_id(login)
    if target is not None:
        authenticator(request).sockets.end_user(target)
    return OneTimePassword(login=login, password=password)


@router.patch("/{login}", response_model=UserPublic)
async def change_user(
    login: Login, body: UserChange, admin: AdminUser, sessions: Sessions, request: Request
) -> UserPublic:
    auth = authenticator(request)
    async with sessions() as session:
        user = (await session.exec(select(User).where(User.login == login))).first()
        if user is None or user.id is None:
            raise ApiError(404, "unknown_user", f"no account {login!r}")
        before = {"role": str(user.role), "active": user.active}
        after = {
            "role": str(body.role) if body.role is not None else before["role"],
            "active": body.active if body.active is not None else before["active"],
        }
        if after != before and user.id == admin.id:
            raise ApiError(409, "own_account", "you cannot change your own role or disable your own account")
        ended = 0
        if after != before:
            user.role = Role(str(after["role"]))
            user.active = bool(after["active"])
            session.add(user)
            ended = await auth.end_sessions(session, user.id)
            await auth.trail.append(
                session,
                actor=admin.login,
                action="admin.user_update",
                subject=f"user:{login}",
                role=str(admin.role),
                source_ip=client_ip(request),
                before=before,
                after=after,
                sessions_ended=ended,
            )
            await session.commit()
        user_id = user.id
        public = UserPublic(
            login=user.login,
            name=user.name,
            role=Role(user.role),
            active=user.active,
            language=user.language,
            open_sessions=0 if ended else await _open_sessions(sessions, user_id),
        )
    if after != before:
        auth.sockets.end_user(user_id)
    return public


async def _open_sessions(sessions: Sessions, user_id: int) -> int:
    async with sessions() as session:
        count = (
            await session.exec(
                select(func.count())
                .select_from(WebSession)
                .where(
                    col(WebSession.user_id) == user_id,
                    col(WebSession.revoked_at).is_(None),
                    col(WebSession.expires_at) > utcnow(),
                )
            )
        ).one()
    return int(count)


@router.delete("/{login}/sessions", status_code=204)
async def end_sessions(login: Login, admin: AdminUser, sessions: Sessions, request: Request) -> Response:
    """Sign the account out everywhere (a lost phone, a shared screen left signed in)."""
    auth = authenticator(request)
    async with sessions() as session:
        user = (await session.exec(select(User).where(User.login == login))).first()
        if user is None or user.id is None:
            raise ApiError(404, "unknown_user", f"no account {login!r}")
        user_id = user.id
        ended = await auth.end_sessions(session, user_id)
        await auth.trail.append(
            session,
            actor=admin.login,
            action="auth.sessions_ended",
            subject=f"user:{login}",
            role=str(admin.role),
            source_ip=client_ip(request),
            sessions_ended=ended,
        )
        await session.commit()
    auth.sockets.end_user(user_id)
    return Response(status_code=204)
