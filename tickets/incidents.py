"""Incidents (mass faults): one declared outage, its callers' tickets as children, resolved together.

    declare  a supervisor names the area (matched in customers' addresses) and/or the customer
             group (a tag), the category, a description in zh-CN and en and the expected
             restoration; who is affected is fixed then (`incident_customer`), so that linking
             a call is one indexed lookup (`open_incident_for`), not a text match per call
    link     the intake (tickets.calls) puts an affected caller's call on their open child
             ticket of the incident, else opens one: no dispatch, no work order (the lifecycle
             refuses to dispatch a child of an open incident)
    resolve  the incident is resolved (version-checked, audited), then its open children are
             resolved in batches, each with its follow-up as usual; each linked customer's
             number gets one text (`Notices.on_incident_resolved`, keyed per incident and number)

The IVR and the pop tell the caller and the agent it is known, with the expected time, in the
caller's language (`notice_for`). What can go wrong: a child with open work orders (it was
dispatched before it was linked, or got orders by a merge) is left open and its timeline says
why; a process stopped mid-way leaves children open, `resolve_children` picks them up again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.errors import NotFound, TicketConflict
from tickets.lifecycle import Actor, next_incident_state
from tickets.models import (
    OPEN_TICKET_STATES,
    Customer,
    Incident,
    IncidentCustomer,
    IncidentState,
    Ticket,
    TicketCall,
    TicketState,
)
from tickets.notices import window_text
from tickets.schemas import IncidentCreate, IncidentPublic, IncidentResolveIn, TicketPublic
from tickets.uow import DeskContext, Tx
from tickets.workflow import apply_transition, load_ticket, open_work_order_ids

BATCH = 50  # children resolved per transaction: a large outage never holds one long lock
LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class IncidentNotice:
    """What the IVR and the pop say of a known incident, per language (cti.twilio.ports.KnownIncident)."""

    incident_id: int
    description: Mapping[str, str]
    expected: Mapping[str, str]  # the expected restoration as the caller reads it; "" when unknown


def open_incident_for(session: Session, customer_ids: list[int]) -> Incident | None:
    """The newest open incident affecting one of these customers: one indexed lookup per call.

    Synchronous: the call intake runs it on the desk's read connection (`Reads.run`), an
    AsyncSession through `run_sync`."""
    if not customer_ids:
        return None
    stmt = (
        select(Incident)
        .join(IncidentCustomer, col(IncidentCustomer.incident_id) == col(Incident.id))
        .where(col(IncidentCustomer.customer_id).in_(customer_ids), Incident.state == IncidentState.OPEN)
        .order_by(col(Incident.declared_at).desc(), col(Incident.id).desc())
        .limit(1)
    )
    return session.execute(stmt).scalars().first()


def open_child_ticket(
    session: Session, incident_id: int, customer_ids: list[int], e164: str | None
) -> Ticket | None:
    """The caller's open ticket of this incident, if they called about it before."""
    who: list[Any] = [col(Ticket.customer_id).in_(customer_ids)]
    if e164 is not None:
        who.append(col(Ticket.caller_e164) == e164)
    stmt = (
        select(Ticket)
        .where(Ticket.incident_id == incident_id, col(Ticket.state).in_(OPEN_TICKET_STATES))
        .where(who[0] if len(who) == 1 else who[0] | who[1])
        .order_by(col(Ticket.id).desc())
        .limit(1)
    )
    return session.execute(stmt).scalars().first()


def notice_of(incident: Incident, zone: str) -> IncidentNotice:
    assert incident.id is not None
    descriptions = {"zh-CN": incident.description_zh, "en": incident.description_en}
    expected = {
        lang: window_text(incident.expected_at, lang, zone) if incident.expected_at else ""
        for lang in LANGUAGES
    }
    return IncidentNotice(incident.id, descriptions, expected)


def to_public(incident: Incident, calls: int = 0, children: int = 0) -> IncidentPublic:
    return IncidentPublic.model_validate({**incident.model_dump(), "calls": calls, "children": children})


class Incidents:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    # ------------------------------------------------------------------ declare
    async def declare(self, data: IncidentCreate, actor: Actor) -> IncidentPublic:
        """Open an incident and fix its affected customers (the area's and/or the group's)."""
        async with self._ctx.tx() as tx:
            ids = await _affected(tx.session, data.area, data.customer_tag)
            incident = Incident(
                **data.model_dump(),
                affected=len(ids),
                declared_by=actor.id,
                declared_at=tx.now,
                state=IncidentState.OPEN,
            )
            tx.session.add(incident)
            await tx.session.flush()
            assert incident.id is not None
            if ids:
                await tx.session.exec(
                    insert(IncidentCustomer).values(
                        [{"incident_id": incident.id, "customer_id": i} for i in ids]
                    )
                )
            tx.audit(
                actor,
                "incident.declare",
                f"incident:{incident.id}",
                category=incident.category,
                area=incident.area,
                customer_tag=incident.customer_tag,
                affected=len(ids),
                expected_at=incident.expected_at.isoformat() if incident.expected_at else None,
            )
        return to_public(incident)

    # ------------------------------------------------------------------ read side
    async def get(self, incident_id: int) -> IncidentPublic:
        async with self._ctx.sessions() as session:
            incident = await session.get(Incident, incident_id)
            if incident is None:
                raise NotFound("incident", incident_id)
            counts = await incident_counts(session, [incident_id])
        return to_public(incident, *counts.get(incident_id, (0, 0)))

    async def listing(self, *, open_only: bool = False, limit: int = 50) -> list[IncidentPublic]:
        """Newest first, with their call and child-ticket counts (the wallboard and the page)."""
        async with self._ctx.sessions() as session:
            stmt = select(Incident).order_by(col(Incident.id).desc()).limit(limit)
            if open_only:
                stmt = stmt.where(Incident.state == IncidentState.OPEN)
            rows = list((await session.exec(stmt)).all())
            counts = await incident_counts(session, [r.id for r in rows if r.id is not None])
        return [to_public(r, *counts.get(r.id or 0, (0, 0))) for r in rows]

    async def children(self, incident_id: int, limit: int = 500) -> list[TicketPublic]:
        """The incident's child tickets, oldest first (the incident's page)."""
        async with self._ctx.sessions() as session:
            rows = (
                await session.exec(
                    select(Ticket)
                    .where(Ticket.incident_id == incident_id)
                    .order_by(col(Ticket.id))
                    .limit(limit)
                )
            ).all()
        return [TicketPublic.model_validate(r, from_attributes=True) for r in rows]

    async def is_open(self, incident_id: int | None) -> bool:
        if incident_id is None:
            return False
        async with self._ctx.sessions() as session:
            state = (await session.exec(select(Incident.state).where(Incident.id == incident_id))).first()
        return state is IncidentState.OPEN

    async def notice_for_ticket(self, ticket_id: int) -> IncidentNotice | None:
        """The known-incident words for a ticket's pop, while its incident is open."""
        async with self._ctx.sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
            incident = (
                await session.get(Incident, ticket.incident_id) if ticket and ticket.incident_id else None
            )
        if incident is None or incident.state is not IncidentState.OPEN:
            return None
        return notice_of(incident, self._ctx.config.calendar.timezone)

    async def notice_for_customers(self, customer_ids: list[int]) -> IncidentNotice | None:
        async with self._ctx.sessions() as session:
            incident = await session.run_sync(open_incident_for, customer_ids)
        return notice_of(incident, self._ctx.config.calendar.timezone) if incident else None

    # ------------------------------------------------------------------ resolve
    async def resolve(self, incident_id: int, data: IncidentResolveIn, actor: Actor) -> IncidentPublic:
        """Resolve the incident, then its open children (each notified once, then followed up)."""
        async with self._ctx.tx() as tx:
            incident = await tx.session.get(
                Incident, incident_id, with_for_update=True, populate_existing=True
            )
            if incident is None:
                raise NotFound("incident", incident_id)
            if incident.version != data.version:
                raise TicketConflict(f"incident {incident_id}", data.version, incident.version)
            target = next_incident_state(incident.state, IncidentState.RESOLVED)
            result = await tx.session.exec(
                update(Incident)
                .where(col(Incident.id) == incident_id, col(Incident.version) == data.version)
                .values(
                    state=target,
                    resolved_by=actor.id,
                    resolved_at=tx.now,
                    resolution_note=data.note,
                    version=data.version + 1,
                )
            )
            if result.rowcount != 1:
                raise TicketConflict(f"incident {incident_id}", data.version, None)
            tx.audit(actor, "incident.resolve", f"incident:{incident_id}", note=data.note)
        await self.resolve_children(incident_id, actor, note=data.note)
        return await self.get(incident_id)

    async def resolve_children(self, incident_id: int, actor: Actor, *, note: str = "") -> int:
        """Resolve the open children of a resolved incident, a batch per transaction; returns how many.

        Safe to run again: only children still open are taken, and a text is keyed per
        incident and number, so nobody is told twice."""
        done = 0
        skipped: set[int] = set()
        while True:
            async with self._ctx.sessions() as session:
                incident = await session.get(Incident, incident_id)
                if incident is None:
                    raise NotFound("incident", incident_id)
                if incident.state is not IncidentState.RESOLVED:
                    return done
                stmt = (
                    select(Ticket.id)
                    .where(Ticket.incident_id == incident_id, col(Ticket.state).in_(OPEN_TICKET_STATES))
                    .order_by(col(Ticket.id))
                )
                if skipped:
                    stmt = stmt.where(col(Ticket.id).not_in(skipped))
                batch = [i for i in (await session.exec(stmt.limit(BATCH))).all() if i is not None]
            if not batch:
                return done
            for _attempt in range(3):  # a child edited meanwhile: read it again
                try:
                    resolved, left = await self._resolve_batch(incident, batch, actor, note)
                    break
                except (TicketConflict, DBAPIError):
                    continue
            else:
                resolved, left = 0, batch  # kept colliding: left open for the next run
            done += resolved
            skipped.update(left)

    async def _resolve_batch(
        self, incident: Incident, ticket_ids: list[int], actor: Actor, note: str
    ) -> tuple[int, list[int]]:
        resolved, left = 0, []
        reason = note or f"incident {incident.id} resolved"
        async with self._ctx.tx() as tx:
            for ticket_id in ticket_ids:
                ticket = await load_ticket(tx.session, ticket_id)
                if ticket.state not in OPEN_TICKET_STATES:
                    continue
                if not await self._resolve_child(tx, ticket, incident, actor, reason):
                    left.append(ticket_id)
                    continue
                resolved += 1
        return resolved, left

    async def _resolve_child(
        self, tx: Tx, ticket: Ticket, incident: Incident, actor: Actor, note: str
    ) -> bool:
        """reported → accepted → resolved (the table has no shortcut); the text goes first, so the
        ordinary resolve text sees the incident's and is not sent as well."""
        assert ticket.id is not None
        if await open_work_order_ids(tx.session, ticket.id):
            tx.journal(
                ticket.id, "incident", actor, f"incident {incident.id} resolved: open work orders, left open"
            )
            return False
        tx.journal(ticket.id, "incident", actor, f"incident {incident.id} resolved", incident_id=incident.id)
        if self._ctx.notices is not None:
            await self._ctx.notices.on_incident_resolved(tx, ticket, incident)
        if ticket.state is TicketState.REPORTED:
            ticket = await apply_transition(
                tx, self._ctx, ticket, TicketState.ACCEPTED, actor=actor, expected=ticket.version, note=note
            )
        await apply_transition(
            tx, self._ctx, ticket, TicketState.RESOLVED, actor=actor, expected=ticket.version, note=note
        )
        return True


async def _affected(session: AsyncSession, area: str, tag: str) -> list[int]:
    """Customers whose address contains `area` and (when given) who carry the group tag `tag`.

    Declared once per incident, so a scan is fine here: the tag is checked on the decoded list
    (a tag "A" must not match "AB"; the stored JSON text may escape non-ASCII, so no SQL match)."""
    stmt = select(Customer.id, Customer.tags)
    if area:
        stmt = stmt.where(col(Customer.address).contains(area, autoescape=True))
    rows = (await session.exec(stmt.order_by(col(Customer.id)))).all()
    return [int(i) for i, tags in rows if i is not None and (not tag or tag in (tags or []))]


async def incident_counts(session: AsyncSession, incident_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(calls, child tickets) per incident."""
    if not incident_ids:
        return {}
    children = dict(
        (
            await session.exec(
                select(Ticket.incident_id, func.count())
                .where(col(Ticket.incident_id).in_(incident_ids))
                .group_by(col(Ticket.incident_id))
            )
        ).all()
    )
    calls = dict(
        (
            await session.exec(
                select(Ticket.incident_id, func.count())
                .select_from(TicketCall)
                .join(Ticket, col(Ticket.id) == col(TicketCall.ticket_id))
                .where(col(Ticket.incident_id).in_(incident_ids))
                .group_by(col(Ticket.incident_id))
            )
        ).all()
    )
    return {i: (int(calls.get(i, 0)), int(children.get(i, 0))) for i in incident_ids}
