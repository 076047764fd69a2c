"""The ticket access policy (`tickets.access`) as database questions: a filter for lists and
search, and "may this viewer see this ticket" for one ticket, including the rule that an
agent sees the tickets of the calls they took and that a technician sees only the tickets
(and work orders) assigned to them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.access import DeskAccess, Viewer, may_see
from tickets.models import FollowUp, Technician, Ticket, TicketCall, WorkOrder


def _took_a_call(viewer: Viewer) -> Any:
    return exists().where(
        col(TicketCall.ticket_id) == col(Ticket.id), col(TicketCall.agent_id) == viewer.login
    )


def _my_technician_ids(viewer: Viewer) -> Any:
    return select(Technician.id).where(Technician.login == viewer.login).scalar_subquery()


def _has_my_work_order(viewer: Viewer) -> Any:
    return exists().where(
        col(WorkOrder.ticket_id) == col(Ticket.id),
        col(WorkOrder.technician_id).in_(_my_technician_ids(viewer)),
    )


def scope_condition(access: DeskAccess, viewer: Viewer) -> Any | None:
    """A WHERE clause on `ticket` for what the viewer may see; None: everything."""
    if viewer.is_technician:
        return _has_my_work_order(viewer)
    if viewer.unrestricted or access is DeskAccess.SHARED:
        return None
    queues = list(viewer.queues)
    in_my_queues = or_(col(Ticket.queue).is_(None), col(Ticket.queue).in_(queues))
    mine = col(Ticket.owner_agent_id) == viewer.login
    if access is DeskAccess.QUEUE:
        return or_(mine, in_my_queues, _took_a_call(viewer))
    return or_(mine, col(Ticket.owner_agent_id).is_(None) & in_my_queues, _took_a_call(viewer))


async def may_see_ticket(
    session: AsyncSession, access: DeskAccess, viewer: Viewer, ticket_id: int
) -> bool | None:
    """True/False for an existing ticket; None when there is no such ticket."""
    row = (
        await session.exec(select(Ticket.queue, Ticket.owner_agent_id).where(Ticket.id == ticket_id))
    ).first()
    if row is None:
        return None
    if viewer.is_technician:
        mine = await session.exec(
            select(WorkOrder.id).where(
                WorkOrder.ticket_id == ticket_id, col(WorkOrder.technician_id).in_(_my_technician_ids(viewer))
            )
        )
        return mine.first() is not None
    if may_see(access, viewer, queue=row[0], owner=row[1]):
        return True
    took = await session.exec(
        select(TicketCall.call_id).where(
            TicketCall.ticket_id == ticket_id, TicketCall.agent_id == viewer.login
        )
    )
    return took.first() is not None


async def visible_ids(
    session: AsyncSession, access: DeskAccess, viewer: Viewer, ticket_ids: set[int]
) -> set[int]:
    """Which of these tickets the viewer may see (one query; all of them when unscoped)."""
    condition = scope_condition(access, viewer)
    if condition is None or not ticket_ids:
        return ticket_ids
    rows = await session.exec(select(Ticket.id).where(col(Ticket.id).in_(ticket_ids), condition))
    return {i for i in rows.all() if i is not None}


async def ticket_of_work_order(session: AsyncSession, work_order_id: int) -> int | None:
    return (await session.exec(select(WorkOrder.ticket_id).where(WorkOrder.id == work_order_id))).first()


async def ticket_of_follow_up(session: AsyncSession, follow_up_id: int) -> int | None:
    return (await session.exec(select(FollowUp.ticket_id).where(FollowUp.id == follow_up_id))).first()


async def work_order_is_mine(session: AsyncSession, viewer: Viewer, work_order_id: int) -> bool | None:
    """For a technician: whether the order is assigned to them (None: no such order)."""
    row = (
        await session.exec(
            select(WorkOrder.technician_id, Technician.login)
            .outerjoin(Technician, col(Technician.id) == col(WorkOrder.technician_id))
            .where(WorkOrder.id == work_order_id)
        )
    ).first()
    if row is None:
        return None
    return row[1] is not None and row[1] == viewer.login
