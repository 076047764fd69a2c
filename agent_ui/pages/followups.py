"""Follow-ups (回访): the due list with its actions — call the customer through the PBX, record
the result and a 1–5 score, or call back later.

The call is the link's click-to-call (`TelephonyLink.place_callback`: the agent's phone rings,
then the customer's), journalled on the ticket; a score at or below the desk's `low_score`
reopens or flags the ticket (tickets.followups). Plain forms (CSRF token) answered by a
redirect; a follow-up someone else recorded meanwhile shows a message and the fresh list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent_ui.api.desk_common import Desk, VisibleFollowUp, actor_of
from agent_ui.deps import Acd, Center, DeskViewsDep, container_of
from agent_ui.i18n import fmt_datetime, supported, translator
from agent_ui.models import Role
from agent_ui.pages.common import gate, render
from agent_ui.pages.nav import FOLLOWUPS
from cti.telephony import TelephonyError
from tickets.errors import DeskError, RuleViolation
from tickets.schemas import FollowUpRecord

router = APIRouter(include_in_schema=False)

SCORES = (5, 4, 3, 2, 1)


async def _list(
    request: Request,
    desk: Desk,
    views: DeskViewsDep,
    acd: Acd,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    user, refusal = await gate(request, FOLLOWUPS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    offset = acd.router.config.utc_offsets.at(acd.clock())
    rows = await views.due_follow_ups(desk.ctx.clock(), agent_id=user.agent_id)
    upcoming, next_due = (
        (0, None) if rows else await views.upcoming_follow_ups(desk.ctx.clock(), agent_id=user.agent_id)
    )
    return render(
        request,
        "followups.html",
        user,
        status_code=status,
        error=error,
        done=request.query_params.get("done", ""),
        may_call=user.role == Role.AGENT and container_of(request).link is not None,
        scores=SCORES,
        rows=[{"f": r, "due": fmt_datetime(r.due_at, lang, offset)} for r in rows],
        upcoming=upcoming,
        next_due=fmt_datetime(next_due, lang, offset) if next_due is not None else "",
    )


@router.get("/follow-ups", response_class=HTMLResponse)
async def follow_up_page(request: Request, desk: Desk, views: DeskViewsDep, acd: Acd) -> Response:
    return await _list(request, desk, views, acd)


@router.post("/follow-ups/{follow_up_id}/call", response_class=HTMLResponse)
async def call_customer(
    request: Request, follow_up_id: VisibleFollowUp, desk: Desk, views: DeskViewsDep, acd: Acd
) -> Response:
    user, refusal = await gate(request, FOLLOWUPS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    row = next(
        (
            r
            for r in await views.due_follow_ups(desk.ctx.clock(), agent_id=user.agent_id)
            if r.id == follow_up_id
        ),
        None,
    )
    link = container_of(request).link
    if row is None or user.agent_id is None or link is None or not row.phone:
        return await _list(request, desk, views, acd, error=t("fup.cannot_call"), status=409)
    try:
        await link.place_callback(f"followup-{follow_up_id}", user.agent_id, row.phone)
    except TelephonyError:
        return await _list(request, desk, views, acd, error=t("fup.call_failed"), status=502)
    await desk.follow_ups.called(follow_up_id, row.phone, actor_of(user, request))
    return RedirectResponse(f"/follow-ups?done=calling#fu-{follow_up_id}", status_code=303)


@router.post("/follow-ups/{follow_up_id}/record", response_class=HTMLResponse)
async def record_result(
    request: Request,
    follow_up_id: VisibleFollowUp,
    desk: Desk,
    views: DeskViewsDep,
    acd: Acd,
    outcome: Annotated[str, Form(max_length=2000)] = "",
    score: Annotated[str, Form(max_length=1)] = "",
    fixed: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    user, refusal = await gate(request, FOLLOWUPS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    if score not in ("", *map(str, SCORES)):
        return await _list(request, desk, views, acd, error=t("fup.bad_score"), status=422)
    if fixed not in ("", "yes", "no"):
        return await _list(request, desk, views, acd, error=t("fup.failed"), status=422)
    answer = {"yes": True, "no": False}.get(fixed)  # "is it fixed?": verified closure (#20)
    record = FollowUpRecord(
        outcome=outcome.strip(), score=int(score) if score else None, fixed=answer, channel="agent"
    )
    try:
        await desk.follow_ups.record(follow_up_id, record, actor_of(user, request))
    except RuleViolation:
        return await _list(request, desk, views, acd, error=t("fup.not_pending"), status=409)
    except DeskError:
        return await _list(request, desk, views, acd, error=t("fup.failed"), status=409)
    return RedirectResponse("/follow-ups?done=recorded", status_code=303)


@router.post("/follow-ups/{follow_up_id}/reschedule", response_class=HTMLResponse)
async def reschedule(
    request: Request,
    follow_up_id: VisibleFollowUp,
    desk: Desk,
    views: DeskViewsDep,
    acd: Acd,
    center: Center,
    due: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    user, refusal = await gate(request, FOLLOWUPS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    try:
        when = datetime.fromisoformat(due).replace(tzinfo=ZoneInfo(center.timezone))
    except ValueError:
        return await _list(request, desk, views, acd, error=t("fup.bad_time"), status=422)
    try:
        await desk.follow_ups.reschedule(follow_up_id, when, actor_of(user, request), note.strip())
    except RuleViolation:
        return await _list(request, desk, views, acd, error=t("fup.not_pending"), status=409)
    except DeskError:
        return await _list(request, desk, views, acd, error=t("fup.failed"), status=409)
    return RedirectResponse("/follow-ups?done=rescheduled", status_code=303)
