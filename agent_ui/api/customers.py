"""Customers over REST: search, lookup by phone, create, edit, the pop card, history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from agent_ui.api.desk_common import Desk, Reader, StaffActor
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
    offset: Annotated[int, Query(ge=0)] = 0,
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


@router.get("/{customer_id}", response_model=CustomerPublic)
async def get_customer(customer_id: int, desk: Desk, _user: Reader) -> CustomerPublic:
    return await desk.customers.get(customer_id)


@router.patch("/{customer_id}", response_model=CustomerPublic)
async def update_customer(
    customer_id: int, body: CustomerUpdate, desk: Desk, actor: StaffActor
) -> CustomerPublic:
    return await desk.customers.update(customer_id, body, actor)


@router.get("/{customer_id}/card", response_model=CustomerCard)
async def card(customer_id: int, desk: Desk, _user: Reader) -> CustomerCard:
    return await desk.card(customer_id)


@router.get("/{customer_id}/history", response_model=CustomerHistory)
async def history(customer_id: int, desk: Desk, _user: Reader) -> CustomerHistory:
    tickets, calls = await desk.customers.history(customer_id)
    return CustomerHistory(
        tickets=[to_public(t) for t in tickets],
        calls=[CallPublic.model_validate(c, from_attributes=True) for c in calls],
    )
