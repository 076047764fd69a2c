"""Tickets over REST: search, create, read, edit, move along the lifecycle, timeline, dispatch.

Every write carries the `version` the client last saw; a stale one answers 409
`version_conflict` and changes nothing (reload and retry). Transitions are one
route per step (`POST /api/tickets/{id}/accept`) so the OpenAPI lists them.
"""

from __future__ import annotations

import enum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from agent_ui.api.desk_common import Desk, Reader, StaffActor
from tickets.schemas import (
    FollowUpPublic,
    NoteIn,
    TicketCreate,
    TicketPage,
    TicketPublic,
    TicketUpdate,
    TimelineEntry,
    TransitionIn,
    WaitingIn,
    WorkOrderCreate,
    WorkOrderPublic,
)
from tickets.views import SlaStatus, TicketState

router = APIRouter(prefix="/tickets", tags=["tickets"])


class Step(enum.StrEnum):
    """Lifecycle steps reachable by a plain request (dispatch needs a work order: POST …/work-orders)."""

    ACCEPT = "accept"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"


STEP_TARGET = {
    Step.ACCEPT: TicketState.ACCEPTED,
    Step.RESOLVE: TicketState.RESOLVED,
    Step.CLOSE: TicketState.CLOSED,
    Step.REOPEN: TicketState.REOPENED,
    Step.CANCEL: TicketState.CANCELLED,
}


class FlagIn(BaseModel):
    version: int = Field(ge=1)
    reason: str = Field(default="", max_length=200)  # empty: clear the flag


@router.get("", response_model=TicketPage)
async def search_tickets(
    desk: Desk,
    _user: Reader,
    q: Annotated[str | None, Query(max_length=200, description="Text, #id or a phone number")] = None,
    state: Annotated[list[TicketState] | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    assignee: Annotated[str | None, Query(max_length=40)] = None,
    customer_id: int | None = None,
    sla_status: SlaStatus | None = None,
    flagged: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketPage:
    return await desk.timeline.search(
        q,
        state=state,
        category=category,
        assignee=assignee,
        customer_id=customer_id,
        sla_status=sla_status,
        flagged=flagged,
        limit=limit,
        offset=offset,
    )


@router.post("", response_model=TicketPublic, status_code=201)
async def create_ticket(body: TicketCreate, desk: Desk, actor: StaffActor) -> TicketPublic:
    return await desk.tickets.create(body, actor)


@router.get("/{ticket_id}", response_model=TicketPublic)
async def get_ticket(ticket_id: int, desk: Desk, _user: Reader) -> TicketPublic:
    return await desk.tickets.get(ticket_id)


@router.patch("/{ticket_id}", response_model=TicketPublic)
async def update_ticket(ticket_id: int, body: TicketUpdate, desk: Desk, actor: StaffActor) -> TicketPublic:
    return await desk.tickets.update(ticket_id, body, actor)


@router.put("/{ticket_id}/waiting", response_model=TicketPublic)
async def set_waiting(ticket_id: int, body: WaitingIn, desk: Desk, actor: StaffActor) -> TicketPublic:
    """Waiting on the customer: SLA clocks stop (if the policy excludes waiting time)."""
    return await desk.tickets.set_waiting(
        ticket_id, body.waiting, version=body.version, actor=actor, reason=body.reason
    )


@router.put("/{ticket_id}/flag", response_model=TicketPublic)
async def flag_ticket(ticket_id: int, body: FlagIn, desk: Desk, actor: StaffActor) -> TicketPublic:
    return await desk.tickets.flag(ticket_id, body.reason, version=body.version, actor=actor)


@router.post("/{ticket_id}/notes", status_code=204)
async def add_note(ticket_id: int, body: NoteIn, desk: Desk, actor: StaffActor) -> Response:
    await desk.tickets.add_note(ticket_id, body.text, actor)
    return Response(status_code=204)


@router.get("/{ticket_id}/timeline", response_model=list[TimelineEntry])
async def timeline(ticket_id: int, desk: Desk, _user: Reader) -> list[TimelineEntry]:
    return await desk.timeline.for_ticket(ticket_id)


@router.post("/{ticket_id}/work-orders", response_model=WorkOrderPublic, status_code=201)
async def dispatch(ticket_id: int, body: WorkOrderCreate, desk: Desk, actor: StaffActor) -> WorkOrderPublic:
    """Dispatch (调度): a work order for a technician; the ticket goes to `dispatched`."""
    return await desk.work_orders.dispatch(ticket_id, body, actor)


@router.get("/{ticket_id}/work-orders", response_model=list[WorkOrderPublic])
async def work_orders(ticket_id: int, desk: Desk, _user: Reader) -> list[WorkOrderPublic]:
    return await desk.work_orders.for_ticket(ticket_id)


@router.get("/{ticket_id}/follow-ups", response_model=list[FollowUpPublic])
async def follow_ups(ticket_id: int, desk: Desk, _user: Reader) -> list[FollowUpPublic]:
    return await desk.follow_ups.for_ticket(ticket_id)


# Declared last: the other POST /{ticket_id}/<name> routes must match first.
@router.post("/{ticket_id}/{step}", response_model=TicketPublic)
async def transition_ticket(
    ticket_id: int, step: Step, body: TransitionIn, desk: Desk, actor: StaffActor
) -> TicketPublic:
    """Accept, resolve, close, reopen or cancel. 409 `invalid_transition` names both states."""
    return await desk.tickets.transition(
        ticket_id, STEP_TARGET[step], version=body.version, actor=actor, note=body.note
    )
