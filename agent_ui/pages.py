"""HTML pages: sign-in, the agent console, the wallboard, reports. Jinja2 with autoescape on.

Pages carry little data of their own: live content arrives over the websocket
and is written into the page with `textContent`, never `innerHTML`, so a
customer named `<script>` shows as text. Every page speaks the signed-in user's
language (stored on the user, switchable at /language); before sign-in, the
browser's `Accept-Language` or the language chosen on the sign-in page.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlmodel import select

from agent_ui.api import audit as audit_api
from agent_ui.api import supervisor as supervisor_api
from agent_ui.api.reports import interval, report
from agent_ui.auth import SESSION_KEY, AuthenticationFailed, SessionUser, authenticate, session_user
from agent_ui.callcontrol import CallControls
from agent_ui.console import PAUSE_REASONS, WRAPUP_CODES
from agent_ui.deps import ContainerDep
from agent_ui.errors import ApiError
from agent_ui.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    fmt_datetime,
    fmt_duration,
    fmt_number,
    fmt_percent,
    messages,
    negotiate,
    supported,
    translator,
)
from agent_ui.models import Role, User
from calls.reports import DEFINITIONS
from config.callcenter import QueueSpec
from recordings.access import Principal
from tickets.models import CustomerTier, TicketPriority

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
router = APIRouter(include_in_schema=False)

LANGUAGE_COOKIE = "hotline_lang"
HOME_BY_ROLE = {
    Role.AGENT: "/agent",
    Role.SUPERVISOR: "/supervisor",
    Role.AUDITOR: "/audit",
    Role.ADMIN: "/supervisor",
}
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)


def page_language(request: Request, user: SessionUser | None) -> str:
    if user is not None:
        return supported(user.language)
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return supported(chosen) if chosen else negotiate(request.headers.get("accept-language"))


def render(
    request: Request, name: str, user: SessionUser | None, status_code: int = 200, **context: Any
) -> Response:
    language = page_language(request, user)
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "lang": language,
            "_": translator(language),
            "js_messages": messages(language),
            "languages": LANGUAGE_NAMES,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )


def queue_title(queue: QueueSpec, language: str) -> str:
    chinese = supported(language) == "zh-CN"
    return (queue.title_zh if chinese and queue.title_zh else queue.title_en) or queue.name


def _gate(request: Request, roles: tuple[Role, ...], page: str) -> tuple[SessionUser | None, Response | None]:
    """The signed-in user if their role may open `page`; else the response to send instead."""
    user = session_user(request)
    if user is None:
        return None, RedirectResponse("/login", status_code=303)
    if user.role not in roles:
        return None, render(request, "forbidden.html", user, status_code=403, page=page)
    return user, None


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
    container: ContainerDep,
    login: Annotated[str, Form(max_length=40)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        user = await authenticate(container.sessions, login.strip(), password)
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


def _safe_next(raw: str) -> str:
    """Only a path on this site: never `//elsewhere` or `https://elsewhere`."""
    return raw if raw.startswith("/") and not raw.startswith("//") and "\\" not in raw else "/"


@router.post("/language")
async def switch_language(
    request: Request,
    container: ContainerDep,
    language: Annotated[str, Form(max_length=10)],
    next_path: Annotated[str, Form(alias="next", max_length=200)] = "/",
) -> Response:
    """Switch the page language; for a signed-in user it is stored and follows them everywhere."""
    if language not in LANGUAGES:
        raise ApiError(422, "invalid_input", "invalid input: language", [{"field": "language"}])
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    user = session_user(request)
    if user is None:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True)
        return response
    async with container.sessions() as session:
        row = (await session.exec(select(User).where(User.id == user.id))).first()
        if row is not None:
            row.language = language
            session.add(row)
            await session.commit()
    request.session[SESSION_KEY] = {**user.to_session(), "language": language}
    return response


@router.get("/agent", response_class=HTMLResponse)
async def agent_console(request: Request, container: ContainerDep) -> Response:
    user, refusal = _gate(request, (Role.AGENT,), "/agent")
    if refusal is not None:
        return refusal
    return render(
        request,
        "agent.html",
        user,
        controls=CallControls(container.link).available(),
        pause_reasons=PAUSE_REASONS,
        wrapup_codes=WRAPUP_CODES,
        tiers=[t.value for t in CustomerTier],
        priorities=[p.value for p in TicketPriority],
        queue_titles={
            q.name: queue_title(q, user.language if user else "") for q in container.callcenter.queues
        },
    )


@router.get("/supervisor", response_class=HTMLResponse)
async def wallboard(request: Request, container: ContainerDep) -> Response:
    user, refusal = _gate(request, SUPERVISORS, "/supervisor")
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    queues = container.callcenter.supervised_queues(user.login)
    return render(
        request,
        "supervisor.html",
        user,
        # Our own SVG, every text in it escaped by agent_ui.charts.
        calls_svg=Markup(await supervisor_api.calls_svg(container, queues, user.language)),
        waiting_svg=Markup(supervisor_api.waiting_svg(container, queues, user.language)),
        spy_available=CallControls(container.link).can_supervise,
    )


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request,
    container: ContainerDep,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    user, refusal = _gate(request, SUPERVISORS, "/reports")
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    t = translator(lang)
    queues = container.callcenter.supervised_queues(user.login)
    error = None
    try:
        begin, finish = interval(container, start, end)
    except ApiError:
        error = t("rep.bad_interval")
        begin, finish = interval(container, None, None)
    queue_rows, agent_rows = await report(container, queues, begin, finish)
    offset = timedelta(seconds=container.router.config.utc_offsets.at(container.acd.clock()))
    form = {"start": f"{begin + offset:%Y-%m-%dT%H:%M}", "end": f"{finish + offset:%Y-%m-%dT%H:%M}"}
    titles = {q.name: queue_title(q, lang) for q in container.callcenter.queues}
    names = {a.id: a.name for a in container.callcenter.agents}
    first = container.router.config.queues[0]
    return render(
        request,
        "reports.html",
        user,
        error=error,
        form=form,
        query=urlencode({"from": form["start"], "to": form["end"]}),
        definitions=DEFINITIONS,
        sl_text=fmt_number(first.service_level_s, lang),
        short_text=fmt_number(first.short_abandon_s, lang),
        queues=[
            {
                "title": titles.get(r.queue, r.queue),
                "offered": fmt_number(r.offered, lang),
                "answered": fmt_number(r.answered, lang),
                "abandoned": fmt_number(r.abandoned, lang),
                "service_level": fmt_percent(r.service_level, lang),
                "asa": fmt_duration(r.asa_s, lang),
                "aht": fmt_duration(r.aht_s, lang),
                "abandon_rate": fmt_percent(r.abandon_rate, lang),
                "longest_wait": fmt_duration(r.longest_wait_s, lang),
            }
            for r in queue_rows
        ],
        agents=[
            {
                "name": f"{names.get(r.agent_id, r.agent_id)} ({r.agent_id})",
                "answered": fmt_number(r.answered, lang),
                "talk": fmt_duration(r.talk_s, lang),
                "aht": fmt_duration(r.aht_s, lang),
                "asa": fmt_duration(r.asa_s, lang),
            }
            for r in agent_rows
        ],
    )


AUDITORS = (Role.AUDITOR, Role.ADMIN)


async def _audit_page(request: Request, container: ContainerDep, verify: bool) -> Response:
    user, refusal = _gate(request, AUDITORS, "/audit")
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    offset = container.router.config.utc_offsets.at(container.acd.clock())
    result = None
    if verify:
        ip = request.client.host if request.client else None
        result = await audit_api.verify_everything(container, f"{user.role}:{user.login}", ip)
    recordings = []
    if container.recordings is not None and user.role == Role.AUDITOR:  # admins manage, auditors listen
        who = Principal(login=user.login, role=str(user.role), agent_id=None, queues=frozenset())
        recordings = await container.recordings.archive.list_visible(who, limit=50)
    entries = await audit_api.read_entries(container, 100, None)
    return render(
        request,
        "audit.html",
        user,
        result=result,
        recordings=[
            {
                "id": r.id,
                "call_id": r.call_id,
                "agent": r.agent_id or "",
                "queue": r.queue or "",
                "started": fmt_datetime(r.started_at, lang, offset),
                "duration": fmt_duration(r.duration_s, lang),
                "hold": r.legal_hold,
                "deleted": r.deleted_at is not None,
                "sha256": (r.sha256 or "")[:12],
            }
            for r in recordings
        ],
        entries=[
            {
                "seq": e.seq,
                "at": fmt_datetime(e.at, lang, offset),
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "outcome": e.outcome,
                "ip": e.source_ip or "",
            }
            for e in entries
        ],
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request, container: ContainerDep) -> Response:
    """Auditors: every recording with its player, the audit trail, and a verify button."""
    return await _audit_page(request, container, verify=False)


@router.post("/audit/verify", response_class=HTMLResponse)
async def audit_verify(request: Request, container: ContainerDep) -> Response:
    return await _audit_page(request, container, verify=True)
