"""Sign-in, sign-out, the home redirect and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from agent_ui.auth import SESSION_KEY, AuthenticationFailed, authenticate, session_user
from agent_ui.deps import Sessions
from agent_ui.errors import ApiError
from agent_ui.i18n import LANGUAGES, translator
from agent_ui.models import User
from agent_ui.pages.common import LANGUAGE_COOKIE, page_language, render
from agent_ui.pages.nav import HOME_BY_ROLE

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> Response:
    user = session_user(request)
    return RedirectResponse(HOME_BY_ROLE.get(user.role, "/login") if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return render(request, "login.html", None, error=None, login="")


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    sessions: Sessions,
    login: Annotated[str, Form(max_length=40)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        user = await authenticate(sessions, login.strip(), password)
    except AuthenticationFailed:
        t = translator(page_language(request, None))
        # One message for every failure: the page does not tell which logins exist.
        return render(request, "login.html", None, status_code=401, error=t("login.failed"), login=login)
    request.session[SESSION_KEY] = user.to_session()
    return RedirectResponse(HOME_BY_ROLE[user.role], status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def safe_next(raw: str) -> str:
    """Only a path on this site: never `//elsewhere` or `https://elsewhere`."""
    return raw if raw.startswith("/") and not raw.startswith("//") and "\\" not in raw else "/"


@router.post("/language")
async def switch_language(
    request: Request,
    sessions: Sessions,
    language: Annotated[str, Form(max_length=10)],
    next_path: Annotated[str, Form(alias="next", max_length=200)] = "/",
) -> Response:
    """Switch the page language; for a signed-in user it is stored and follows them everywhere."""
    if language not in LANGUAGES:
        raise ApiError(422, "invalid_input", "invalid input: language", [{"field": "language"}])
    response = RedirectResponse(safe_next(next_path), status_code=303)
    user = session_user(request)
    if user is None:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True)
        return response
    async with sessions() as session:
        row = (await session.exec(select(User).where(User.id == user.id))).first()
        if row is not None:
            row.language = language
            session.add(row)
            await session.commit()
    request.session[SESSION_KEY] = {**user.to_session(), "language": language}
    return response
