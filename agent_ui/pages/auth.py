"""Sign-in, sign-out, the home redirect and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from agent_ui.auth import (
    SignInRefused,
    authenticator,
    clear_session_cookie,
    client_ip,
    connection_user,
    is_https,
    session_user,
    set_session_cookie,
)
from agent_ui.deps import Sessions, container_of
from agent_ui.errors import ApiError
from agent_ui.i18n import LANGUAGES, translator
from agent_ui.models import User
from agent_ui.pages.common import LANGUAGE_COOKIE, page_language, render, safe_next
from agent_ui.pages.nav import HOME_BY_ROLE

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> Response:
    user = await connection_user(request)
    return RedirectResponse(HOME_BY_ROLE.get(user.role, "/login") if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return render(request, "login.html", None, error=None, login="")


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    login: Annotated[str, Form(max_length=40)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    auth = authenticator(request)
    try:
        user, token = await auth.sign_in(
            login.strip(),
            password,
            source_ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except SignInRefused as exc:
        t = translator(page_language(request, None))
        # One message for every failure: the page does not tell which logins exist.
        message = {429: t("login.throttled"), 503: t("login.busy")}.get(exc.status, t("login.failed"))
        refused = render(request, "login.html", None, status_code=exc.status, error=message, login=login)
        if exc.retry_after:
            refused.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return refused
    home = "/account/password" if user.must_change_password else HOME_BY_ROLE[user.role]
    response = RedirectResponse(home, status_code=303)
    max_age = int(auth.store.max_age.total_seconds())
    set_session_cookie(response, token, secure=is_https(request), max_age_s=max_age)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    user = await session_user(request)
    if user is not None:
        await authenticator(request).sign_out(user, source_ip=client_ip(request))
        if user.agent_id is not None:  # off every queue at once
            await container_of(request).presence.signed_out(user.agent_id)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, secure=is_https(request))
    return response


@router.post("/language")
async def switch_language(
    request: Request,
    sessions: Sessions,
    language: Annotated[str, Form(max_length=10)],
    next_path: Annotated[str, Form(alias="next", max_length=1000)] = "/",
) -> Response:
    """Switch the page language; for a signed-in user it is stored and follows them everywhere."""
    if language not in LANGUAGES:
        raise ApiError(422, "invalid_input", "invalid input: language", [{"field": "language"}])
    response = RedirectResponse(safe_next(next_path), status_code=303)
    user = await session_user(request)
    if user is None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 86400,
            samesite="lax",
            httponly=True,
            secure=is_https(request),
        )
        return response
    async with sessions() as session:
        row = (await session.exec(select(User).where(User.id == user.id))).first()
        if row is not None:
            row.language = language
            session.add(row)
            await session.commit()
    authenticator(request).store.forget()  # the kept session carries the language (agent_ui.sessions)
    return response
