"""The dispatch board (调度台) for dispatchers (supervisors, admins): every open work order by
department and technician, with its state, age and SLA, and a select to move it to another
technician.

Server-rendered; reassigning is a plain form post (CSRF token) answered by a redirect back
to the board, so it works without script. `static/dispatch.js` only submits the form when
the select changes and lets a card be dragged onto another technician's lane (the same
form underneath). A stale version shows a message and the fresh board.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent_ui.api.desk_common import Desk, actor_of
from agent_ui.deps import Acd, DeskViewsDep
from agent_ui.i18n import Translate, fmt_datetime, supported, translator
from agent_ui.pages.common import gate, render, work_order_refusal
from agent_ui.pages.nav import DISPATCH
from config.database import RowId, Version
from tickets.errors import DeskError
from tickets.schemas import WorkOrderReassign, WorkOrderRefuse
from tickets.service import ServiceDesk
from tickets.views import BoardOrder, Refusal, SlaStatus, WorkOrderState

router = APIRouter(include_in_schema=False)

BOARD_STATES = (
    WorkOrderState.ASSIGNED,
    WorkOrderState.ACCEPTED,
    WorkOrderState.ON_THE_WAY,
    WorkOrderState.ARRIVED,
)


def fmt_age(seconds: float, t: Translate) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return t("dsp.age_min", n=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return t("dsp.age_h", h=hours, m=rest)
    return t("dsp.age_d", d=hours // 24)


def _sla(order: BoardOrder, now: datetime, t: Translate) -> tuple[str, str]:
    """(css class, text): the ticket's resolve deadline as time left or overdue."""
    if order.resolve_due_at is None:
        return "sla-none", t("dsp.sla_none")
    left = (order.resolve_due_at - now).total_seconds()
    if left < 0 or order.sla_status is SlaStatus.BREACHED:
        return "sla-breached", t("dsp.sla_overdue", age=fmt_age(-left, t)) if left < 0 else t(
            "dsp.sla_breached"
        )
    css = "sla-warning" if order.sla_status is SlaStatus.WARNING else "sla-ok"
    return css, t("dsp.sla_left", age=fmt_age(left, t))


def _refusal(r: Refusal, desk: ServiceDesk, lang: str, offset: int) -> dict[str, str]:
    reason = desk.config.refusal_reason(r.reason)
    who = " · ".join(x for x in (r.technician, r.department) if x) or r.by
    return {
        "who": who,
        "by": r.by,
        "at": fmt_datetime(r.at, lang, offset),
        "reason": reason.label(lang) if reason else r.reason,
        "note": r.note,
    }


async def _board(
    request: Request, desk: Desk, views: DeskViewsDep, acd: Acd, error: str | None = None, status: int = 200
) -> Response:
    user, refusal = await gate(request, DISPATCH)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    t = translator(lang)
    offset = acd.router.config.utc_offsets.at(acd.clock())
    now = desk.ctx.clock()
    orders = await views.dispatch_board()
    technicians = await desk.work_orders.technicians()
    departments = {d.id: d.name for d in await desk.work_orders.departments()}
    lanes: OrderedDict[str, dict[str, Any]] = OrderedDict()
    bounced: list[dict[str, Any]] = []
    for o in orders:
        if o.state not in BOARD_STATES:  # returned (退单) or in arbitration: the dispatcher's to act on
            bounced.append({"o": o, "refusals": [_refusal(r, desk, lang, offset) for r in o.refusals]})
            continue
        dept = lanes.setdefault(
            o.department or t("dsp.no_department"),
            {"counts": dict.fromkeys(BOARD_STATES, 0), "technicians": OrderedDict()},
        )
        dept["counts"][o.state] += 1
        sla_class, sla_text = _sla(o, now, t)
        lane = dept["technicians"].setdefault(
            o.technician_id or 0, {"name": o.technician or t("dsp.unassigned"), "orders": []}
        )
        lane["orders"].append(
            {
                "o": o,
                "age": fmt_age((now - o.created_at).total_seconds(), t),
                "due": fmt_datetime(o.due_at, lang, offset) if o.due_at else "",
                "sla_class": sla_class,
                "sla": sla_text,
            }
        )
    return render(
        request,
        "dispatch.html",
        user,
        status_code=status,
        error=error,
        lanes=lanes,
        bounced=bounced,
        states=BOARD_STATES,
        total=len(orders),
        reasons=[{"code": r.code, "label": r.label(lang)} for r in desk.config.refusal_reasons],
        technicians=[
            {"id": tech.id, "name": tech.name, "department": departments.get(tech.department_id or 0, "")}
            for tech in technicians
        ],
    )


@router.get("/dispatch", response_class=HTMLResponse)
async def dispatch_board(request: Request, desk: Desk, views: DeskViewsDep, acd: Acd) -> Response:
    return await _board(request, desk, views, acd)


@router.post("/dispatch/orders/{work_order_id}/technician", response_class=HTMLResponse)
async def reassign(
    request: Request,
    work_order_id: RowId,
    version: Annotated[Version, Form()],
    technician_id: Annotated[RowId, Form()],
    desk: Desk,
    views: DeskViewsDep,
    acd: Acd,
) -> Response:
    user, refusal = await gate(request, DISPATCH)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    body = WorkOrderReassign(version=version, technician_id=technician_id)
    try:
        await desk.work_orders.reassign(work_order_id, body, actor_of(user, request))
    except DeskError as exc:
        key, status = work_order_refusal(exc, "dsp")
        return await _board(request, desk, views, acd, t(key), status)
    return RedirectResponse("/dispatch", status_code=303)


@router.post("/dispatch/orders/{work_order_id}/refuse", response_class=HTMLResponse)
async def refuse(
    request: Request,
    work_order_id: RowId,
    version: Annotated[Version, Form()],
    desk: Desk,
    views: DeskViewsDep,
    acd: Acd,
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A department's refusal recorded by the dispatcher (the department phoned it in): the same
    rule as on the technician's page, a reason of the desk's list and a note, else 422."""
    user, refusal = await gate(request, DISPATCH)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    missing = [
        t(f"fld.refuse_{name}_field") for name, v in (("reason", reason), ("note", note)) if not v.strip()
    ]
    if missing or desk.config.refusal_reason(reason) is None:
        fields = ", ".join(missing or [t("fld.refuse_reason_field")])
        return await _board(request, desk, views, acd, t("fld.refuse_missing", fields=fields), 422)
    body = WorkOrderRefuse(version=version, reason=reason, note=note.strip())
    try:
        await desk.work_orders.refuse(work_order_id, body, actor_of(user, request))
    except DeskError as exc:
        key, status = work_order_refusal(exc, "dsp")
        return await _board(request, desk, views, acd, t(key), status)
    return RedirectResponse("/dispatch", status_code=303)
