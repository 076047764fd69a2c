"""Tickets over REST: search, create, read, edit, move along the lifecycle, timeline, dispatch.

Every write carries the `version` the client last saw; a stale one answers 409
`version_conflict` and changes nothing (reload and retry). Transitions are one
route per step (`POST /api/tickets/{id}/accept`) so the OpenAPI lists them.
"""

from __future__ import annotations

import enum

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from agent_ui.api.desk_common import (
    Desk,
    Reader,
    StaffActor,
    ViewerDep,
    VisibleTicket,
    _check_ticket,
    readable_ticket,
    signed_in_viewer,
)
from agent_ui.api.query import parse_query, query_parameters
from agent_ui.deps import container_of
from config.database import MAX_ID, RowId, Version
from tickets.schemas import (
    FollowUpPublic,
    MergeIn,
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
from tickets.timeline import ListFilters
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
    version: Version
    reason: str = Field(default="", max_length=200)  # empty: clear the flag


class TicketListQuery(BaseModel):
    """The list's query string, validated in one call (`agent_ui.api.query`)."""

    q: str | None = Field(default=None, max_length=200, description="Text, #id or a phone number")
    state: list[TicketState] | None = None
    category: str | None = Field(default=None, max_length=60)
    assignee: str | None = Field(default=None, max_length=40)
    customer_id: RowId | None = None
    sla_status: SlaStatus | None = None
    flagged: bool | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_ID)
    before_id: RowId | None = Field(
        default=None, description="Keyset paging: the last id of the previous page (deep pages stay fast)"
    )


@router.get(
    "",
    response_model=TicketPage,
    responses={422: {}},
    openapi_extra=query_parameters(TicketListQuery),
)
async def search_tickets(request: Request) -> Response:
    # No declared parameter or dependency: the query string is one model and the viewer (who
    # is signed in, their scope) a plain call, so FastAPI solves one level, as for a bare
    # endpoint: each declared parameter and dependency level is per-request work for it
    # (docs/BENCHMARKS.md, #18). The sign-in is checked before the query string, as when
    # the viewer was a dependency (401 before 422).
    viewer = await signed_in_viewer(request)
    f = parse_query(TicketListQuery, request)
    filters = ListFilters(
        f.q,
        f.state,
        f.category,
        f.assignee,
        f.customer_id,
        f.sla_status,
        f.flagged,
        f.limit,
        f.offset,
        f.before_id,
    )
    desk = container_of(request).desk
    return Response(await desk.timeline.search_json(filters, viewer), media_type="application/json")


search_tickets.hotline_roles = signed_in_viewer.hotline_roles  # type: ignore[attr-defined]  # agent_ui.openapi


@router.post("", response_model=TicketPublic, status_code=201)
async def create_ticket(body: TicketCreate, desk: Desk, actor: StaffActor) -> TicketPublic:
    return await desk.tickets.create(body, actor)


@router.get("/{ticket_id}", response_model=TicketPublic)
async def get_ticket(ticket_id: RowId, request: Request) -> Response:
    # One dependency level, as a bare endpoint has: the user, the scope and the role
    # (`Reader`'s) are checked by `readable_ticket`, called here rather than declared.
    desk = await readable_ticket(request, ticket_id)
    return Response(await desk.tickets.get_json(ticket_id), media_type="application/json")


get_ticket.hotline_roles = readable_ticket.hotline_roles  # type: ignore[attr-defined]  # agent_ui.openapi


@router.patch("/{ticket_id}", response_model=TicketPublic)
async def update_ticket(
    ticket_id: VisibleTicket, body: TicketUpdate, desk: Desk, actor: StaffActor
) -> TicketPublic:
    return await desk.tickets.update(ticket_id, body, actor)


@router.put("/{ticket_id}/waiting", response_model=TicketPublic)
async def set_waiting(
    ticket_id: VisibleTicket, body: WaitingIn, desk: Desk, actor: StaffActor
) -> TicketPublic:
    """Waiting on the customer: SLA clocks stop (if the policy excludes waiting time)."""
    return await desk.tickets.set_waiting(
        ticket_id, body.waiting, version=body.version, actor=actor, reason=body.reason
    )


@router.put("/{ticket_id}/flag", response_model=TicketPublic)
async def flag_ticket(ticket_id: VisibleTicket, body: FlagIn, desk: Desk, actor: StaffActor) -> TicketPublic:
    return await desk.tickets.flag(ticket_id, body.reason, version=body.version, actor=actor)


@router.post("/{ticket_id}/notes", status_code=204)
async def add_note(ticket_id: VisibleTicket, body: NoteIn, desk: Desk, actor: StaffActor) -> Response:
    await desk.tickets.add_note(ticket_id, body.text, actor, visibility=body.visibility)
    return Response(status_code=204)


@router.get("/{ticket_id}/timeline", response_model=list[TimelineEntry])
async def timeline(ticket_id: VisibleTicket, desk: Desk, _user: Reader) -> list[TimelineEntry]:
    return await desk.timeline.for_ticket(ticket_id)


@router.post("/{ticket_id}/work-orders", response_model=WorkOrderPublic, status_code=201)
async def dispatch(
    ticket_id: VisibleTicket, body: WorkOrderCreate, desk: Desk, actor: StaffActor
) -> WorkOrderPublic:
    """Dispatch (调度): a work order for a technician; the ticket goes to `dispatched`."""
    return await desk.work_orders.dispatch(ticket_id, body, actor)


@router.get("/{ticket_id}/work-orders", response_model=list[WorkOrderPublic])
async def work_orders(ticket_id: VisibleTicket, desk: Desk, _user: Reader) -> list[WorkOrderPublic]:
    return await desk.work_orders.for_ticket(ticket_id)


@router.get("/{ticket_id}/follow-ups", response_model=list[FollowUpPublic])
async def follow_ups(ticket_id: VisibleTicket, desk: Desk, _user: Reader) -> list[FollowUpPublic]:
    return await desk.follow_ups.for_ticket(ticket_id)


@router.post("/{ticket_id}/merge", response_model=TicketPublic)
async def merge_ticket(
    ticket_id: VisibleTicket, body: MergeIn, desk: Desk, actor: StaffActor, viewer: ViewerDep
) -> TicketPublic:
    """Merge this ticket into `into` (same problem): its calls, notes and work orders move there,
    it is closed as `merged` pointing to it. Returns the survivor. Both versions are checked."""
    await _check_ticket(desk, viewer, body.into)  # the survivor must be the caller's to see too
    return await desk.ticket_merges.merge(ticket_id, body, actor)


def _add_step(step: Step) -> None:
    """One literal route per step: a `/{ticket_id}/{step}` pattern would also catch a POST to
    /{id}/flag or /{id}/timeline (422 instead of 405) and list the steps as one operation."""
    target = STEP_TARGET[step]

    async def transition_ticket(
        ticket_id: VisibleTicket, body: TransitionIn, desk: Desk, actor: StaffActor
    ) -> TicketPublic:
        return await desk.tickets.transition(
            ticket_id, target, version=body.version, actor=actor, note=body.note
        )

    router.add_api_route(
        f"/{{ticket_id}}/{step.value}",
        transition_ticket,
        methods=["POST"],
        response_model=TicketPublic,
        name=f"ticket_{step.value}",
        summary=f"{step.value.capitalize()} the ticket",
        description=f"To `{target.value}`. 409 `invalid_transition` names both states.",
    )


for _step in Step:
    _add_step(_step)
