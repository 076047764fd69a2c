"""The field technician's phone page: their own open work orders, and the buttons to report them.

Built for a phone (375 px wide and up): one card per order, the address and a `tel:` link
to the customer, and one form per legal step (the work-order lifecycle decides which). A
step is a plain form post (CSRF token, no script needed), answered by a redirect back to
the list; a stale version or an illegal step shows a message and the fresh list.
Technicians reach only their own orders (`tickets.access`); agents and supervisors report
on a technician's behalf through the API.

Refusing (退单) is one more form on each order not made final by an arbitration: a reason
from the desk's list and a note, both required (422 and the message naming what is missing);
the order leaves the list and goes back to the dispatcher.
"""

from __future__ import annotations

import enum
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent_ui.api.desk_common import Desk, actor_of
from agent_ui.deps import Acd, DeskViewsDep
from agent_ui.i18n import fmt_datetime, supported, translator
from agent_ui.pages.common import gate, render, work_order_refusal
from agent_ui.pages.nav import FIELD
from config.database import RowId, Version
from tickets.access import Viewer
from tickets.errors import DeskError
from tickets.lifecycle import WORK_ORDER_TRANSITIONS
from tickets.schemas import WorkOrderRefuse, WorkOrderReport
from tickets.scope import work_order_is_mine
from tickets.views import WorkOrderState

router = APIRouter(include_in_schema=False)


class FieldStep(enum.StrEnum):
    """The buttons, in the order a visit goes; each names the state it leads to."""

    ACCEPT = "accept"
    ON_THE_WAY = "on_the_way"
    ARRIVE = "arrive"
    COMPLETE = "complete"


TARGET = {
    FieldStep.ACCEPT: WorkOrderState.ACCEPTED,
    FieldStep.ON_THE_WAY: WorkOrderState.ON_THE_WAY,
    FieldStep.ARRIVE: WorkOrderState.ARRIVED,
    FieldStep.COMPLETE: WorkOrderState.COMPLETED,
}


def legal_steps(state: WorkOrderState) -> list[FieldStep]:
    """The buttons an order in `state` shows: the lifecycle's next steps, in visit order. Only
    the next one and "done" are offered (no skipping from assigned straight to arrived on a
    phone), except that a done with a note is always at hand for an open order."""
    allowed = [step for step in FieldStep if TARGET[step] in WORK_ORDER_TRANSITIONS[state]]
    return allowed[:1] + [s for s in allowed[1:] if s is FieldStep.COMPLETE]


async def _page(
    request: Request,
    desk: Desk,
    views: DeskViewsDep,
    acd: Acd,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    user, refusal = await gate(request, FIELD)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    offset = acd.router.config.utc_offsets.at(acd.clock())
    orders = await views.field_orders(user.login)
    return render(
        request,
        "field.html",
        user,
        status_code=status_code,
        error=error,
        orders=[
            {
                "order": o,
                "due": fmt_datetime(o.due_at, lang, offset) if o.due_at else "",
                "steps": legal_steps(o.state),
            }
            for o in orders
        ],
        reasons=[{"code": r.code, "label": r.label(lang)} for r in desk.config.refusal_reasons],
    )


@router.get("/field", response_class=HTMLResponse)
async def field_page(request: Request, desk: Desk, views: DeskViewsDep, acd: Acd) -> Response:
    return await _page(request, desk, views, acd)


@router.post("/field/orders/{work_order_id}/refuse", response_class=HTMLResponse)
async def field_refuse(
    request: Request,
    work_order_id: RowId,
    version: Annotated[Version, Form()],
    desk: Desk,
    views: DeskViewsDep,
    acd: Acd,
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Declared before the steps' `{step}` route, which would read "refuse" as a step."""
    user, refusal = await gate(request, FIELD)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    async with desk.ctx.sessions() as session:
        mine = await work_order_is_mine(session, Viewer(user.login, str(user.role)), work_order_id)
    if not mine:
        return await _page(request, desk, views, acd, t("fld.not_found"), 404)
    missing = [name for name, value in (("reason", reason), ("note", note)) if not value.strip()]
    if missing or desk.config.refusal_reason(reason) is None:
        fields = ", ".join(t(f"fld.refuse_{m}_field") for m in (missing or ["reason"]))
        return await _page(request, desk, views, acd, t("fld.refuse_missing", fields=fields), 422)
    body = WorkOrderRefuse(version=version, reason=reason, note=note.strip())
    try:
        await desk.work_orders.refuse(work_order_id, body, actor_of(user, request))
    except DeskError as exc:
        key, status = work_order_refusal(exc, "fld")
        return await _page(request, desk, views, acd, t(key), status)
    return RedirectResponse("/field?done=refused", status_code=303)


@router.post("/field/orders/{work_order_id}/{step}", response_class=HTMLResponse)
async def field_step(
    request: Request,
    work_order_id: RowId,
    step: FieldStep,
    version: Annotated[Version, Form()],
    desk: Desk,
    views: DeskViewsDep,
    acd: Acd,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    user, refusal = await gate(request, FIELD)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    async with desk.ctx.sessions() as session:
        mine = await work_order_is_mine(session, Viewer(user.login, str(user.role)), work_order_id)
    if not mine:  # someone else's order reads like a missing one
        return await _page(request, desk, views, acd, t("fld.not_found"), 404)
    actor = actor_of(user, request)
    report = WorkOrderReport(version=version, note=note.strip())
    steps = {
        FieldStep.ACCEPT: desk.work_orders.accept,
        FieldStep.ON_THE_WAY: desk.work_orders.on_the_way,
        FieldStep.ARRIVE: desk.work_orders.arrive,
        FieldStep.COMPLETE: desk.work_orders.complete,
    }
    try:
        await steps[step](work_order_id, report, actor)
    except DeskError as exc:
        key, status = work_order_refusal(exc, "fld")
        return await _page(request, desk, views, acd, t(key), status)
    return RedirectResponse("/field", status_code=303)
