"""One chronological view per ticket, and ticket search with filters.

The timeline is the ticket's journal (`ticket_event`: calls, transitions, edits,
notes, work orders, follow-ups, SLA warnings and breaches) in time order, with
links to call recordings. Text search takes its candidates from `tickets.search`
(ticket number, phone in any form, customer name prefix, and substrings of subject,
description and notes through the FTS5 / pg_trgm indexes), then applies the filters.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import false, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from tickets.access import Viewer
from tickets.errors import NotFound
from tickets.models import SlaStatus, Ticket, TicketCall, TicketEvent, TicketState
from tickets.schemas import TicketPage, TicketPublic, TimelineEntry
from tickets.scope import scope_condition
from tickets.search import candidate_ids
from tickets.uow import DeskContext

_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
_PAGE = TypeAdapter(list[TicketPublic])

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
        before_id: int | None = None,
    ) -> TicketPage:
        """Tickets matching the filters, newest first; only those `viewer` may see, if given.

        `before_id` (the last id of the previous page) pages by key: `total` still counts every
        match, `items` start below that id."""
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
            if before_id is not None:  # keyset: a deep page costs what the first one does
                conditions.append(col(Ticket.id) < before_id)
            page = (
                sa_select(_TICKETS)
                .where(*conditions)
                .order_by(_TICKETS.c.id.desc())
                .offset(offset)
                .limit(limit)
            )
            rows = (await (await session.connection()).execute(page)).mappings().all()
        # Plain rows validated into the response models in one call: no ORM object per row.
        return TicketPage.model_construct(
            items=_PAGE.validate_python([dict(r) for r in rows]), total=int(total)
        )

    async def _text_condition(self, session: Any, q: str) -> Any:
        """The index-backed candidates of `tickets.search` (number, phone, name, text)."""
        config = self._ctx.config
        ids, _capped = await session.run_sync(candidate_ids, q, config.region, config.area_code)
        return col(Ticket.id).in_(ids) if ids else false()
