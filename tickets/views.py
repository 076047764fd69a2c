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
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.hops import hops_of
from tickets.incidents import incident_counts
from tickets.lifecycle import FIELD_WORK_ORDER_STATES, OPEN_WORK_ORDER_STATES
from tickets.models import (
    Customer,
    CustomerPhone,
    CustomerTier,
    Department,
    FollowUp,
    FollowUpState,
    HopOutcome,
    Incident,
    IncidentState,
    SlaStatus,
    Technician,
    Ticket,
    TicketCall,
    TicketPriority,
    TicketState,
    WorkOrder,
    WorkOrderState,
)
from tickets.schemas import FollowUpPublic

__all__ = [
    "Alert",
    "BoardOrder",
    "CallTicket",
    "CustomerTier",
    "DeskViews",
    "DueFollowUp",
    "FieldOrder",
    "FollowUpRow",
    "Refusal",
    "SlaStatus",
    "TicketPriority",
    "TicketState",
    "WorkOrderState",
]

_CLOSED = (TicketState.CLOSED, TicketState.CANCELLED, TicketState.MERGED)


@dataclass(frozen=True, slots=True)
class CallCustomer:
    """Who a call is from, as the desk matched it: the customer on the call's ticket."""

    call_id: str
    ticket_id: int
    name: str
    tier: str


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
class FieldOrder:
    """A work order as its technician sees it on the phone page: where to go, whom to call."""

    id: int
    ticket_id: int
    version: int
    state: WorkOrderState
    subject: str
    instructions: str
    site_address: str
    customer_name: str
    customer_phone: str  # E.164, "" when the desk has none
    due_at: datetime | None
    created_at: datetime
    final: bool = False  # decided by arbitration: it cannot be refused


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """A due follow-up (回访) on the follow-up page: whom to call about which ticket."""

    id: int
    ticket_id: int
    subject: str
    ticket_state: TicketState
    owner: str | None
    customer_id: int | None
    customer_name: str
    phone: str  # E.164: the ticket's caller, else the customer's first number; "" if none
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Refusal:
    """Who refused a work order, why (a reason code of the desk's list) and when."""

    by: str
    at: datetime
    reason: str
    note: str
    department: str  # name, "" when none
    technician: str  # name, "" when none


@dataclass(frozen=True, slots=True)
class BoardOrder:
    """An open work order on the dispatch board, with what a dispatcher weighs: age and SLA."""

    id: int
    ticket_id: int
    version: int
    state: WorkOrderState
    subject: str
    priority: TicketPriority
    department_id: int | None
    department: str  # name, "" when none
    technician_id: int | None
    technician: str  # name, "" when unassigned
    created_at: datetime
    due_at: datetime | None  # the appointment
    sla_status: SlaStatus  # the ticket's
    resolve_due_at: datetime | None  # the ticket's resolve deadline
    final: bool = False  # decided by arbitration
    refusals: tuple[Refusal, ...] = ()  # oldest first


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


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """An open incident on the wallboard: what, until when, and how many have called about it."""

    id: int
    category: str
    area: str
    customer_tag: str
    description_zh: str
    description_en: str
    expected_at: datetime | None
    declared_at: datetime
    calls: int
    children: int


class DeskViews:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def open_incidents(self, limit: int) -> list[OpenIncident]:
        """Open incidents, newest first, with the calls and tickets of their affected callers."""
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(Incident)
                    .where(Incident.state == IncidentState.OPEN)
                    .order_by(col(Incident.id).desc())
                    .limit(limit)
                )
            ).all()
            counts = await incident_counts(session, [r.id for r in rows if r.id is not None])
        return [
            OpenIncident(
                id=r.id or 0,
                category=r.category,
                area=r.area,
                customer_tag=r.customer_tag,
                description_zh=r.description_zh,
                description_en=r.description_en,
                expected_at=r.expected_at,
                declared_at=r.declared_at,
                calls=counts.get(r.id or 0, (0, 0))[0],
                children=counts.get(r.id or 0, (0, 0))[1],
            )
            for r in rows
        ]

    async def call_ticket(self, call_id: str) -> CallTicket | None:
        async with self._sessions() as session:
            link = await session.get(TicketCall, call_id)
        return None if link is None else CallTicket(link.call_id, link.ticket_id, link.agent_id)

    async def call_customer(self, call_id: str) -> CallCustomer | None:
        """The customer of the ticket a call joined (for the wallboard's waiting list); one indexed read."""
        query = (
            select(Customer.name, Customer.tier, TicketCall.ticket_id)
            .join(Ticket, col(Ticket.id) == col(TicketCall.ticket_id))
            .join(Customer, col(Customer.id) == col(Ticket.customer_id))
            .where(col(TicketCall.call_id) == call_id)
        )
        async with self._sessions() as session:
            row = (await session.exec(query)).first()
        return None if row is None else CallCustomer(call_id, row[2], row[0], str(row[1]))

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

    async def field_orders(self, login: str, *, limit: int = 100) -> list[FieldOrder]:
        """The open work orders of the technician signed in as `login`, soonest due first."""
        mine = select(Technician.id).where(Technician.login == login).scalar_subquery()
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(WorkOrder, Ticket, Customer)
                    .join(Ticket, col(Ticket.id) == col(WorkOrder.ticket_id))
                    .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
                    .where(col(WorkOrder.technician_id).in_(mine))
                    .where(col(WorkOrder.state).in_(FIELD_WORK_ORDER_STATES))
                    .order_by(col(WorkOrder.due_at), col(WorkOrder.id))
                    .limit(limit)
                )
            ).all()
            phones = await _first_phones(
                session, {c.id for _o, _t, c in rows if c is not None and c.id is not None}
            )
        return [
            FieldOrder(
                id=o.id or 0,
                ticket_id=o.ticket_id,
                version=o.version,
                state=o.state,
                subject=t.subject,
                instructions=o.instructions,
                site_address=o.site_address or (c.address if c else ""),
                customer_name=c.name if c else "",
                customer_phone=(phones.get(c.id or 0) if c else None) or t.caller_e164 or "",
                due_at=o.due_at,
                created_at=o.created_at,
                final=o.final,
            )
            for o, t, c in rows
        ]

    async def due_follow_ups(
        self, now: datetime, *, agent_id: str | None, limit: int = 200
    ) -> list[FollowUpRow]:
        """Pending follow-ups due by `now`, oldest first; for an agent only those on their own
        tickets and on tickets nobody owns (as the console's list)."""
        stmt = (
            select(FollowUp, Ticket, Customer)
            .join(Ticket, col(Ticket.id) == col(FollowUp.ticket_id))
            .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
            .where(FollowUp.state == FollowUpState.PENDING, col(FollowUp.due_at) <= now)
        )
        if agent_id is not None:
            stmt = stmt.where(
                or_(col(Ticket.owner_agent_id).is_(None), col(Ticket.owner_agent_id) == agent_id)
            )
        async with self._sessions() as session:
            rows = (
                await session.exec(stmt.order_by(col(FollowUp.due_at), col(FollowUp.id)).limit(limit))
            ).all()
            phones = await _first_phones(
                session, {c.id for _f, _t, c in rows if c is not None and c.id is not None}
            )
        return [
            FollowUpRow(
                id=f.id or 0,
                ticket_id=t.id or 0,
                subject=t.subject,
                ticket_state=t.state,
                owner=t.owner_agent_id,
                customer_id=c.id if c else None,
                customer_name=c.name if c else "",
                phone=t.caller_e164 or (phones.get(c.id or 0, "") if c else ""),
                due_at=f.due_at,
            )
            for f, t, c in rows
        ]

    async def upcoming_follow_ups(
        self, now: datetime, *, agent_id: str | None
    ) -> tuple[int, datetime | None]:
        """Pending follow-ups not yet due (the same tickets as `due_follow_ups`): how many, and
        when the next one is due, so an empty list can say when there will be work."""
        stmt = (
            select(func.count(), func.min(FollowUp.due_at))
            .select_from(FollowUp)
            .join(Ticket, col(Ticket.id) == col(FollowUp.ticket_id))
            .where(FollowUp.state == FollowUpState.PENDING, col(FollowUp.due_at) > now)
        )
        if agent_id is not None:
            stmt = stmt.where(
                or_(col(Ticket.owner_agent_id).is_(None), col(Ticket.owner_agent_id) == agent_id)
            )
        async with self._sessions() as session:
            count, first = (await session.exec(stmt)).one()
        return int(count or 0), first

    async def dispatch_board(
        self, *, limit: int = 500, states: frozenset[WorkOrderState] = OPEN_WORK_ORDER_STATES
    ) -> list[BoardOrder]:
        """Every open work order (returned and in arbitration too: nothing lost in a bounce), by
        department, then technician, oldest first, each with its refusals."""
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(WorkOrder, Ticket, Department, Technician)
                    .join(Ticket, col(Ticket.id) == col(WorkOrder.ticket_id))
                    .outerjoin(Department, col(Department.id) == col(WorkOrder.department_id))
                    .outerjoin(Technician, col(Technician.id) == col(WorkOrder.technician_id))
                    .where(col(WorkOrder.state).in_(states))
                    .order_by(col(Department.name), col(Technician.name), col(WorkOrder.created_at))
                    .limit(limit)
                )
            ).all()
            refusals = await _refusals(session, {o.id for o, _t, _d, _x in rows if o.id is not None})
        return [
            BoardOrder(
                id=o.id or 0,
                ticket_id=o.ticket_id,
                version=o.version,
                state=o.state,
                subject=t.subject,
                priority=t.priority,
                department_id=o.department_id,
                department=d.name if d else "",
                technician_id=o.technician_id,
                technician=tech.name if tech else "",
                created_at=o.created_at,
                due_at=o.due_at,
                sla_status=t.sla_status,
                resolve_due_at=t.resolve_due_at,
                final=o.final,
                refusals=tuple(refusals.get(o.id or 0, ())),
            )
            for o, t, d, tech in rows
        ]

    async def arbitration_list(self, *, limit: int = 200) -> list[BoardOrder]:
        """The supervisor's arbitration list: orders bounced too often, with every refusal."""
        return await self.dispatch_board(limit=limit, states=frozenset({WorkOrderState.ARBITRATION}))

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


async def _first_phones(session: AsyncSession, customer_ids: set[int]) -> dict[int, str]:
    """Each customer's first number (by entry order), for lists that show one phone per row."""
    phones: dict[int, str] = {}
    if customer_ids:
        rows = await session.exec(
            select(CustomerPhone.customer_id, CustomerPhone.e164)
            .where(col(CustomerPhone.customer_id).in_(customer_ids))
            .order_by(col(CustomerPhone.id))
        )
        for cid, e164 in rows.all():
            phones.setdefault(cid, e164)
    return phones


async def _refusals(session: AsyncSession, order_ids: set[int]) -> dict[int, list[Refusal]]:
    hops = [h for h in await hops_of(session, order_ids) if h.outcome is HopOutcome.REFUSED]
    names: dict[tuple[str, int], str] = {}
    dept_ids = {h.department_id for h in hops if h.department_id is not None}
    tech_ids = {h.technician_id for h in hops if h.technician_id is not None}
    if dept_ids:
        for d in (await session.exec(select(Department).where(col(Department.id).in_(dept_ids)))).all():
            names["d", d.id or 0] = d.name
    if tech_ids:
        for x in (await session.exec(select(Technician).where(col(Technician.id).in_(tech_ids)))).all():
            names["t", x.id or 0] = x.name
    found: dict[int, list[Refusal]] = {}
    for h in hops:
        found.setdefault(h.work_order_id, []).append(
            Refusal(
                by=h.ended_by or "",
                at=h.ended_at or h.assigned_at,
                reason=h.reason,
                note=h.note,
                department=names.get(("d", h.department_id or 0), ""),
                technician=names.get(("t", h.technician_id or 0), ""),
            )
        )
    return found
