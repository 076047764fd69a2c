"""Dispatch (调度): departments, technicians, work orders; a ticket resolves when its orders are done.

Dispatching moves the ticket to `dispatched` (from accepted or reopened) and adds
a work order; dispatching a ticket that is already dispatched adds another
order. The technician, or an agent on their behalf, records the visit's steps
(accepted, on the way, arrived, completed: `tickets.lifecycle`); a dispatcher may
move an open order to another technician (it is `assigned` again). When the last
open order of a dispatched ticket is completed, the ticket resolves in the same
transaction. Work orders carry their own version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from tickets.errors import AlreadyExists, Forbidden, InvalidField, InvalidTransition, NotFound, TicketConflict
from tickets.hops import close_hop, current_hop, open_hop, refusal_count, refused_by_departments
from tickets.lifecycle import (
    FIELD_WORK_ORDER_STATES,
    REASSIGNABLE_WORK_ORDER_STATES,
    SYSTEM,
    Actor,
    RefusalFacts,
    next_work_order_state,
    refusal_target,
)
from tickets.models import (
    Department,
    HopKind,
    HopOutcome,
    Technician,
    Ticket,
    TicketState,
    WorkOrder,
    WorkOrderState,
)
from tickets.phones import normalize
from tickets.schemas import (
    ArbitrationDecision,
    DepartmentCreate,
    DepartmentPublic,
    TechnicianCreate,
    TechnicianPublic,
    WorkOrderCreate,
    WorkOrderPublic,
    WorkOrderReassign,
    WorkOrderRefuse,
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

    async def technician_ids_of(self, login: str) -> set[int]:
        """The technician rows a sign-in account is linked to (usually one)."""
        async with self._ctx.sessions() as session:
            rows = (await session.exec(select(Technician.id).where(Technician.login == login))).all()
        return {i for i in rows if i is not None}

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
                appointment_start=data.appointment_start,
                due_at=data.due_at,
                site_address=site,
                instructions=data.instructions,
                created_by=actor.id,
                created_at=tx.now,
            )
            tx.session.add(order)
            await tx.session.flush()
            open_hop(tx, order, HopKind.DISPATCH, actor)
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
            if self._ctx.notices is not None:
                await self._ctx.notices.on_dispatched(tx, ticket, order)
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

    async def accept(self, work_order_id: int, data: WorkOrderReport, actor: Actor) -> WorkOrderPublic:
        return await self._step(work_order_id, WorkOrderState.ACCEPTED, data, actor)

    async def on_the_way(self, work_order_id: int, data: WorkOrderReport, actor: Actor) -> WorkOrderPublic:
        return await self._step(work_order_id, WorkOrderState.ON_THE_WAY, data, actor)

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
            if target is WorkOrderState.ACCEPTED:
                values["accepted_at"] = tx.now
            if target is WorkOrderState.ON_THE_WAY:
                values["on_the_way_at"] = tx.now
            if target is WorkOrderState.ARRIVED:
                values["arrived_at"] = tx.now
            if target is WorkOrderState.COMPLETED:
                values.update(completed_at=tx.now, result=data.note)
            order = await self._write(tx, order, data.version, values)
            if target is WorkOrderState.COMPLETED:
                await close_hop(tx, work_order_id, HopOutcome.COMPLETED, actor)
            if target is WorkOrderState.CANCELLED:
                await close_hop(tx, work_order_id, HopOutcome.CANCELLED, actor, note=data.note)
            step = f"work order {order.id}: {before.value} → {target.value}"
            tx.journal(
                order.ticket_id,
                "work_order",
                actor,
                f"{step}: {data.note}" if data.note else step,
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

    async def reassign(self, work_order_id: int, data: WorkOrderReassign, actor: Actor) -> WorkOrderPublic:
        """Another technician takes the open order over; it starts again at `assigned`."""
        async with self._ctx.tx() as tx:
            order = await tx.session.get(WorkOrder, work_order_id, populate_existing=True)
            if order is None:
                raise NotFound("work order", work_order_id)
            if order.version != data.version:
                raise TicketConflict(f"work order {order.id}", data.version, order.version)
            if order.state not in REASSIGNABLE_WORK_ORDER_STATES:
                raise InvalidTransition("work order", order.state, WorkOrderState.ASSIGNED)
            tech = await tx.session.get(Technician, data.technician_id)
            if tech is None or not tech.active:
                raise NotFound("technician", data.technician_id)
            before, before_tech = order.state, order.technician_id
            department_id = tech.department_id if tech.department_id is not None else order.department_id
            kind = HopKind.REASSIGN
            if before is WorkOrderState.RETURNED and department_id in await refused_by_departments(
                tx.session, work_order_id
            ):
                kind = HopKind.OVERRIDE  # back to a department that refused it: its next refusal escalates
            else:
                await close_hop(tx, work_order_id, HopOutcome.MOVED, actor)
            order = await self._write(tx, order, data.version, _handover(tech, department_id))
            open_hop(tx, order, kind, actor, data.note)
            tx.journal(
                order.ticket_id,
                "work_order",
                actor,
                data.note,
                work_order_id=order.id,
                action="overridden" if kind is HopKind.OVERRIDE else "reassigned",
                from_state=before.value,
                from_technician_id=before_tech,
                technician_id=tech.id,
                technician_name=tech.name,
                department_id=department_id,
            )
            tx.audit(
                actor,
                f"work_order.{'override' if kind is HopKind.OVERRIDE else 'reassign'}",
                f"ticket:{order.ticket_id}",
                work_order_id=order.id,
                from_technician_id=before_tech,
                technician_id=tech.id,
            )
        return _public(order)

    async def refuse(self, work_order_id: int, data: WorkOrderRefuse, actor: Actor) -> WorkOrderPublic:
        """退单: back to the dispatcher, or to arbitration; the ticket and its SLA are untouched."""
        reason = self._ctx.config.refusal_reason(data.reason)
        if reason is None:
            known = ", ".join(r.code for r in self._ctx.config.refusal_reasons)
            raise InvalidField("reason", f"unknown refusal reason {data.reason!r}; one of {known}")
        async with self._ctx.tx() as tx:
            order = await self._load(tx, work_order_id, data.version)
            hop = await current_hop(tx.session, work_order_id)
            facts = RefusalFacts(
                work_order_id,
                order.state,
                order.final,
                await refusal_count(tx.session, work_order_id),
                hop is not None and hop.kind is HopKind.OVERRIDE and hop.outcome is HopOutcome.OPEN,
            )
            target = refusal_target(facts, self._ctx.config.arbitration_after_refusals)
            before = order.state
            await close_hop(tx, work_order_id, HopOutcome.REFUSED, actor, reason=reason.code, note=data.note)
            order = await self._write(tx, order, data.version, {"state": target})
            tx.journal(
                order.ticket_id,
                "work_order",
                actor,
                f"work order {order.id} refused ({reason.en}): {data.note}",
                work_order_id=order.id,
                action="refused",
                from_state=before.value,
                reason=reason.code,
                refusal_note=data.note,
                department_id=order.department_id,
                technician_id=order.technician_id,
                to=target.value,
            )
            tx.audit(
                actor,
                "work_order.refuse",
                f"ticket:{order.ticket_id}",
                work_order_id=order.id,
                reason=reason.code,
                note=data.note,
                department_id=order.department_id,
                technician_id=order.technician_id,
                to=target.value,
            )
            if target is WorkOrderState.ARBITRATION:
                _to_arbitration(tx, order, facts)
        return _public(order)

    async def decide(self, work_order_id: int, data: ArbitrationDecision, actor: Actor) -> WorkOrderPublic:
        """A supervisor's arbitration: the order goes to this technician, final (no more refusals)."""
        if not actor.is_supervisor:
            raise Forbidden("only a supervisor decides an arbitration")
        async with self._ctx.tx() as tx:
            order = await self._load(tx, work_order_id, data.version)
            if order.state is not WorkOrderState.ARBITRATION:  # only a bounced order is arbitrated
                raise InvalidTransition("work order", order.state, WorkOrderState.ASSIGNED)
            target = next_work_order_state(order.state, WorkOrderState.ASSIGNED)
            tech = await tx.session.get(Technician, data.technician_id)
            if tech is None or not tech.active:
                raise NotFound("technician", data.technician_id)
            department_id = tech.department_id if tech.department_id is not None else order.department_id
            values = {**_handover(tech, department_id), "state": target, "final": True}
            order = await self._write(tx, order, data.version, values)
            open_hop(tx, order, HopKind.ARBITRATION, actor, data.note)
            tx.journal(
                order.ticket_id,
                "arbitration",
                actor,
                data.note,
                work_order_id=order.id,
                action="decided",
                technician_id=tech.id,
                technician_name=tech.name,
                department_id=department_id,
            )
            tx.audit(
                actor,
                "work_order.arbitrate",
                f"ticket:{order.ticket_id}",
                work_order_id=order.id,
                technician_id=tech.id,
                department_id=department_id,
                note=data.note,
            )
        return _public(order)

    async def _load(self, tx: Tx, work_order_id: int, expected: int) -> WorkOrder:
        order = await tx.session.get(WorkOrder, work_order_id, populate_existing=True)
        if order is None:
            raise NotFound("work order", work_order_id)
        if order.version != expected:
            raise TicketConflict(f"work order {order.id}", expected, order.version)
        return order

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
        if open_only:  # what the technician has to do: not their returned ones
            stmt = stmt.where(col(WorkOrder.state).in_(FIELD_WORK_ORDER_STATES))
        async with self._ctx.sessions() as session:
            rows = (await session.exec(stmt.order_by(col(WorkOrder.due_at), col(WorkOrder.id)))).all()
        return [_public(o) for o in rows]


def _to_arbitration(tx: Tx, order: WorkOrder, facts: RefusalFacts) -> None:
    """On the timeline and the audit log: why the order now waits for a supervisor."""
    if facts.overridden:
        why = "refused after a dispatcher's override"
    else:
        why = f"refused {facts.refusals_before + 1} times"
    tx.journal(
        order.ticket_id,
        "arbitration",
        SYSTEM,
        f"work order {order.id} goes to arbitration: {why}",
        work_order_id=order.id,
        action="opened",
    )
    tx.audit(SYSTEM, "work_order.arbitration", f"ticket:{order.ticket_id}", work_order_id=order.id, why=why)


def _handover(tech: Technician, department_id: int | None) -> dict[str, Any]:
    """The columns of an order given to `tech`: assigned again, the visit's times cleared."""
    return {
        "technician_id": tech.id,
        "department_id": department_id,
        "state": WorkOrderState.ASSIGNED,
        "accepted_at": None,
        "on_the_way_at": None,
        "arrived_at": None,
    }


async def redispatch_after_reopen(tx: Tx, ctx: DeskContext, ticket: Ticket, actor: Actor, note: str) -> None:
    """A "not fixed" follow-up: the reopened ticket goes back to the department (and technician)
    whose order resolved it, as a new order with a `reopen` hop, counted against them."""
    ticket_id = ticket.id
    assert ticket_id is not None
    last = (
        await tx.session.exec(
            select(WorkOrder)
            .where(WorkOrder.ticket_id == ticket_id, WorkOrder.state == WorkOrderState.COMPLETED)
            .order_by(col(WorkOrder.completed_at).desc(), col(WorkOrder.id).desc())
            .limit(1)
        )
    ).first()
    if last is None:
        return  # resolved without an order: the agent who resolved it takes it up again
    ticket = await apply_transition(
        tx, ctx, ticket, TicketState.DISPATCHED, actor=actor, expected=ticket.version, note=note
    )
    order = WorkOrder(
        ticket_id=ticket_id,
        department_id=last.department_id,
        technician_id=last.technician_id,
        site_address=last.site_address,
        instructions=f"{note} (after work order {last.id})",
        created_by=actor.id,
        created_at=tx.now,
    )
    tx.session.add(order)
    await tx.session.flush()
    open_hop(tx, order, HopKind.REOPEN, actor, note)
    tx.journal(
        ticket_id,
        "work_order",
        actor,
        f"work order {order.id}: reopened to the same department ({note})",
        work_order_id=order.id,
        action="reopened",
        after_work_order_id=last.id,
        department_id=last.department_id,
        technician_id=last.technician_id,
    )
    tx.audit(
        actor,
        "work_order.reopen",
        f"ticket:{ticket_id}",
        work_order_id=order.id,
        after_work_order_id=last.id,
        department_id=last.department_id,
    )
