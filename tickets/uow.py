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

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditIn
from config.database import utcnow
from tickets.config import DeskConfig
from tickets.events import DeskEvent
from tickets.lifecycle import Actor
from tickets.models import Incident, Ticket, TicketEvent, WorkOrder
from tickets.offer import OfferWriter
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

    def append_many_sync(self, conn: Connection, entries: Sequence[AuditIn]) -> Any: ...


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
    offers: OfferWriter = field(init=False)
    listeners: list[Listener] = field(default_factory=list)
    notices: NoticeWriter | None = None  # tickets.notices.Notices: the customer-SMS outbox

    def __post_init__(self) -> None:
        self.sla = SlaBook(self.config)
        self.reads = Reads(self.sessions)
        self.offers = OfferWriter(self.sessions)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        async with self.sessions() as session:
            tx = Tx(session, self.clock())
            yield tx
            await session.flush()
            if tx.audits:  # one head bump for all of them: three statements, not three each
                await self.audit.append_many(session, audit_entries(tx.audits))
            await session.commit()
        await self.deliver(tx.events)

    async def deliver(self, events: Sequence[DeskEvent]) -> None:
        """Hand committed events to the listeners (after the commit: never an event for a
        change that was rolled back)."""
        for event in events:
            await self._deliver(event)

    async def _deliver(self, event: DeskEvent) -> None:
        for listener in self.listeners:
            try:
                await listener(event)
            except Exception:
                log.exception("desk listener %r failed on %r", listener, event)


Audited = tuple[Actor, str, str, dict[str, object]]


def audit_entries(audits: Sequence[Audited]) -> list[AuditIn]:
    return [
        AuditIn(actor.id, action, subject, {"role": actor.role, **detail}, actor.source_ip)
        for actor, action, subject, detail in audits
    ]


class Recorder(Protocol):
    """What a desk step records beside its rows: `Tx` in a session, `Pending` in a
    synchronous unit of work (the offered call's write, `tickets.offer`)."""

    @property
    def now(self) -> datetime: ...

    def audit(self, actor: Actor, action: str, subject: str, **detail: object) -> None: ...

    def publish(self, event: DeskEvent) -> None: ...

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
    ) -> object: ...


@dataclass
class Pending:
    """A synchronous unit of work's journal rows, audit entries and events, written by it
    with Core statements (timeline rows in one executemany, the audit batch with one head bump)."""

    now: datetime
    journals: list[dict[str, Any]] = field(default_factory=list)
    audits: list[Audited] = field(default_factory=list)
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
    ) -> dict[str, Any]:
        """The same row `Tx.journal` adds (a `TicketEvent`), as the values of its insert."""
        row = {
            "ticket_id": ticket_id,
            "at": at or self.now,
            "kind": kind,
            "actor": actor.id if isinstance(actor, Actor) else actor,
            "from_state": None if from_state is None else str(from_state),
            "to_state": None if to_state is None else str(to_state),
            "note": note,
            "data": data,
        }
        self.journals.append(row)
        return row


@dataclass
class Tx:
    session: AsyncSession
    now: datetime
    audits: list[Audited] = field(default_factory=list)
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
