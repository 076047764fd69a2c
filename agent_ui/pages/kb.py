"""The knowledge base: find and read articles (staff), write them (supervisors, admins).

GET  /kb?q=&category=    search; GET /kb/{id} an article, rendered from markdown safely
GET  /kb/new, /kb/{id}/edit   the editor; POST /kb, POST /kb/{id} save (version-checked, audited)
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from agent_ui.api.desk_common import actor_of
from agent_ui.auth import SessionUser
from agent_ui.deps import Desk
from agent_ui.i18n import supported, translator
from agent_ui.markdown import render_markdown
from agent_ui.pages.common import gate, invalid_fields, render
from agent_ui.pages.nav import KB, KB_EDIT
from agent_ui.pages.ticket import categories_of
from tickets.errors import NotFound, TicketConflict
from tickets.kb import ArticleIn
from tickets.service import ServiceDesk

router = APIRouter(include_in_schema=False)


def _may_edit(user: SessionUser) -> bool:
    return user.role in KB_EDIT.roles


@router.get("/kb", response_class=HTMLResponse)
async def kb_list(request: Request, desk: Desk) -> Response:
    user, refusal = await gate(request, KB)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    q = (request.query_params.get("q") or "")[:200]
    category = (request.query_params.get("category") or "")[:60]
    found = await desk.kb.find(q, category=category or None, limit=50, include_inactive=_may_edit(user))
    return render(
        request,
        "kb.html",
        user,
        q=q,
        category=category,
        categories=await categories_of(desk, lang),
        may_edit=_may_edit(user),
        articles=[
            {"id": a.id, "title": a.title(lang), "category": a.category, "active": a.active} for a in found
        ],
    )


@router.get("/kb/new", response_class=HTMLResponse)
async def kb_new(request: Request, desk: Desk) -> Response:
    user, refusal = await gate(request, KB_EDIT)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    return await _editor(request, user, desk, None, ArticleIn())


async def _editor(
    request: Request,
    user: SessionUser,
    desk: ServiceDesk,
    article_id: int | None,
    data: ArticleIn,
    *,
    status_code: int = 200,
    message: str | None = None,
) -> Response:
    return render(
        request,
        "kb_edit.html",
        user,
        status_code=status_code,
        message=message,
        article_id=article_id,
        data=data,
        categories=await categories_of(desk, supported(user.language)),
    )


@router.get("/kb/{article_id}", response_class=HTMLResponse)
async def kb_article(request: Request, article_id: int, desk: Desk) -> Response:
    user, refusal = await gate(request, KB)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    try:
        article = await desk.kb.get(article_id)
    except NotFound:
        return render(request, "kb_article.html", user, status_code=404, article=None, article_id=article_id)
    if not article.active and not _may_edit(user):
        return render(request, "kb_article.html", user, status_code=404, article=None, article_id=article_id)
    return render(
        request,
        "kb_article.html",
        user,
        article=article,
        title=article.title(lang),
        body=render_markdown(article.body(lang)),
        categories=await categories_of(desk, lang),
        may_edit=_may_edit(user),
        saved=request.query_params.get("saved") == "1",
    )


@router.get("/kb/{article_id}/edit", response_class=HTMLResponse)
async def kb_edit(request: Request, article_id: int, desk: Desk) -> Response:
    user, refusal = await gate(request, KB_EDIT)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    try:
        article = await desk.kb.get(article_id)
    except NotFound:
        return render(request, "kb_article.html", user, status_code=404, article=None, article_id=article_id)
    return await _editor(request, user, desk, article_id, ArticleIn.model_validate(article.model_dump()))


async def _save(request: Request, desk: ServiceDesk, article_id: int | None) -> Response:
    user, refusal = await gate(request, KB_EDIT)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(supported(user.language))
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    raw["active"] = "true" if raw.get("active") == "on" else "false"
    if not raw.get("version"):
        raw.pop("version", None)
    try:
        data = ArticleIn.model_validate(raw)
    except ValidationError as exc:
        fields = invalid_fields(exc, t)
        return await _editor(
            request,
            user,
            desk,
            article_id,
            ArticleIn(),
            status_code=422,
            message=t("tk.err.invalid", fields=fields),
        )
    try:
        saved = await desk.kb.save(data, actor_of(user, request), article_id)
    except TicketConflict:
        fresh = await desk.kb.get(article_id or 0)
        return await _editor(
            request,
            user,
            desk,
            article_id,
            ArticleIn.model_validate(fresh.model_dump()),
            status_code=409,
            message=t("kb.conflict"),
        )
    except NotFound:
        return render(request, "kb_article.html", user, status_code=404, article=None, article_id=article_id)
    return RedirectResponse(f"/kb/{saved.id}?saved=1", status_code=303)


@router.post("/kb", response_class=HTMLResponse)
async def kb_create(request: Request, desk: Desk) -> Response:
    return await _save(request, desk, None)


@router.post("/kb/{article_id}", response_class=HTMLResponse)
async def kb_update(request: Request, article_id: int, desk: Desk) -> Response:
    return await _save(request, desk, article_id)
