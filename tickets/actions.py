"""Which actions a person may take on a ticket now: derived from the lifecycle, never listed twice.

The ticket page shows one button per action returned here. Each lifecycle step is offered
exactly when `lifecycle.check_ticket_transition` would accept it for these facts and this
actor (the table *and* the guards: no resolve while work orders are open, a complaint is
closed by a supervisor), so a button the service would refuse is never drawn. The other
actions (notes, waiting, complaint, supervisor edits) follow the service's own rules:

    note        any ticket, by staff (notes change nothing, so they need no state)
    wait/resume open tickets (`OPEN_TICKET_STATES`); resume when it is waiting
    complaint   open tickets that are not complaints yet
    dispatch    wherever `dispatched` is a legal target, and on a dispatched ticket
                (another work order: `WorkOrders.dispatch` adds one without a transition)
    edit        supervisors and admins, on tickets that are not closed or cancelled
    merge       wherever `merged` is a legal target (the survivor is chosen on the form and
                checked by `lifecycle.check_merge` when the merge is done)

A child of an open incident is not dispatched (the lifecycle's guard hides the button).

Auditors (and any role that is not staff) get nothing: they read. Pure: no I/O.
"""

from __future__ import annotations

import enum

from tickets.errors import DeskError
from tickets.lifecycle import TICKET_TRANSITIONS, Actor, TicketFacts, check_ticket_transition
from tickets.models import OPEN_TICKET_STATES, TicketState

STAFF_ROLES = frozenset({"agent", "supervisor", "admin"})


class TicketAction(enum.StrEnum):
    ACCEPT = "accept"
    DISPATCH = "dispatch"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"
    WAIT = "wait"
    RESUME = "resume"
    NOTE = "note"
    COMPLAINT = "complaint"
    EDIT = "edit"
    MERGE = "merge"


STEP_TARGETS: dict[TicketAction, TicketState] = {
    TicketAction.ACCEPT: TicketState.ACCEPTED,
    TicketAction.DISPATCH: TicketState.DISPATCHED,
    TicketAction.RESOLVE: TicketState.RESOLVED,
    TicketAction.CLOSE: TicketState.CLOSED,
    TicketAction.REOPEN: TicketState.REOPENED,
    TicketAction.CANCEL: TicketState.CANCELLED,
}

# `WorkOrders.dispatch` on a ticket in one of these states adds an order without a transition.
DISPATCH_AGAIN_STATES = frozenset({TicketState.DISPATCHED})

_FINISHED = frozenset({TicketState.CLOSED, TicketState.CANCELLED, TicketState.MERGED})


def step_allowed(facts: TicketFacts, target: TicketState, actor: Actor) -> bool:
    """Whether the service would take this step (the lifecycle's own check, asked in advance)."""
    try:
        check_ticket_transition(facts, target, actor)
    except DeskError:
        return False
    return True


def legal_actions(facts: TicketFacts, actor: Actor, *, waiting: bool) -> tuple[TicketAction, ...]:
    """The actions to offer, in the order the page shows them."""
    if actor.role not in STAFF_ROLES:
        return ()
    offered: list[TicketAction] = []
    for action, target in STEP_TARGETS.items():
        again = (
            action is TicketAction.DISPATCH
            and facts.state in DISPATCH_AGAIN_STATES
            and facts.open_incident_id is None
        )
        if again or step_allowed(facts, target, actor):
            offered.append(action)
    if facts.state in OPEN_TICKET_STATES:
        offered.append(TicketAction.RESUME if waiting else TicketAction.WAIT)
        if not facts.is_complaint:
            offered.append(TicketAction.COMPLAINT)
    offered.append(TicketAction.NOTE)
    if TicketState.MERGED in TICKET_TRANSITIONS[facts.state]:
        offered.append(TicketAction.MERGE)
    if actor.is_supervisor and facts.state not in _FINISHED:
        offered.append(TicketAction.EDIT)
    return tuple(offered)
