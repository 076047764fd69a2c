"""One chronological view per ticket, and ticket search with filters.

The timeline is the ticket's journal (`ticket_event`: calls, transitions, edits,
notes, work orders, follow-ups, SLA warnings and breaches) in time order, with
links to call recordings. Search is a case-insensitive substring match over
subject, description and notes: it works for Chinese without a word segmenter,
at the cost of a scan over the filtered rows (filters are indexed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, or_
from sqlmodel import col, select

from tickets.access import Viewer
from tickets.customers import customer_ids_for_caller
from tickets.errors import NotFound
from tickets.models import SlaStatus, Ticket, TicketCall, TicketEvent, TicketState
from tickets.schemas import TicketPage, TimelineEntry
from tickets.scope import scope_condition
from tickets.uow import DeskContext
from tickets.workflow import to_public

RECORDING_LINK = "/api/recordings?call_id={call_id}"  # the recordings API lists by call


def _summary(event: TicketEvent) -> str:
    if event.kind == "transition":
        return f"{event.from_state} → {event.to_state}" + (f": {event.note}" if event.note else "")
    return event.note or event.kind.replace("_", " ")


class Timeline:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    async def for_ticket(self, ticket_id: int) -> list[TimelineEntry]:
        async with self._ctx.sessions() as session:
            if await session.get(Ticket, ticket_id) is None:
                raise NotFound("ticket", ticket_id)
            events = (
                await session.exec(
                    select(TicketEvent)
                    .where(TicketEvent.ticket_id == ticket_id)
                    .order_by(col(TicketEvent.at), col(TicketEvent.id))
                )
            ).all()
            calls = {
                c.call_id: c
                for c in (
                    await session.exec(select(TicketCall).where(TicketCall.ticket_id == ticket_id))
                ).all()
            }
        entries = []
        for event in events:
            call = calls.get(str(event.data.get("call_id", "")))
            link = RECORDING_LINK.format(call_id=call.call_id) if call and call.recording else None
            data: dict[str, Any] = dict(event.data)
            if call is not None:
                data.update(agent_id=call.agent_id, outcome=call.outcome)
            entries.append(
                TimelineEntry(
                    at=event.at,
                    kind=event.kind,
                    actor=event.actor,
                    summary=_summary(event),
                    from_state=event.from_state,
                    to_state=event.to_state,
                    link=link,
                    data=data,
                )
            )
        return entries

    async def search(
        self,
        q: str | None = None,
        *,
        state: list[TicketState] | None = None,
        category: str | None = None,
        assignee: str | None = None,
        customer_id: int | None = None,
        sla_status: SlaStatus | None = None,
        flagged: bool | None = None,
        limit: int = 50,
        offset: int = 0,
        viewer: Viewer | None = None,
    ) -> TicketPage:
        """Tickets matching the filters, newest first; only those `viewer` may see, if given."""
        conditions: list[Any] = []
        scoped = scope_condition(self._ctx.config.access, viewer) if viewer is not None else None
        if scoped is not None:
            conditions.append(scoped)
        if state:
            conditions.append(col(Ticket.state).in_(state))
        if category:
            conditions.append(Ticket.category == category)
        if assignee:
            conditions.append(Ticket.owner_agent_id == assignee)
        if customer_id is not None:
            conditions.append(Ticket.customer_id == customer_id)
        if sla_status is not None:
            conditions.append(Ticket.sla_status == sla_status)
        if flagged is not None:
            conditions.append(Ticket.flagged == flagged)
        async with self._ctx.sessions() as session:
            if q and q.strip():
                conditions.append(await self._text_condition(session, q.strip()))
            total = (await session.exec(select(func.count()).select_from(Ticket).where(*conditions))).one()
            rows = (
                await session.exec(
                    select(Ticket)
                    .where(*conditions)
                    .order_by(col(Ticket.id).desc())
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        return TicketPage(items=[to_public(t) for t in rows], total=int(total))

    async def _text_condition(self, session: Any, q: str) -> Any:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        noted = exists().where(
            col(TicketEvent.ticket_id) == col(Ticket.id),
            col(TicketEvent.note).ilike(pattern, escape="\\"),
        )
        options: list[Any] = [
            col(Ticket.subject).ilike(pattern, escape="\\"),
            col(Ticket.description).ilike(pattern, escape="\\"),
            noted,
        ]
        if q.lstrip("#").isdigit():
            options.append(col(Ticket.id) == int(q.lstrip("#")))
        config = self._ctx.config
        phone_customers = await customer_ids_for_caller(session, q, config.region, config.area_code)
        if phone_customers:
            options.append(col(Ticket.customer_id).in_(phone_customers))
        return or_(*options)
