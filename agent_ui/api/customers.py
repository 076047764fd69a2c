"""Customers over REST: search, lookup by phone, create, edit, the pop card, history, merge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from agent_ui.api.desk_common import Desk, Reader, StaffActor, ViewerDep, actor_of, visible_ticket_ids
from agent_ui.auth import SupervisorUser
from config.database import MAX_ID, RowId, Version
from tickets.schemas import CustomerCard, CustomerCreate, CustomerPublic, CustomerUpdate, TicketPublic
from tickets.views import CustomerTier
from tickets.workflow import to_public

router = APIRouter(prefix="/customers", tags=["customers"])


class CallPublic(BaseModel):
    call_id: str
    ticket_id: int
    caller_e164: str | None
    agent_id: str | None
    offered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None


class CustomerHistory(BaseModel):
    tickets: list[TicketPublic]
    calls: list[CallPublic]


@router.get("", response_model=list[CustomerPublic])
async def search_customers(
    desk: Desk,
    _user: Reader,
    q: Annotated[str | None, Query(max_length=200, description="Name, company, e-mail or a number")] = None,
    tier: CustomerTier | None = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[CustomerPublic]:
    return await desk.customers.search(q, tier=tier, tag=tag, limit=limit, offset=offset)


@router.get("/lookup", response_model=list[CustomerPublic])
async def lookup(
    desk: Desk, _user: Reader, phone: Annotated[str, Query(min_length=1, max_length=64)]
) -> list[CustomerPublic]:
    """Customers with this number, in any form (national, +86, 0086, with an extension)."""
    return await desk.customers.find_by_phone(phone)


@router.post("", response_model=CustomerPublic, status_code=201)
async def create_customer(body: CustomerCreate, desk: Desk, actor: StaffActor) -> CustomerPublic:
    return await desk.customers.create(body, actor)


@router.get("/{customer_id:int}", response_model=CustomerPublic)
async def get_customer(customer_id: RowId, desk: Desk, _user: Reader) -> CustomerPublic:
    return await desk.customers.get(customer_id)


@router.patch("/{customer_id:int}", response_model=CustomerPublic)
async def update_customer(
    customer_id: RowId, body: CustomerUpdate, desk: Desk, actor: StaffActor
) -> CustomerPublic:
    return await desk.customers.update(customer_id, body, actor)


@router.get("/{customer_id:int}/card", response_model=CustomerCard)
async def card(customer_id: RowId, desk: Desk, _user: Reader) -> CustomerCard:
    return await desk.card(customer_id)


@router.get("/{customer_id:int}/history", response_model=CustomerHistory)
async def history(customer_id: RowId, desk: Desk, viewer: ViewerDep) -> CustomerHistory:
    """The customer's tickets (those in the viewer's scope) and calls."""
    tickets, calls = await desk.customers.history(customer_id)
    seen = await visible_ticket_ids(desk, viewer, {t.id for t in tickets if t.id is not None})
    return CustomerHistory(
        tickets=[to_public(t) for t in tickets if t.id in seen],
        calls=[CallPublic.model_validate(c, from_attributes=True) for c in calls if c.ticket_id in seen],
    )


class MergeIn(BaseModel):
    """Merge `duplicate_id` into the customer of the path (the survivor)."""

    duplicate_id: RowId
    version: Version  # the survivor's
    duplicate_version: Version | None = None


class MergeOut(BaseModel):
    duplicate_id: int
    duplicate_name: str
    phones: list[str]
    dropped_phones: list[str]
    tickets: list[int]
    calls: int
    fields: list[str]


@router.post("/{customer_id:int}/merge", response_model=MergeOut)
async def merge_customers(
    customer_id: RowId, body: MergeIn, desk: Desk, user: SupervisorUser, request: Request
) -> MergeOut:
    """Supervisors: move the duplicate's phones, tickets and calls to this customer, then delete
    the duplicate (on the audit log as `customer.merge`). 409 on a stale version or a self-merge."""
    moved = await desk.merges.merge(
        customer_id,
        body.duplicate_id,
        actor_of(user, request),
        survivor_version=body.version,
        duplicate_version=body.duplicate_version,
    )
    return MergeOut.model_validate(moved)
