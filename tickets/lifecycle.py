"""The ticket and work-order lifecycles: enums, one transition table each, pure checks.

    reported ──► accepted ──► dispatched ──► resolved ──► closed
        │           │  └──────────────────────►▲  │
        │           │                          │  ▼
        └───────────┴──────► cancelled ◄── reopened (back to accepted/dispatched/resolved)

No I/O here: the service loads the facts, asks `check_ticket_transition`, and
writes the result under an optimistic version check. Rules that are not about
the state graph (who may close a complaint, open work orders) are guards that
take those facts as plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tickets.errors import Forbidden, InvalidTransition, WorkOrdersOpen
from tickets.models import TicketState, WorkOrderState

T = TicketState

TICKET_TRANSITIONS: Mapping[TicketState, frozenset[TicketState]] = {
    T.REPORTED: frozenset({T.ACCEPTED, T.CANCELLED}),
    T.ACCEPTED: frozenset({T.DISPATCHED, T.RESOLVED, T.CANCELLED}),
    T.DISPATCHED: frozenset({T.RESOLVED, T.CANCELLED}),
    T.RESOLVED: frozenset({T.CLOSED, T.REOPENED}),
    T.REOPENED: frozenset({T.ACCEPTED, T.DISPATCHED, T.RESOLVED, T.CANCELLED}),
    T.CLOSED: frozenset(),
    T.CANCELLED: frozenset(),
}

W = WorkOrderState

WORK_ORDER_TRANSITIONS: Mapping[WorkOrderState, frozenset[WorkOrderState]] = {
    W.ASSIGNED: frozenset({W.ARRIVED, W.COMPLETED, W.CANCELLED}),
    W.ARRIVED: frozenset({W.COMPLETED, W.CANCELLED}),
    W.COMPLETED: frozenset(),
    W.CANCELLED: frozenset(),
}

OPEN_WORK_ORDER_STATES = frozenset({W.ASSIGNED, W.ARRIVED})

SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something: a signed-in user (`role` as in agent_ui), or `system`/`ivr`."""

    id: str
    role: str = "agent"
    source_ip: str | None = None

    @property
    def is_supervisor(self) -> bool:
        return self.role in SUPERVISOR_ROLES

    def __str__(self) -> str:
        return self.id if self.role in {"agent", "system"} else f"{self.id} ({self.role})"


SYSTEM = Actor("system", "system")


def next_ticket_state(current: TicketState, attempted: TicketState) -> TicketState:
    """`attempted` if the table allows it from `current`, else `InvalidTransition`."""
    if attempted not in TICKET_TRANSITIONS[current]:
        raise InvalidTransition("ticket", current, attempted)
    return attempted


def next_work_order_state(current: WorkOrderState, attempted: WorkOrderState) -> WorkOrderState:
    if attempted not in WORK_ORDER_TRANSITIONS[current]:
        raise InvalidTransition("work order", current, attempted)
    return attempted


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the guards need to know about a ticket, loaded by the service."""

    ticket_id: int
    state: TicketState
    is_complaint: bool
    open_work_order_ids: tuple[int, ...] = ()


def check_ticket_transition(facts: TicketFacts, attempted: TicketState, actor: Actor) -> TicketState:
    """The table first (a clear InvalidTransition), then the business guards."""
    target = next_ticket_state(facts.state, attempted)
    if target is T.RESOLVED and facts.open_work_order_ids:
        raise WorkOrdersOpen(facts.ticket_id, list(facts.open_work_order_ids))
    if target is T.CLOSED and facts.is_complaint and not actor.is_supervisor:
        raise Forbidden(f"ticket {facts.ticket_id} is a complaint: only a supervisor may close it")
    return target
