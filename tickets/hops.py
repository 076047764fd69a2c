"""A work order's hand-overs (流转): who had it, from when, and how it ended.

Every place that gives an order to a department/technician opens a hop (`open_hop`) after
closing the one before (`close_hop`), in the same transaction as the order's own change, so
a bounce is visible as hops of one order — the order is never re-created and never lost.
The bounce, arbitration and responsibility figures (`tickets.figures`) count these rows.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.lifecycle import Actor
from tickets.models import HopKind, HopOutcome, WorkOrder, WorkOrderHop
from tickets.uow import Tx


def open_hop(tx: Tx, order: WorkOrder, kind: HopKind, actor: Actor | str, note: str = "") -> WorkOrderHop:
    """The order is now with its `department_id`/`technician_id` (as written on the row)."""
    assert order.id is not None
    hop = WorkOrderHop(
        work_order_id=order.id,
        ticket_id=order.ticket_id,
        department_id=order.department_id,
        technician_id=order.technician_id,
        kind=kind,
        assigned_at=tx.now,
        assigned_by=actor if isinstance(actor, str) else actor.id,
        note=note[:2000],
    )
    tx.session.add(hop)
    return hop


async def close_hop(
    tx: Tx,
    work_order_id: int,
    outcome: HopOutcome,
    actor: Actor | str,
    *,
    reason: str = "",
    note: str = "",
) -> None:
    """End the order's open hop (if any: orders made before hops existed have none)."""
    await tx.session.flush()
    values: dict[str, object] = {
        "outcome": outcome,
        "ended_at": tx.now,
        "ended_by": actor if isinstance(actor, str) else actor.id,
        "reason": reason,
    }
    if note:
        values["note"] = note[:2000]
    await tx.session.exec(
        update(WorkOrderHop)
        .where(col(WorkOrderHop.work_order_id) == work_order_id, col(WorkOrderHop.outcome) == HopOutcome.OPEN)
        .values(**values)
    )


async def current_hop(session: AsyncSession, work_order_id: int) -> WorkOrderHop | None:
    await session.flush()
    return (
        await session.exec(
            select(WorkOrderHop)
            .where(WorkOrderHop.work_order_id == work_order_id)
            .order_by(col(WorkOrderHop.id).desc())
            .limit(1)
        )
    ).first()


async def refusal_count(session: AsyncSession, work_order_id: int) -> int:
    rows = await session.exec(
        select(func.count())
        .select_from(WorkOrderHop)
        .where(WorkOrderHop.work_order_id == work_order_id, WorkOrderHop.outcome == HopOutcome.REFUSED)
    )
    return int(rows.one())


async def refused_by_departments(session: AsyncSession, work_order_id: int) -> set[int]:
    """The departments that have refused this order (an order sent back to one is an override)."""
    rows = await session.exec(
        select(WorkOrderHop.department_id).where(
            WorkOrderHop.work_order_id == work_order_id, WorkOrderHop.outcome == HopOutcome.REFUSED
        )
    )
    return {d for d in rows.all() if d is not None}


async def hops_of(session: AsyncSession, work_order_ids: set[int]) -> list[WorkOrderHop]:
    if not work_order_ids:
        return []
    rows = await session.exec(
        select(WorkOrderHop)
        .where(col(WorkOrderHop.work_order_id).in_(work_order_ids))
        .order_by(col(WorkOrderHop.id))
    )
    return list(rows.all())
