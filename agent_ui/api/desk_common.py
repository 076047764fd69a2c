"""What the service-desk routers share: the desk, the acting user, the error mapping.

The desk's errors are mapped to HTTP once, here, through the API error registry:
a stale version or an illegal transition is 409, a role that may not act 403,
an unknown id 404, an invalid phone number 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from agent_ui.auth import CurrentUser, SessionUser, StaffUser, current_user
from agent_ui.errors import register
from tickets import errors as desk_errors
from tickets.lifecycle import Actor
from tickets.service import ServiceDesk

register(desk_errors.NotFound, 404, "not_found")
register(desk_errors.InvalidTransition, 409, "invalid_transition")
register(desk_errors.TicketConflict, 409, "version_conflict")
register(desk_errors.RuleViolation, 409, "rule_violation")
register(desk_errors.WorkOrdersOpen, 409, "work_orders_open")
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


async def reader(user: CurrentUser) -> SessionUser:
    """Any signed-in user (what `Reader` checks). Kept for callers; `Reader` depends on
    `current_user` directly: each dependency level costs a `solve_dependencies` pass."""
    return user


Desk = Annotated[ServiceDesk, Depends(get_desk)]
StaffActor = Annotated[Actor, Depends(staff_actor)]
Reader = Annotated[SessionUser, Depends(current_user)]
