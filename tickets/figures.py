"""Responsibility figures (分清责任): per department and per technician, who held what, how long
each stage took, and what bounced, was arbitrated, reopened or breached.

Everything is counted from the work orders' hand-overs (`work_order_hop`), which hold who had
an order, from when, and how it ended, over the hand-overs that began in [start, end):

    received        distinct orders handed to them
    refused         their refusals, and per reason code (one order refused twice counts twice)
    bounced         distinct orders they refused at least once
    arbitrated      distinct orders they held that went to a supervisor's arbitration
    reopened        orders sent back to them because the follow-up said "not fixed"
    completed       orders they completed
    first-time-right  of the orders received, those completed on the first hand-over (no
                    refusal, no arbitration) and not reopened afterwards; a share of received
                    (an order made by a "not fixed" reopen is rework: never first-time-right)
    stage times     medians, in seconds, from the hand-over to them: accept (the technician
                    took it), on site (arrived), resolve (completed); dispatch is the time from
                    the ticket's report until the order reached them (bounces included)
    SLA breaches    SLA breaches of the ticket while they held one of its orders

Pure aggregation over rows loaded by `Figures.load`; the page and the CSV show the same rows.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.models import (
    Department,
    HopKind,
    HopOutcome,
    Technician,
    Ticket,
    TicketEvent,
    WorkOrder,
    WorkOrderHop,
)
from tickets.uow import DeskContext

STAGES = ("accept", "dispatch", "on_site", "resolve")


@dataclass(slots=True)
class Responsibility:
    """One department's or one technician's figures over the interval."""

    key: int  # department or technician id; 0: none
    name: str
    received: int = 0
    refused: int = 0
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    bounced: int = 0
    arbitrated: int = 0
    reopened: int = 0
    completed: int = 0
    first_time_right: int = 0
    sla_breaches: int = 0
    stage_seconds: dict[str, float | None] = field(default_factory=dict)

    @property
    def first_time_right_rate(self) -> float | None:
        return self.first_time_right / self.received if self.received else None


@dataclass(frozen=True, slots=True)
class FigureRows:
    departments: list[Responsibility]
    technicians: list[Responsibility]


@dataclass(slots=True)
class _Acc:
    row: Responsibility
    orders: set[int] = field(default_factory=set)
    bounced: set[int] = field(default_factory=set)
    arbitrated: set[int] = field(default_factory=set)
    ftr: set[int] = field(default_factory=set)
    times: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


def aggregate(
    hops: Iterable[WorkOrderHop],
    orders: dict[int, WorkOrder],
    tickets: dict[int, Ticket],
    breaches: Iterable[TicketEvent],
    names: dict[int, str],
    *,
    by: str,
) -> list[Responsibility]:
    """The figures keyed `by` "department" or "technician" (pure)."""
    hops = sorted(hops, key=lambda h: (h.assigned_at, h.id or 0))
    per_order: dict[int, list[WorkOrderHop]] = {}
    for hop in hops:
        per_order.setdefault(hop.work_order_id, []).append(hop)
    reopened_tickets: dict[int, list[datetime]] = {}
    for hop in hops:
        if hop.kind is HopKind.REOPEN:
            reopened_tickets.setdefault(hop.ticket_id, []).append(hop.assigned_at)
    acc: dict[int, _Acc] = {}

    def slot(hop: WorkOrderHop) -> _Acc:
        key = (hop.department_id if by == "department" else hop.technician_id) or 0
        if key not in acc:
            acc[key] = _Acc(Responsibility(key, names.get(key, "")))
        return acc[key]

    for order_id, chain in per_order.items():
        order = orders.get(order_id)
        ticket = tickets.get(chain[0].ticket_id)
        went_to_arbitration = any(h.kind is HopKind.ARBITRATION for h in chain)
        for i, hop in enumerate(chain):
            a = slot(hop)
            a.orders.add(order_id)
            if hop.kind is HopKind.REOPEN:
                a.row.reopened += 1
            if hop.outcome is HopOutcome.REFUSED:
                a.row.refused += 1
                a.row.refused_by_reason[hop.reason] = a.row.refused_by_reason.get(hop.reason, 0) + 1
                a.bounced.add(order_id)
            if went_to_arbitration and any(
                h.kind is HopKind.ARBITRATION and h.assigned_at >= hop.assigned_at for h in chain[i + 1 :]
            ):
                a.arbitrated.add(order_id)
            if ticket is not None:
                a.times["dispatch"].append(_seconds(ticket.created_at, hop.assigned_at) or 0.0)
            if hop.outcome is HopOutcome.COMPLETED and order is not None:
                a.row.completed += 1
                for stage, at in (
                    ("accept", order.accepted_at),
                    ("on_site", order.arrived_at),
                    ("resolve", order.completed_at),
                ):
                    took = _seconds(hop.assigned_at, at)
                    if took is not None:
                        a.times[stage].append(took)
                later_reopen = any(
                    at >= (hop.ended_at or hop.assigned_at) for at in reopened_tickets.get(hop.ticket_id, [])
                )
                if i == 0 and hop.kind is HopKind.DISPATCH and not later_reopen:  # rework is not
                    a.ftr.add(order_id)
    for event in breaches:
        holder = _holder(hops, event)
        if holder is not None:
            slot(holder).row.sla_breaches += 1
    rows = []
    for a in acc.values():
        a.row.received = len(a.orders)
        a.row.bounced = len(a.bounced)
        a.row.arbitrated = len(a.arbitrated)
        a.row.first_time_right = len(a.ftr)
        a.row.stage_seconds = {s: statistics.median(v) if v else None for s, v in a.times.items()}
        rows.append(a.row)
    return sorted(rows, key=lambda r: (r.key == 0, r.name, r.key))


def _holder(hops: list[WorkOrderHop], event: TicketEvent) -> WorkOrderHop | None:
    """The hand-over of the ticket's orders that was open when the SLA breached, if any."""
    held = [
        h
        for h in hops
        if h.ticket_id == event.ticket_id
        and h.assigned_at <= event.at
        and (h.ended_at is None or event.at <= h.ended_at)
    ]
    return held[-1] if held else None


class Figures:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    async def responsibility(self, start: datetime, end: datetime) -> FigureRows:
        async with self._ctx.sessions() as session:
            hops, orders, tickets, breaches = await _load(session, start, end)
            departments = {d.id or 0: d.name for d in (await session.exec(select(Department))).all()}
            technicians = {t.id or 0: t.name for t in (await session.exec(select(Technician))).all()}
        return FigureRows(
            aggregate(hops, orders, tickets, breaches, departments, by="department"),
            aggregate(hops, orders, tickets, breaches, technicians, by="technician"),
        )


async def _load(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[list[WorkOrderHop], dict[int, WorkOrder], dict[int, Ticket], list[TicketEvent]]:
    """The interval's hand-overs, and everything of their orders' and tickets' they are read with."""
    first = (
        select(WorkOrderHop.work_order_id)
        .where(col(WorkOrderHop.assigned_at) >= start, col(WorkOrderHop.assigned_at) < end)
        .distinct()
    )
    hops = list(
        (
            await session.exec(
                select(WorkOrderHop)
                .where(col(WorkOrderHop.work_order_id).in_(first))
                .order_by(col(WorkOrderHop.id))
            )
        ).all()
    )
    order_ids = {h.work_order_id for h in hops}
    ticket_ids = {h.ticket_id for h in hops}
    orders: dict[int, WorkOrder] = {}
    tickets: dict[int, Ticket] = {}
    breaches: list[TicketEvent] = []
    if order_ids:
        rows = await session.exec(select(WorkOrder).where(col(WorkOrder.id).in_(order_ids)))
        orders = {o.id or 0: o for o in rows.all()}
        found = await session.exec(select(Ticket).where(col(Ticket.id).in_(ticket_ids)))
        tickets = {t.id or 0: t for t in found.all()}
        breaches = list(
            (
                await session.exec(
                    select(TicketEvent).where(
                        col(TicketEvent.ticket_id).in_(ticket_ids), TicketEvent.kind == "sla_breach"
                    )
                )
            ).all()
        )
    return hops, orders, tickets, breaches
