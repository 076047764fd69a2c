"""The ticket and work-order lifecycles: enums, one transition table each, pure checks.

    reported ──► accepted ──► dispatched ──► resolved ──► closed
        │           │  └──────────────────────►▲  │
        │           │                          │  ▼
        └───────────┴──────► cancelled ◄── reopened (back to accepted/dispatched/resolved)

    any state but closed/cancelled ──► merged (only by a merge, naming the survivor)

An incident (a mass fault) is open, then resolved; a ticket that is its child is not
dispatched on its own while the incident is open (the incident is the one job).

A work order may also be refused (退单) from any open step, with a reason: it goes back to
the dispatcher (`returned`), or, bounced once too often, to a supervisor (`arbitration`),
whose decision is final for that order (`refusal_target`). A ticket whose category needs
confirmation closes only on the customer's confirmation (`TicketFacts.confirmed`).

No I/O here: the service loads the facts, asks `check_ticket_transition`, and
writes the result under an optimistic version check. Rules that are not about
the state graph (who may close a complaint, open work orders) are guards that
take those facts as plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tickets.errors import (
    ConfirmationRequired,
    Forbidden,
    IncidentOpen,
    InvalidTransition,
    MergedTicketsCarried,
    RefusalNotAllowed,
    RuleViolation,
    WorkOrdersOpen,
)
from tickets.models import IncidentState, TicketState, WorkOrderState

T = TicketState

TICKET_TRANSITIONS: Mapping[TicketState, frozenset[TicketState]] = {
    T.REPORTED: frozenset({T.ACCEPTED, T.CANCELLED, T.MERGED}),
    T.ACCEPTED: frozenset({T.DISPATCHED, T.RESOLVED, T.CANCELLED, T.MERGED}),
    T.DISPATCHED: frozenset({T.RESOLVED, T.CANCELLED, T.MERGED}),
    T.RESOLVED: frozenset({T.CLOSED, T.REOPENED, T.MERGED}),
    T.REOPENED: frozenset({T.ACCEPTED, T.DISPATCHED, T.RESOLVED, T.CANCELLED, T.MERGED}),
    T.CLOSED: frozenset(),
    T.CANCELLED: frozenset(),
    T.MERGED: frozenset(),
}

# A merge's survivor carries on with the duplicate's calls, notes and orders: it must be open.
MERGE_SURVIVOR_STATES = frozenset({T.REPORTED, T.ACCEPTED, T.DISPATCHED, T.REOPENED})

N = IncidentState

INCIDENT_TRANSITIONS: Mapping[IncidentState, frozenset[IncidentState]] = {
    N.OPEN: frozenset({N.RESOLVED}),
    N.RESOLVED: frozenset(),
}

W = WorkOrderState

# A visit: assigned → accepted → on the way → arrived → completed. Steps may be skipped forward
# (a technician already on site reports "arrived" straight away), never taken back; a
# dispatcher's reassignment puts an open order back to `assigned` for the new technician
# (`REASSIGNABLE`), which is not a step of the visit. Any step of the visit may instead
# refuse the order (→ returned, or → arbitration); only a reassignment (returned) or a
# supervisor's decision (arbitration) puts it back to `assigned`.
_REFUSE = frozenset({W.RETURNED, W.ARBITRATION})
WORK_ORDER_TRANSITIONS: Mapping[WorkOrderState, frozenset[WorkOrderState]] = {
    W.ASSIGNED: frozenset({W.ACCEPTED, W.ON_THE_WAY, W.ARRIVED, W.COMPLETED, W.CANCELLED}) | _REFUSE,
    W.ACCEPTED: frozenset({W.ON_THE_WAY, W.ARRIVED, W.COMPLETED, W.CANCELLED}) | _REFUSE,
    W.ON_THE_WAY: frozenset({W.ARRIVED, W.COMPLETED, W.CANCELLED}) | _REFUSE,
    W.ARRIVED: frozenset({W.COMPLETED, W.CANCELLED}) | _REFUSE,
    W.RETURNED: frozenset({W.ASSIGNED, W.CANCELLED}),
    W.ARBITRATION: frozenset({W.ASSIGNED, W.CANCELLED}),
    W.COMPLETED: frozenset(),
    W.CANCELLED: frozenset(),
}

# With a technician or department, being worked: the technician's list shows these.
FIELD_WORK_ORDER_STATES = frozenset({W.ASSIGNED, W.ACCEPTED, W.ON_THE_WAY, W.ARRIVED})
# Not finished: a ticket with one of these cannot resolve, and nothing is lost in a bounce.
OPEN_WORK_ORDER_STATES = FIELD_WORK_ORDER_STATES | _REFUSE
# A dispatcher may move these; an order in arbitration waits for the supervisor's decision.
REASSIGNABLE_WORK_ORDER_STATES = FIELD_WORK_ORDER_STATES | {W.RETURNED}

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


def next_incident_state(current: IncidentState, attempted: IncidentState) -> IncidentState:
    if attempted not in INCIDENT_TRANSITIONS[current]:
        raise InvalidTransition("incident", current, attempted)
    return attempted


def next_work_order_state(current: WorkOrderState, attempted: WorkOrderState) -> WorkOrderState:
    if attempted not in WORK_ORDER_TRANSITIONS[current]:
        raise InvalidTransition("work order", current, attempted)
    return attempted


@dataclass(frozen=True, slots=True)
class RefusalFacts:
    """What decides where a refused order goes, loaded by the service."""

    work_order_id: int
    state: WorkOrderState
    final: bool  # decided by arbitration
    refusals_before: int  # earlier refusals of this order
    overridden: bool  # its current hand-over sent it back to a department that had refused it


def refusal_target(facts: RefusalFacts, threshold: int) -> WorkOrderState:
    """`returned` (the dispatcher decides), or `arbitration` when this is the `threshold`-th
    refusal or a refusal of a dispatcher's override. A final order cannot be refused."""
    if facts.final:
        raise RefusalNotAllowed(facts.work_order_id, "decided by arbitration")
    escalate = facts.overridden or facts.refusals_before + 1 >= threshold
    return next_work_order_state(facts.state, W.ARBITRATION if escalate else W.RETURNED)


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the guards need to know about a ticket, loaded by the service."""

    ticket_id: int
    state: TicketState
    is_complaint: bool
    open_work_order_ids: tuple[int, ...] = ()
    open_incident_id: int | None = None  # a child of this open incident
    needs_confirmation: bool = False  # its category closes only on the customer's confirmation
    confirmed: bool = False  # the customer confirmed the current resolve (follow-up, IVR, SMS)
    merged_from: tuple[int, ...] = ()  # tickets merged into this one (it carries their calls)


def check_ticket_transition(
    facts: TicketFacts, attempted: TicketState, actor: Actor, *, merge_into: int | None = None
) -> TicketState:
    """The table first (a clear InvalidTransition), then the business guards.

    `merged` is reached only by a merge, which names the survivor (`merge_into`): a bare
    step to it would close a ticket with no pointer to where its calls went."""
    target = next_ticket_state(facts.state, attempted)
    if target is T.MERGED and (merge_into is None or merge_into == facts.ticket_id):
        raise RuleViolation(f"ticket {facts.ticket_id} can only be merged into another ticket")
    if target is T.CANCELLED and facts.merged_from:
        raise MergedTicketsCarried(facts.ticket_id, list(facts.merged_from))
    if target is T.DISPATCHED and facts.open_incident_id is not None:
        raise IncidentOpen(facts.ticket_id, facts.open_incident_id)
    if target is T.RESOLVED and facts.open_work_order_ids:
        raise WorkOrdersOpen(facts.ticket_id, list(facts.open_work_order_ids))
    if target is T.CLOSED and facts.needs_confirmation and not facts.confirmed:
        raise ConfirmationRequired(facts.ticket_id)
    if target is T.CLOSED and facts.is_complaint and not actor.is_supervisor:
        raise Forbidden(f"ticket {facts.ticket_id} is a complaint: only a supervisor may close it")
    return target


def check_merge(duplicate: TicketFacts, survivor: TicketFacts, actor: Actor) -> TicketState:
    """A merge of `duplicate` into `survivor`: both checked, the duplicate's step returned."""
    if survivor.state not in MERGE_SURVIVOR_STATES:
        raise RuleViolation(
            f"ticket {survivor.ticket_id} is {survivor.state.value}: only an open ticket takes a merge"
        )
    if (
        duplicate.open_incident_id is not None
        and survivor.open_incident_id is not None
        and duplicate.open_incident_id != survivor.open_incident_id
    ):
        raise RuleViolation("the two tickets belong to different incidents")
    return check_ticket_transition(duplicate, T.MERGED, actor, merge_into=survivor.ticket_id)
