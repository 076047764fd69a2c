"""Departments, technicians and work orders over REST (dispatch: POST /api/tickets/{id}/work-orders)."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request

from agent_ui.api.desk_common import (
    Desk,
    FieldActor,
    Reader,
    ViewerDep,
    VisibleWorkOrder,
    actor_of,
    visible_ticket_ids,
)
from agent_ui.auth import SupervisorUser
from config.database import RowId
from tickets.schemas import (
    ArbitrationDecision,
    DepartmentCreate,
    DepartmentPublic,
    TechnicianCreate,
    TechnicianPublic,
    WorkOrderPublic,
    WorkOrderReassign,
    WorkOrderRefuse,
    WorkOrderReport,
)

router = APIRouter(tags=["work orders"])


class WorkOrderStep(enum.StrEnum):
    ACCEPT = "accept"
    ON_THE_WAY = "on-the-way"
    ARRIVE = "arrive"
    COMPLETE = "complete"
    CANCEL = "cancel"


@router.get("/departments", response_model=list[DepartmentPublic])
async def departments(desk: Desk, _user: Reader) -> list[DepartmentPublic]:
    return await desk.work_orders.departments()


@router.post("/departments", response_model=DepartmentPublic, status_code=201)
async def add_department(
    body: DepartmentCreate, desk: Desk, user: SupervisorUser, request: Request
) -> DepartmentPublic:
    return await desk.work_orders.add_department(body, actor_of(user, request))


@router.get("/technicians", response_model=list[TechnicianPublic])
async def technicians(
    desk: Desk, _user: Reader, department_id: RowId | None = None
) -> list[TechnicianPublic]:
    return await desk.work_orders.technicians(department_id)


@router.post("/technicians", response_model=TechnicianPublic, status_code=201)
async def add_technician(
    body: TechnicianCreate, desk: Desk, user: SupervisorUser, request: Request
) -> TechnicianPublic:
    return await desk.work_orders.add_technician(body, actor_of(user, request))


@router.get("/technicians/{technician_id}/work-orders", response_model=list[WorkOrderPublic])
async def technician_orders(
    technician_id: RowId, desk: Desk, viewer: ViewerDep, open_only: bool = True
) -> list[WorkOrderPublic]:
    if viewer.is_technician and technician_id not in await desk.work_orders.technician_ids_of(viewer.login):
        return []  # a technician reads their own orders only
    orders = await desk.work_orders.for_technician(technician_id, open_only=open_only)
    seen = await visible_ticket_ids(desk, viewer, {o.ticket_id for o in orders})
    return [o for o in orders if o.ticket_id in seen]


@router.get("/work-orders/{work_order_id}", response_model=WorkOrderPublic)
async def get_work_order(work_order_id: VisibleWorkOrder, desk: Desk) -> WorkOrderPublic:
    return await desk.work_orders.get(work_order_id)


def _step_route(step: WorkOrderStep) -> Callable[..., Awaitable[WorkOrderPublic]]:
    async def report(
        work_order_id: VisibleWorkOrder, body: WorkOrderReport, desk: Desk, actor: FieldActor
    ) -> WorkOrderPublic:
        if step is WorkOrderStep.ACCEPT:
            return await desk.work_orders.accept(work_order_id, body, actor)
        if step is WorkOrderStep.ON_THE_WAY:
            return await desk.work_orders.on_the_way(work_order_id, body, actor)
        if step is WorkOrderStep.ARRIVE:
            return await desk.work_orders.arrive(work_order_id, body, actor)
        if step is WorkOrderStep.COMPLETE:
            return await desk.work_orders.complete(work_order_id, body, actor)
        return await desk.work_orders.cancel(work_order_id, body, actor)

    return report


# One literal path per step of the visit: accept, on the way, arrived, done (the technician, on
# their own orders only, or an agent on their behalf); completing the last open order of a
# dispatched ticket resolves the ticket. Not one `/{step}` route: that also matched
# `POST …/technician` (whose method is PUT), answering 401/422 where 405 is right.
for _step in WorkOrderStep:
    router.add_api_route(
        f"/work-orders/{{work_order_id}}/{_step.value}",
        _step_route(_step),
        methods=["POST"],
        response_model=WorkOrderPublic,
        name=f"work_order_{_step.name.lower()}",
        summary=f"Work order step: {_step.value}",
    )


@router.put("/work-orders/{work_order_id}/technician", response_model=WorkOrderPublic)
async def reassign(
    work_order_id: VisibleWorkOrder,
    body: WorkOrderReassign,
    desk: Desk,
    user: SupervisorUser,
    request: Request,
) -> WorkOrderPublic:
    """Dispatchers (supervisors): give an open order to another technician; it is `assigned` again."""
    return await desk.work_orders.reassign(work_order_id, body, actor_of(user, request))


@router.post("/work-orders/{work_order_id}/refuse", response_model=WorkOrderPublic)
async def refuse(
    work_order_id: VisibleWorkOrder, body: WorkOrderRefuse, desk: Desk, actor: FieldActor
) -> WorkOrderPublic:
    """退单: a reason code (`service_desk.refusal_reasons`) and a note, both required (422 naming the
    field). The order goes back to the dispatcher (`returned`), or to arbitration when bounced
    `arbitration_after_refusals` times or refused again after an override; 409 once arbitrated."""
    return await desk.work_orders.refuse(work_order_id, body, actor)


@router.post("/work-orders/{work_order_id}/arbitration", response_model=WorkOrderPublic)
async def arbitrate(
    work_order_id: VisibleWorkOrder,
    body: ArbitrationDecision,
    desk: Desk,
    user: SupervisorUser,
    request: Request,
) -> WorkOrderPublic:
    """A supervisor's decision on an order in arbitration: this technician, final, on the audit log."""
    return await desk.work_orders.decide(work_order_id, body, actor_of(user, request))
