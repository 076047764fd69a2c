"""One unit of work: rows first, then audit entries, commit, then events to listeners.

Audit appends lock the single `audit_head` row until commit. Taking that lock
*last* keeps lock order the same in every transaction (ticket rows, then the
audit head), so two desk transactions can wait for each other but never
deadlock, and the head is held only for the commit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditIn
from config.database import utcnow
from tickets.config import DeskConfig
from tickets.events import DeskEvent
from tickets.lifecycle import Actor
from tickets.models import Incident, Ticket, TicketEvent, WorkOrder
from tickets.reads import Reads
from tickets.sla import SlaBook

log = logging.getLogger(__name__)

Listener = Callable[[DeskEvent], Awaitable[None]]
Clock = Callable[[], datetime]


class AuditSink(Protocol):
    """`audit.log.AuditLog` is the real one; it joins the caller's transaction."""

    async def append(
        self,
        session: AsyncSession,
        *,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, object] | None = None,
        source_ip: str | None = None,
        outcome: str = "ok",
    ) -> Any: ...

    async def append_many(self, session: AsyncSession, entries: Sequence[AuditIn]) -> Any: ...


class NoticeWriter(Protocol):
    """Writes customer notifications into the outbox inside the step's own transaction."""

    async def on_dispatched(self, tx: Tx, ticket: Ticket, order: WorkOrder) -> None: ...

    async def on_resolved(self, tx: Tx, ticket: Ticket) -> None: ...

    async def on_incident_resolved(self, tx: Tx, ticket: Ticket, incident: Incident) -> None: ...


@dataclass
class DeskContext:
    """What every part of the desk shares; built once by `ServiceDesk`."""

    sessions: async_sessionmaker[AsyncSession]
    config: DeskConfig
    audit: AuditSink
    clock: Clock = utcnow
    sla: SlaBook = field(init=False)
    reads: Reads = field(init=False)
    listeners: list[Listener] = field(default_factory=list)
    notices: NoticeWriter | None = None  # tickets.notices.Notices: the customer-SMS outbox

    def __post_init__(self) -> None:
        self.sla = SlaBook(self.config)
        self.reads = Reads(self.sessions)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        async with self.sessions() as session:
            tx = Tx(session, self.clock())
            yield tx
            await session.flush()
            if tx.audits:  # one head bump for all of them: three statements, not three each
                await self.audit.append_many(
                    session,
                    [
                        AuditIn(actor.id, action, subject, {"role": actor.role, **detail}, actor.source_ip)
                        for actor, action, subject, detail in tx.audits
                    ],
                )
            await session.commit()
        for event in tx.events:
            await self._deliver(event)

    async def _deliver(self, event: DeskEvent) -> None:
        for listener in self.listeners:
            try:
                await listener(event)
            except Exception:
                log.exception("desk listener %r failed on %r", listener, event)


@dataclass
class Tx:
    session: AsyncSession
    now: datetime
    audits: list[tuple[Actor, str, str, dict[str, object]]] = field(default_factory=list)
    events: list[DeskEvent] = field(default_factory=list)

    def audit(self, actor: Actor, action: str, subject: str, **detail: object) -> None:
        self.audits.append((actor, action, subject, detail))

    def publish(self, event: DeskEvent) -> None:
        self.events.append(event)

    def journal(
        self,
        ticket_id: int,
        kind: str,
        actor: Actor | str,
        note: str = "",
        *,
        from_state: str | None = None,
        to_state: str | None = None,
        at: datetime | None = None,
        **data: Any,
    ) -> TicketEvent:
        entry = TicketEvent(
            ticket_id=ticket_id,
            at=at or self.now,
            kind=kind,
            actor=actor.id if isinstance(actor, Actor) else actor,
            from_state=from_state,
            to_state=to_state,
            note=note,
            data=data,
        )
        self.session.add(entry)
        return entry
