"""Accounts in the browser: your own password (/account/password), and for admins /admin/users —
create an account, reset a password (shown once), change role, disable or enable.

Every change goes through `agent_ui.accounts.Accounts` (the CLI's service): the same password rules,
the same audit entries. A one-time password is shown on the response to the form that made it,
never stored in clear and never put in a URL.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent_ui.accounts import AccountError, check_password, generate_password
from agent_ui.auth import SessionUser, authenticator, client_ip, session_user
from agent_ui.deps import AccountsDep
from agent_ui.i18n import Translate, translator
from agent_ui.models import Role
from agent_ui.pages.common import gate, page_language, render
from agent_ui.pages.nav import ADMIN_USERS, HOME_BY_ROLE
from agent_ui.passwords import Busy

router = APIRouter(include_in_schema=False)

PASSWORD_PAGE = "/account/password"
Text = Annotated[str, Form(max_length=200)]


@router.get(PASSWORD_PAGE, response_class=HTMLResponse)
async def password_page(request: Request) -> Response:
    user = await session_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "password.html", user, error=None, forced=user.must_change_password)


@router.post(PASSWORD_PAGE, response_class=HTMLResponse)
async def password_submit(
    request: Request, accounts: AccountsDep, current: Text, new: Text, again: Text
) -> Response:
    user = await session_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    t = translator(page_language(request, user))

    def refuse(message: str) -> Response:
        return render(
            request, "password.html", user, status_code=422, error=message, forced=user.must_change_password
        )

    if new != again:
        return refuse(t("password.mismatch"))
    if new == current:
        return refuse(t("password.same"))
    auth = authenticator(request)
    # A guess of the current password is a guess of the password: it counts as a sign-in
    # attempt (same keys, same limits), so a held session cannot try passwords without end.
    keys = [("login", user.login), ("address", client_ip(request) or "-")]
    wait = await auth.throttle.attempt(keys)
    if wait is not None:
        response = refuse(t("login.throttled"))
        response.status_code = 429
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response
    hashed = await _hash_of(accounts, user)
    try:
        matched = hashed is not None and await auth.passwords.verify(current, hashed)
    except Busy:
        await auth.throttle.succeeded(keys)  # not judged: give the attempt back
        response = refuse(t("login.busy"))
        response.status_code = 503
        response.headers["Retry-After"] = "1"
        return response
    if not matched:
        await auth.trail.record(
            actor=user.login,
            action="auth.password_change_failed",
            subject=f"user:{user.login}",
            role=str(user.role),
            source_ip=client_ip(request),
            outcome="failed",
            reason="wrong_current",
        )
        return refuse(t("password.wrong_current"))
    await auth.throttle.succeeded(keys)
    try:
        await accounts.change_own_password(
            login=user.login, new_password=new, keep_session=user.session_id, source_ip=client_ip(request)
        )
    except AccountError as exc:
        reason = t(f"password.rule.{exc.reason}") if exc.reason else exc.message
        return refuse(t("password.weak", reason=reason))
    auth.sockets.end_user(user.id, keep=user.session_id)  # the other sessions' consoles go to /login
    return RedirectResponse(HOME_BY_ROLE.get(user.role, "/"), status_code=303)


async def _hash_of(accounts: AccountsDep, user: SessionUser) -> str | None:
    return await accounts.password_hash(user.login)


def refusal_text(t: Translate, exc: AccountError, login: str = "") -> str:
    """An account change refused, in the page's language, naming the field at fault
    (the service's English message when no translation is known)."""
    if exc.error_id == "weak_password" and exc.reason:
        key = f"password.rule.{exc.reason}"
        reason = t(key)
        return t("users.refused.weak_password", reason=exc.message if reason == key else reason)
    key = f"users.refused.{exc.error_id}"
    text = t(key, login=login.strip())
    return exc.message if text == key else text


# ------------------------------------------------------------------ admins


async def _admin_page(
    request: Request,
    accounts: AccountsDep,
    user: SessionUser,
    status_code: int = 200,
    error: str | None = None,
    issued: tuple[str, str] | None = None,
    ended: tuple[str, int] | None = None,
) -> Response:
    rows = await accounts.list()
    return render(
        request,
        "admin_users.html",
        user,
        status_code=status_code,
        accounts=rows,
        open_sessions=await accounts.open_sessions(),
        roles=[str(r) for r in Role],
        error=error,
        issued=issued,
        ended=ended,
    )


@router.get(ADMIN_USERS.path, response_class=HTMLResponse)
async def users_page(request: Request, accounts: AccountsDep) -> Response:
    user, refusal = await gate(request, ADMIN_USERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    return await _admin_page(request, accounts, user)


@router.post(ADMIN_USERS.path, response_class=HTMLResponse)
async def users_create(
    request: Request,
    accounts: AccountsDep,
    login: Annotated[str, Form(max_length=40)],
    name: Text,
    role: Annotated[str, Form(max_length=20)],
    language: Annotated[str, Form(max_length=10)] = "zh-CN",
) -> Response:
    user, refusal = await gate(request, ADMIN_USERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    try:
        chosen = Role(role)
    except ValueError:
        t = translator(page_language(request, user))
        return await _admin_page(request, accounts, user, 422, error=t("users.refused.role"))
    password = generate_password()
    try:
        await accounts.add(
            login=login,
            name=name,
            role=chosen,
            password=password,
            actor=user.login,
            actor_role=str(user.role),
            language=language if language in ("zh-CN", "en") else "zh-CN",
            source_ip=client_ip(request),
        )
    except AccountError as exc:
        t = translator(page_language(request, user))
        return await _admin_page(request, accounts, user, exc.status, error=refusal_text(t, exc, login))
    return await _admin_page(request, accounts, user, issued=(login.strip(), password))


@router.post(ADMIN_USERS.path + "/{login}/password", response_class=HTMLResponse)
async def users_reset_password(request: Request, accounts: AccountsDep, login: str) -> Response:
    user, refusal = await gate(request, ADMIN_USERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    password = generate_password()
    try:
        check_password(login, password)
        _, _ended = await accounts.set_password(
            login=login, password=password, actor=user.login, source_ip=client_ip(request)
        )
    except AccountError as exc:
        t = translator(page_language(request, user))
        return await _admin_page(request, accounts, user, exc.status, error=refusal_text(t, exc, login))
    target = await accounts.user_id(login)
    if target is not None:
        authenticator(request).sockets.end_user(target)
    return await _admin_page(request, accounts, user, issued=(login, password))


@router.post(ADMIN_USERS.path + "/{login}/sessions", response_class=HTMLResponse)
async def users_end_sessions(request: Request, accounts: AccountsDep, login: str) -> Response:
    """Sign the account out everywhere (a lost phone, a screen left signed in)."""
    user, refusal = await gate(request, ADMIN_USERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    try:
        ended, target = await accounts.end_sessions(
            login=login, actor=user.login, actor_role=str(user.role), source_ip=client_ip(request)
        )
    except AccountError as exc:
        t = translator(page_language(request, user))
        return await _admin_page(request, accounts, user, exc.status, error=refusal_text(t, exc, login))
    if target is not None:
        authenticator(request).sockets.end_user(target)
    return await _admin_page(request, accounts, user, ended=(login, ended))


@router.post(ADMIN_USERS.path + "/{login}", response_class=HTMLResponse)
async def users_update(
    request: Request,
    accounts: AccountsDep,
    login: str,
    role: Annotated[str | None, Form(max_length=20)] = None,
    active: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    user, refusal = await gate(request, ADMIN_USERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    try:
        chosen = Role(role) if role else None
    except ValueError:
        t = translator(page_language(request, user))
        return await _admin_page(request, accounts, user, 422, error=t("users.refused.role"))
    try:
        _, ended, target = await accounts.update(
            login=login,
            actor=user.login,
            actor_id=user.id,
            actor_role=str(user.role),
            role=chosen,
            active=None if active is None else active == "1",
            source_ip=client_ip(request),
        )
    except AccountError as exc:
        t = translator(page_language(request, user))
        return await _admin_page(request, accounts, user, exc.status, error=refusal_text(t, exc, login))
    if ended and target is not None:
        authenticator(request).sockets.end_user(target)
    return RedirectResponse(ADMIN_USERS.path, status_code=303)
