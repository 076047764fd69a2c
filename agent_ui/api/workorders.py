"""Departments, technicians and work orders over REST (dispatch: POST /api/tickets/{id}/work-orders)."""

from __future__ import annotations

import enum

from fastapi import APIRouter, Request

from agent_ui.api.desk_common import (
    Desk,
    Reader,
    StaffActor,
    ViewerDep,
    VisibleWorkOrder,
    actor_of,
    visible_ticket_ids,
)
from agent_ui.auth import SupervisorUser
from config.database import RowId
from tickets.schemas import (
    DepartmentCreate,
    DepartmentPublic,
    TechnicianCreate,
    TechnicianPublic,
    WorkOrderPublic,
    WorkOrderReport,
)

router = APIRouter(tags=["work orders"])


class WorkOrderStep(enum.StrEnum):
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
    orders = await desk.work_orders.for_technician(technician_id, open_only=open_only)
    seen = await visible_ticket_ids(desk, viewer, {o.ticket_id for o in orders})
    return [o for o in orders if o.ticket_id in seen]


@router.get("/work-orders/{work_order_id}", response_model=WorkOrderPublic)
async def get_work_order(work_order_id: VisibleWorkOrder, desk: Desk) -> WorkOrderPublic:
    return await desk.work_orders.get(work_order_id)


@router.post("/work-orders/{work_order_id}/{step}", response_model=WorkOrderPublic)
async def report(
    work_order_id: VisibleWorkOrder, step: WorkOrderStep, body: WorkOrderReport, desk: Desk, actor: StaffActor
) -> WorkOrderPublic:
    """Arrival or completion (the technician, or an agent on their behalf). Completing the
    last open order of a dispatched ticket resolves the ticket."""
    if step is WorkOrderStep.ARRIVE:
        return await desk.work_orders.arrive(work_order_id, body, actor)
    if step is WorkOrderStep.COMPLETE:
        return await desk.work_orders.complete(work_order_id, body, actor)
    return await desk.work_orders.cancel(work_order_id, body, actor)
