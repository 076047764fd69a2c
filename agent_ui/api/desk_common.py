"""What the service-desk routers share: the desk, the acting user, the error mapping.

The desk's errors are mapped to HTTP once, here, through the API error registry:
a stale version or an illegal transition is 409, a role that may not act 403,
an unknown id 404, an invalid phone number 422 naming the field.

Ticket scope (`tickets.access`, chosen by `service_desk.access`): routes that take a ticket,
work order or follow-up id declare it as `VisibleTicket` / `VisibleWorkOrder` /
`VisibleFollowUp`; an id outside the signed-in user's scope is 404, like a missing one.
Lists take `ViewerDep` and pass it to the desk. In the default `shared` mode the checks
cost nothing (no read). Technicians are scoped in every mode: the tickets of their own work
orders, and of those only their own orders (`tickets.access`); the directory (`Reader`) is closed
to them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from agent_ui.auth import (
    DESK_READERS,
    DeskReaderUser,
    FieldUser,
    SessionUser,
    StaffUser,
    check_role,
    current_user,
)
from agent_ui.errors import ApiError, register
from config.database import RowId
from tickets import errors as desk_errors
from tickets.access import Viewer, scoped
from tickets.lifecycle import Actor
from tickets.scope import (
    may_see_ticket,
    ticket_of_follow_up,
    ticket_of_work_order,
    visible_ids,
    work_order_is_mine,
)
from tickets.service import ServiceDesk

register(desk_errors.NotFound, 404, "not_found")
register(desk_errors.InvalidTransition, 409, "invalid_transition")
register(desk_errors.TicketConflict, 409, "version_conflict")
register(desk_errors.RuleViolation, 409, "rule_violation")
register(desk_errors.WorkOrdersOpen, 409, "work_orders_open")
register(desk_errors.IncidentOpen, 409, "incident_open")
register(desk_errors.ConfirmationRequired, 409, "confirmation_required")
register(desk_errors.RefusalNotAllowed, 409, "refusal_not_allowed")
register(desk_errors.MergedTicketsCarried, 409, "merged_tickets_carried")
register(desk_errors.InvalidField, 422, "invalid_input")
register(desk_errors.AlreadyExists, 409, "already_exists")
register(desk_errors.Forbidden, 403, "forbidden")
register(desk_errors.InvalidPhoneNumber, 422, "invalid_phone_number")


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker
# thread, and two or three thread hops cost more than the whole ticket read (see BENCHMARKS.md).


async def get_desk(conn: HTTPConnection) -> ServiceDesk:
    desk: ServiceDesk = conn.app.state.container.desk
    return desk


def actor_of(user: SessionUser, request: Request) -> Actor:
    return Actor(user.login, str(user.role), request.client.host if request.client else None)


async def staff_actor(user: StaffUser, request: Request) -> Actor:
    return actor_of(user, request)


async def field_actor(user: FieldUser, request: Request) -> Actor:
    return actor_of(user, request)


async def reader(user: DeskReaderUser) -> SessionUser:
    """Any signed-in user but a technician (what `Reader` checks). Kept for callers; `Reader`
    is the role check itself: each dependency level costs a `solve_dependencies` pass."""
    return user


Desk = Annotated[ServiceDesk, Depends(get_desk)]
StaffActor = Annotated[Actor, Depends(staff_actor)]
FieldActor = Annotated[Actor, Depends(field_actor)]
Reader = DeskReaderUser


# ------------------------------------------------------------------ ticket scope


def _viewer(user: SessionUser, conn: HTTPConnection) -> Viewer:
    center = conn.app.state.container.callcenter
    spec = center.agent(user.login) if user.agent_id else None
    return Viewer(user.login, str(user.role), frozenset(spec.queues) if spec else frozenset())


async def viewer_of(user: SessionUser, conn: HTTPConnection) -> Viewer:
    return _viewer(user, conn)


async def signed_in_viewer(conn: HTTPConnection) -> Viewer:
    """The signed-in user (any role; 401 if none) as the desk's `Viewer`, in one dependency
    level: the user is resolved by a plain call, as `require_roles` does (once per request:
    `session_user` keeps it in the scope), not as a `CurrentUser` level of its own."""
    return _viewer(await current_user(conn), conn)


signed_in_viewer.hotline_roles = current_user.hotline_roles  # type: ignore[attr-defined]  # agent_ui.openapi

ViewerDep = Annotated[Viewer, Depends(signed_in_viewer)]


def _hidden(kind: str, ident: int) -> ApiError:
    return ApiError(404, "not_found", f"{kind} {ident} not found")


async def _check_ticket(desk: ServiceDesk, viewer: Viewer, ticket_id: int) -> None:
    access = desk.config.access
    if not scoped(access, viewer):
        return
    async with desk.ctx.sessions() as session:
        seen = await may_see_ticket(session, access, viewer, ticket_id)
    if seen is False:
        raise _hidden("ticket", ticket_id)


async def visible_ticket(ticket_id: RowId, desk: Desk, viewer: ViewerDep) -> int:
    await _check_ticket(desk, viewer, ticket_id)
    return ticket_id


async def visible_work_order(work_order_id: RowId, desk: Desk, viewer: ViewerDep) -> int:
    if viewer.is_technician:
        async with desk.ctx.sessions() as session:
            mine = await work_order_is_mine(session, viewer, work_order_id)
        if mine is False:
            raise _hidden("work order", work_order_id)
        return work_order_id
    if scoped(desk.config.access, viewer):
        async with desk.ctx.sessions() as session:
            ticket_id = await ticket_of_work_order(session, work_order_id)
        if ticket_id is not None:
            try:
                await _check_ticket(desk, viewer, ticket_id)
            except ApiError:
                raise _hidden("work order", work_order_id) from None
    return work_order_id


async def visible_follow_up(follow_up_id: RowId, desk: Desk, viewer: ViewerDep) -> int:
    if scoped(desk.config.access, viewer):
        async with desk.ctx.sessions() as session:
            ticket_id = await ticket_of_follow_up(session, follow_up_id)
        if ticket_id is not None:
            try:
                await _check_ticket(desk, viewer, ticket_id)
            except ApiError:
                raise _hidden("follow-up", follow_up_id) from None
    return follow_up_id


async def visible_ticket_ids(desk: ServiceDesk, viewer: Viewer, ticket_ids: set[int]) -> set[int]:
    """Which of these tickets the viewer may see (one query; all of them in shared mode)."""
    if not scoped(desk.config.access, viewer) or not ticket_ids:
        return ticket_ids
    async with desk.ctx.sessions() as session:
        return await visible_ids(session, desk.config.access, viewer, ticket_ids)


async def readable_ticket(conn: HTTPConnection, ticket_id: int) -> ServiceDesk:
    """`VisibleTicket` and `Reader` as one plain call, for the hottest read (GET a ticket),
    which declares no dependency at all: each dependency level is a `solve_dependencies`
    pass (~15-40 µs: a `Response`, the query string, the headers and the cookies taken apart
    again per level), and the user, the viewer, the desk, the scope check and the role check
    took five. The route carries `hotline_roles = readable_ticket.hotline_roles` (the OpenAPI
    and its role fuzz test read it there). The user is resolved once per request
    (`session_user` keeps it in the scope). The scope is checked before the role, as
    declaring `VisibleTicket` before `Reader` does: a ticket outside a technician's scope is
    404 (it does not exist for them) before their role is refused (403). Returns the desk."""
    user = await current_user(conn)
    desk: ServiceDesk = conn.app.state.container.desk
    await _check_ticket(desk, _viewer(user, conn), ticket_id)
    check_role(user, DESK_READERS)
    return desk


readable_ticket.hotline_roles = DESK_READERS  # type: ignore[attr-defined]  # agent_ui.openapi


VisibleTicket = Annotated[int, Depends(visible_ticket)]
VisibleWorkOrder = Annotated[int, Depends(visible_work_order)]
VisibleFollowUp = Annotated[int, Depends(visible_follow_up)]
