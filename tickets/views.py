"""The service desk's read side for other parts of Hotline: the console, the wallboard, the pages.

Routes and the wallboard call these instead of `select()`ing the desk's tables
themselves; what they get back are read models of this module (or the
schemas'), and the enums a page needs are re-exported here, so nothing outside
tickets/ imports `tickets.models`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.models import (
    CustomerTier,
    SlaStatus,
    Ticket,
    TicketCall,
    TicketPriority,
    TicketState,
)
from tickets.schemas import FollowUpPublic

__all__ = [
    "Alert",
    "CallTicket",
    "CustomerTier",
    "DeskViews",
    "DueFollowUp",
    "SlaStatus",
    "TicketPriority",
    "TicketState",
]

_CLOSED = (TicketState.CLOSED, TicketState.CANCELLED)


@dataclass(frozen=True, slots=True)
class CallTicket:
    """The ticket a call is attached to, and the agent the desk recorded for the call."""

    call_id: str
    ticket_id: int
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class DueFollowUp:
    id: int
    ticket_id: int
    subject: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Alert:
    """An open ticket a supervisor should see: SLA breached, a complaint, or flagged."""

    ticket_id: int
    kind: str  # sla | complaint | flagged
    subject: str
    reason: str
    state: TicketState
    queue: str | None
    owner: str | None
    due_at: datetime | None
    updated_at: datetime


class DeskViews:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def call_ticket(self, call_id: str) -> CallTicket | None:
        async with self._sessions() as session:
            link = await session.get(TicketCall, call_id)
        return None if link is None else CallTicket(link.call_id, link.ticket_id, link.agent_id)

    async def follow_ups_for(self, agent_id: str, due: Sequence[FollowUpPublic]) -> list[DueFollowUp]:
        """Of the `due` follow-ups, those on the agent's own tickets and on tickets nobody owns yet."""
        if not due:
            return []
        async with self._sessions() as session:
            tickets = {
                t.id: t
                for t in (
                    await session.exec(select(Ticket).where(col(Ticket.id).in_({f.ticket_id for f in due})))
                ).all()
            }
        items: list[DueFollowUp] = []
        for f in due:
            ticket = tickets.get(f.ticket_id)
            if ticket is None or ticket.owner_agent_id not in (None, agent_id):
                continue
            items.append(DueFollowUp(id=f.id, ticket_id=f.ticket_id, subject=ticket.subject, due_at=f.due_at))
        return items

    async def open_alerts(self, limit: int) -> list[Alert]:
        """Open tickets with a breached SLA, a complaint or a flag, most recently changed first."""
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(Ticket)
                    .where(col(Ticket.state).not_in(_CLOSED))
                    .where(
                        or_(
                            col(Ticket.sla_status) == SlaStatus.BREACHED,
                            col(Ticket.is_complaint),
                            col(Ticket.flagged),
                        )
                    )
                    .order_by(col(Ticket.updated_at).desc())
                    .limit(limit)
                )
            ).all()
        return [
            Alert(
                ticket_id=t.id or 0,
                kind=_alert_kind(t),
                subject=t.subject,
                reason=t.flag_reason,
                state=t.state,
                queue=t.queue,
                owner=t.owner_agent_id,
                due_at=t.resolve_due_at,
                updated_at=t.updated_at,
            )
            for t in rows
        ]


def _alert_kind(ticket: Ticket) -> str:
    if ticket.sla_status is SlaStatus.BREACHED:
        return "sla"
    return "complaint" if ticket.is_complaint else "flagged"
