"""Dispatch (调度): departments, technicians, work orders; a ticket resolves when its orders are done.

Dispatching moves the ticket to `dispatched` (from accepted or reopened) and adds
a work order; dispatching a ticket that is already dispatched adds another
order. The technician, or an agent on their behalf, records arrival and
completion. When the last open order of a dispatched ticket is completed, the
ticket resolves in the same transaction. Work orders carry their own version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from tickets.errors import AlreadyExists, NotFound, TicketConflict
from tickets.lifecycle import OPEN_WORK_ORDER_STATES, Actor, next_work_order_state
from tickets.models import Department, Technician, Ticket, TicketState, WorkOrder, WorkOrderState
from tickets.phones import normalize
from tickets.schemas import (
    DepartmentCreate,
    DepartmentPublic,
    TechnicianCreate,
    TechnicianPublic,
    WorkOrderCreate,
    WorkOrderPublic,
    WorkOrderReport,
)
from tickets.uow import DeskContext, Tx
from tickets.workflow import apply_transition, load_ticket, open_work_order_ids, write_ticket


def _public(order: WorkOrder) -> WorkOrderPublic:
    return WorkOrderPublic.model_validate(order, from_attributes=True)


class WorkOrders:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    # ------------------------------------------------------------------ organisation

    async def add_department(self, data: DepartmentCreate, actor: Actor) -> DepartmentPublic:
        async with self._ctx.tx() as tx:
            taken = await tx.session.exec(select(Department.id).where(Department.code == data.code))
            if taken.first() is not None:
                raise AlreadyExists("department", data.code)
            department = Department(code=data.code, name=data.name)
            tx.session.add(department)
            try:
                await tx.session.flush()
            except IntegrityError as exc:  # the same code added at the same moment
                raise AlreadyExists("department", data.code) from exc
            tx.audit(actor, "department.create", f"department:{department.id}", code=data.code)
        return DepartmentPublic.model_validate(department, from_attributes=True)

    async def departments(self) -> list[DepartmentPublic]:
        async with self._ctx.sessions() as session:
            rows = (await session.exec(select(Department).order_by(col(Department.code)))).all()
        return [DepartmentPublic.model_validate(d, from_attributes=True) for d in rows]

    async def add_technician(self, data: TechnicianCreate, actor: Actor) -> TechnicianPublic:
        phone = normalize(data.phone, self._ctx.config.region).e164 if data.phone else ""
        async with self._ctx.tx() as tx:
            if (
                data.department_id is not None
                and await tx.session.get(Department, data.department_id) is None
            ):
                raise NotFound("department", data.department_id)
            tech = Technician(name=data.name, phone=phone, department_id=data.department_id, login=data.login)
            tx.session.add(tech)
            await tx.session.flush()
            tx.audit(actor, "technician.create", f"technician:{tech.id}", name=data.name)
        return TechnicianPublic.model_validate(tech, from_attributes=True)

    async def technicians(self, department_id: int | None = None) -> list[TechnicianPublic]:
        stmt = select(Technician).where(col(Technician.active))
        if department_id is not None:
            stmt = stmt.where(Technician.department_id == department_id)
        async with self._ctx.sessions() as session:
            rows = (await session.exec(stmt.order_by(col(Technician.name)))).all()
        return [TechnicianPublic.model_validate(t, from_attributes=True) for t in rows]

    # ------------------------------------------------------------------ work orders

    async def dispatch(self, ticket_id: int, data: WorkOrderCreate, actor: Actor) -> WorkOrderPublic:
        """Create a work order; the ticket goes to `dispatched` unless it already is."""
        async with self._ctx.tx() as tx:
            ticket = await load_ticket(tx.session, ticket_id)
            department_id = await self._department_for(tx, data, ticket)
            site = data.site_address or await self._customer_address(tx, ticket)
            if ticket.state is TicketState.DISPATCHED:
                await write_ticket(tx, ticket, data.version, {})
            else:
                await apply_transition(
                    tx,
                    self._ctx,
                    ticket,
                    TicketState.DISPATCHED,
                    actor=actor,
                    expected=data.version,
                    note=data.note,
                )
            order = WorkOrder(
                ticket_id=ticket_id,
                department_id=department_id,
                technician_id=data.technician_id,
                due_at=data.due_at,
                site_address=site,
                instructions=data.instructions,
                created_by=actor.id,
                created_at=tx.now,
            )
            tx.session.add(order)
            await tx.session.flush()
            tx.journal(
                ticket_id,
                "work_order",
                actor,
                data.instructions,
                work_order_id=order.id,
                action="created",
                technician_id=data.technician_id,
            )
            tx.audit(
                actor,
                "work_order.create",
                f"ticket:{ticket_id}",
                work_order_id=order.id,
                technician_id=data.technician_id,
                department_id=department_id,
            )
        return _public(order)

    async def _department_for(self, tx: Tx, data: WorkOrderCreate, ticket: Ticket) -> int | None:
        if data.technician_id is not None:
            tech = await tx.session.get(Technician, data.technician_id)
            if tech is None or not tech.active:
                raise NotFound("technician", data.technician_id)
            if data.department_id is None:
                return tech.department_id
        if data.department_id is not None and await tx.session.get(Department, data.department_id) is None:
            raise NotFound("department", data.department_id)
        return data.department_id if data.department_id is not None else ticket.department_id

    async def _customer_address(self, tx: Tx, ticket: Ticket) -> str:
        from tickets.models import Customer

        customer = await tx.session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        return customer.address if customer else ""

    async def arrive(self, work_order_id: int, data: WorkOrderReport, actor: Actor) -> WorkOrderPublic:
        return await self._step(work_order_id, WorkOrderState.ARRIVED, data, actor)

    async def complete(self, work_order_id: int, data: WorkOrderReport, actor: Actor) -> WorkOrderPublic:
        return await self._step(work_order_id, WorkOrderState.COMPLETED, data, actor)

    async def cancel(self, work_order_id: int, data: WorkOrderReport, actor: Actor) -> WorkOrderPublic:
        return await self._step(work_order_id, WorkOrderState.CANCELLED, data, actor)

    async def _step(
        self, work_order_id: int, target: WorkOrderState, data: WorkOrderReport, actor: Actor
    ) -> WorkOrderPublic:
        async with self._ctx.tx() as tx:
            order = await tx.session.get(WorkOrder, work_order_id, populate_existing=True)
            if order is None:
                raise NotFound("work order", work_order_id)
            if order.version != data.version:
                raise TicketConflict(f"work order {order.id}", data.version, order.version)
            before = order.state
            target = next_work_order_state(order.state, target)
            values: dict[str, Any] = {"state": target}
            if target is WorkOrderState.ARRIVED:
                values["arrived_at"] = tx.now
            if target is WorkOrderState.COMPLETED:
                values.update(completed_at=tx.now, result=data.note)
            order = await self._write(tx, order, data.version, values)
            tx.journal(
                order.ticket_id,
                "work_order",
                actor,
                data.note,
                work_order_id=order.id,
                action=target.value,
                from_state=before.value,
            )
            tx.audit(
                actor,
                f"work_order.{target.value}",
                f"ticket:{order.ticket_id}",
                work_order_id=order.id,
                version=order.version,
            )
            if target is WorkOrderState.COMPLETED:
                await self._resolve_when_done(tx, order.ticket_id, actor)
        return _public(order)

    async def _write(self, tx: Tx, order: WorkOrder, expected: int, values: dict[str, Any]) -> WorkOrder:
        if order.version != expected:
            raise TicketConflict(f"work order {order.id}", expected, order.version)
        result = await tx.session.exec(
            update(WorkOrder)
            .where(col(WorkOrder.id) == order.id, col(WorkOrder.version) == expected)
            .values(**values, version=expected + 1)
        )
        if result.rowcount != 1:
            raise TicketConflict(f"work order {order.id}", expected, None)
        fresh = await tx.session.get(WorkOrder, order.id, populate_existing=True)
        assert fresh is not None
        return fresh

    async def _resolve_when_done(self, tx: Tx, ticket_id: int, actor: Actor) -> None:
        ticket = await load_ticket(tx.session, ticket_id)
        if ticket.state is TicketState.DISPATCHED and not await open_work_order_ids(tx.session, ticket_id):
            await apply_transition(
                tx,
                self._ctx,
                ticket,
                TicketState.RESOLVED,
                actor=actor,
                expected=ticket.version,
                note="all work orders completed",
            )

    async def get(self, work_order_id: int) -> WorkOrderPublic:
        async with self._ctx.sessions() as session:
            order = await session.get(WorkOrder, work_order_id)
        if order is None:
            raise NotFound("work order", work_order_id)
        return _public(order)

    async def for_ticket(self, ticket_id: int) -> list[WorkOrderPublic]:
        async with self._ctx.sessions() as session:
            rows = (
                await session.exec(
                    select(WorkOrder).where(WorkOrder.ticket_id == ticket_id).order_by(col(WorkOrder.id))
                )
            ).all()
        return [_public(o) for o in rows]

    async def for_technician(self, technician_id: int, *, open_only: bool = True) -> list[WorkOrderPublic]:
        stmt = select(WorkOrder).where(WorkOrder.technician_id == technician_id)
        if open_only:
            stmt = stmt.where(col(WorkOrder.state).in_(OPEN_WORK_ORDER_STATES))
        async with self._ctx.sessions() as session:
            rows = (await session.exec(stmt.order_by(col(WorkOrder.due_at), col(WorkOrder.id)))).all()
        return [_public(o) for o in rows]
