"""Sign-in over JSON (for scripts and tests; the pages use the form at /login)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from agent_ui.auth import SESSION_KEY, AuthenticationFailed, CurrentUser, authenticate
from agent_ui.deps import Sessions
from agent_ui.errors import ApiError

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    login: str
    name: str
    role: str
    language: str


@router.post("/login", response_model=Me)
async def login(body: LoginRequest, request: Request, sessions: Sessions) -> Me:
    try:
        user = await authenticate(sessions, body.login.strip(), body.password)
    except AuthenticationFailed as exc:
        raise ApiError(401, exc.error_id, str(exc)) from exc
    request.session[SESSION_KEY] = user.to_session()
    return Me(login=user.login, name=user.name, role=str(user.role), language=user.language)


@router.post("/logout", status_code=204)
async def logout(request: Request) -> None:
    request.session.clear()


@router.get("/me", response_model=Me)
async def me(user: CurrentUser) -> Me:
    return Me(login=user.login, name=user.name, role=str(user.role), language=user.language)
