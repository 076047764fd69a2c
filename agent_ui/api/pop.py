"""The screen pop's actions on the call in progress: who is calling, which ticket it belongs to.

Only for the call's own agent, or a supervisor of its queue (`ScopedCall`).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from agent_ui.api.call_scope import ScopedCall
from agent_ui.api.desk_common import Desk, StaffActor
from config.database import RowId
from tickets.schemas import CallContext, CustomerCreate

router = APIRouter(prefix="/pop/{call_id}", tags=["screen pop"])


class AttachIn(BaseModel):
    ticket_id: RowId | None  # None: open a new ticket for this call


class ChooseIn(BaseModel):
    customer_id: RowId


@router.get("", response_model=CallContext)
async def context(call_id: ScopedCall, desk: Desk) -> CallContext:
    return await desk.calls.context(call_id)


@router.put("/ticket", response_model=CallContext)
async def attach(call_id: ScopedCall, body: AttachIn, desk: Desk, actor: StaffActor) -> CallContext:
    """Override open-or-update: move the call to another ticket or to a new one."""
    return await desk.calls.attach_call(call_id, body.ticket_id, actor)


@router.put("/customer", response_model=CallContext)
async def choose(call_id: ScopedCall, body: ChooseIn, desk: Desk, actor: StaffActor) -> CallContext:
    """The number matched several customers: this is the one calling."""
    return await desk.calls.choose_customer(call_id, body.customer_id, actor)


@router.post("/customer", response_model=CallContext, status_code=201)
async def new_customer(
    call_id: ScopedCall, body: CustomerCreate, desk: Desk, actor: StaffActor
) -> CallContext:
    """Unknown number: create the customer in one step (the caller's number is added)."""
    return await desk.calls.new_customer_from_call(call_id, body, actor)
