"""What the service desk tells the rest of Hotline, after the fact (past tense, frozen).

Published to listeners (`ServiceDesk.subscribe`) only after the transaction that
caused them committed, so a listener never announces something that was rolled
back. Listeners (the console's websocket push, the wallboard) must be quick and
must not raise; an exception is logged and does not undo anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from tickets.models import TicketState


@dataclass(frozen=True, slots=True)
class TicketOpened:
    ticket_id: int
    at: datetime
    call_id: str | None
    customer_id: int | None
    category: str


@dataclass(frozen=True, slots=True)
class TicketChanged:
    """Any edit or transition. `from_state`/`to_state` equal when only fields changed."""

    ticket_id: int
    at: datetime
    actor: str
    from_state: TicketState
    to_state: TicketState
    version: int


@dataclass(frozen=True, slots=True)
class CallAttached:
    ticket_id: int
    call_id: str
    at: datetime
    ticket_is_new: bool


@dataclass(frozen=True, slots=True)
class SlaWarned:
    ticket_id: int
    stage: str
    due_at: datetime
    at: datetime


@dataclass(frozen=True, slots=True)
class SlaBreached:
    """Escalation: supervisors are to be told (the console pushes it to them)."""

    ticket_id: int
    stage: str
    due_at: datetime
    at: datetime


@dataclass(frozen=True, slots=True)
class TicketFlagged:
    """A ticket needs a supervisor: a complaint, a low satisfaction score."""

    ticket_id: int
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class FollowUpDue:
    follow_up_id: int
    ticket_id: int
    due_at: datetime


DeskEvent = (
    TicketOpened | TicketChanged | CallAttached | SlaWarned | SlaBreached | TicketFlagged | FollowUpDue
)


def when_follow_up_due(act: Callable[[int, int], None]) -> Callable[[DeskEvent], Awaitable[None]]:
    """A desk listener calling `act(follow_up_id, ticket_id)` for each FollowUpDue (the IVR survey)."""

    async def listener(event: DeskEvent) -> None:
        if isinstance(event, FollowUpDue):
            act(event.follow_up_id, event.ticket_id)

    return listener
