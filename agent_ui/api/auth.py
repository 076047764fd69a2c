"""Sign-in over JSON (for scripts and tests; the pages use the form at /login).

Every failure is 401 `login_failed`, whether the login exists or not; too many attempts
for a login or from an address are 429 `too_many_attempts` with Retry-After.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from agent_ui.auth import (
    Authenticator,
    CurrentUser,
    SessionUser,
    SignInRefused,
    authenticator,
    clear_session_cookie,
    client_ip,
    is_https,
    set_session_cookie,
)
from agent_ui.deps import container_of

router = APIRouter(prefix="/auth", tags=["auth"])

Auth = Annotated[Authenticator, Depends(authenticator)]


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    login: str
    name: str
    role: str
    language: str


def _me(user: SessionUser) -> Me:
    return Me(login=user.login, name=user.name, role=str(user.role), language=user.language)


@router.post("/login", response_model=Me, responses={401: {}, 429: {}, 503: {}})
async def login(body: LoginRequest, request: Request, response: Response, auth: Auth) -> Me:
    try:
        user, token = await auth.sign_in(
            body.login.strip(),
            body.password,
            source_ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except SignInRefused as exc:
        raise exc.as_api_error() from exc
    set_session_cookie(
        response,
        token,
        secure=is_https(request),
        max_age_s=int(auth.store.max_age.total_seconds()),
    )
    return _me(user)


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, user: CurrentUser, auth: Auth) -> None:
    """End this session (its websockets close with 4401); other sessions of the user stay.
    An agent is logged off every queue."""
    await auth.sign_out(user, source_ip=client_ip(request))
    if user.agent_id is not None:
        await container_of(request).presence.signed_out(user.agent_id)
    clear_session_cookie(response, secure=is_https(request))


@router.get("/me", response_model=Me)
async def me(user: CurrentUser) -> Me:
    return _me(user)
