"""Dispatch: work orders for technicians; a ticket resolves when its orders are done."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.tickets.conftest import AGENT, T0, FakeClock
from tickets.errors import InvalidTransition, NotFound, TicketConflict, WorkOrdersOpen
from tickets.lifecycle import Actor
from tickets.models import TicketState, WorkOrderState
from tickets.schemas import (
    CustomerCreate,
    DepartmentCreate,
    TechnicianCreate,
    TicketCreate,
    WorkOrderCreate,
    WorkOrderReport,
)
from tickets.service import ServiceDesk

TECH = Actor("zhang", "agent")


async def _accepted_ticket(desk: ServiceDesk, **fields: object) -> int:
    ticket = await desk.tickets.create(TicketCreate(subject="电梯故障 lift broken", **fields), AGENT)  # type: ignore[arg-type]
    await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
    return ticket.id


async def _technician(desk: ServiceDesk) -> tuple[int, int]:
    dept = await desk.work_orders.add_department(DepartmentCreate(code="maint", name="维修部"), AGENT)
    tech = await desk.work_orders.add_technician(
        TechnicianCreate(name="张师傅", phone="139 0013 9000", department_id=dept.id, login="zhang"), AGENT
    )
    assert tech.phone == "+8613900139000"
    return dept.id, tech.id


async def test_dispatch_creates_an_order_and_completion_resolves_the_ticket(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    customer = await desk.customers.create(CustomerCreate(name="李", address="朝阳区建国路 88 号"), AGENT)
    ticket_id = await _accepted_ticket(desk, customer_id=customer.id)
    dept_id, tech_id = await _technician(desk)
    order = await desk.work_orders.dispatch(
        ticket_id,
        WorkOrderCreate(
            version=2, technician_id=tech_id, due_at=T0 + timedelta(hours=4), instructions="带配件"
        ),
        AGENT,
    )
    assert order.department_id == dept_id and order.site_address == "朝阳区建国路 88 号"
    assert (await desk.tickets.get(ticket_id)).state is TicketState.DISPATCHED
    assert [o.id for o in await desk.work_orders.for_technician(tech_id)] == [order.id]
    clock.advance(hours=1)
    arrived = await desk.work_orders.arrive(order.id, WorkOrderReport(version=1), TECH)
    assert arrived.state is WorkOrderState.ARRIVED and arrived.arrived_at == clock.now
    clock.advance(hours=1)
    done = await desk.work_orders.complete(order.id, WorkOrderReport(version=2, note="换了继电器"), TECH)
    assert done.state is WorkOrderState.COMPLETED and done.result == "换了继电器"
    ticket = await desk.tickets.get(ticket_id)
    assert ticket.state is TicketState.RESOLVED and ticket.resolved_at == clock.now
    kinds = [(e.kind, e.data.get("action")) for e in await desk.timeline.for_ticket(ticket_id)]
    assert ("work_order", "created") in kinds and ("work_order", "completed") in kinds


async def test_a_ticket_with_two_orders_resolves_only_when_both_are_done(desk: ServiceDesk) -> None:
    ticket_id = await _accepted_ticket(desk)
    first = await desk.work_orders.dispatch(ticket_id, WorkOrderCreate(version=2), AGENT)
    second = await desk.work_orders.dispatch(ticket_id, WorkOrderCreate(version=3), AGENT)
    version = (await desk.tickets.get(ticket_id)).version
    with pytest.raises(WorkOrdersOpen):
        await desk.tickets.resolve(ticket_id, version=version, actor=AGENT)
    await desk.work_orders.complete(first.id, WorkOrderReport(version=1), AGENT)
    assert (await desk.tickets.get(ticket_id)).state is TicketState.DISPATCHED
    await desk.work_orders.complete(second.id, WorkOrderReport(version=1), AGENT)
    assert (await desk.tickets.get(ticket_id)).state is TicketState.RESOLVED


async def test_cancelled_orders_do_not_block_resolution(desk: ServiceDesk) -> None:
    ticket_id = await _accepted_ticket(desk)
    order = await desk.work_orders.dispatch(ticket_id, WorkOrderCreate(version=2), AGENT)
    await desk.work_orders.cancel(order.id, WorkOrderReport(version=1, note="客户已自行修好"), AGENT)
    version = (await desk.tickets.get(ticket_id)).version
    assert (await desk.tickets.resolve(ticket_id, version=version, actor=AGENT)).state is TicketState.RESOLVED


async def test_work_order_steps_follow_their_table(desk: ServiceDesk) -> None:
    ticket_id = await _accepted_ticket(desk)
    order = await desk.work_orders.dispatch(ticket_id, WorkOrderCreate(version=2), AGENT)
    await desk.work_orders.complete(order.id, WorkOrderReport(version=1), AGENT)
    with pytest.raises(InvalidTransition, match="work order cannot go from 'completed' to 'arrived'"):
        await desk.work_orders.arrive(order.id, WorkOrderReport(version=2), AGENT)
    with pytest.raises(TicketConflict):
        await desk.work_orders.cancel(order.id, WorkOrderReport(version=1), AGENT)


async def test_a_reported_ticket_must_be_accepted_before_dispatch(desk: ServiceDesk) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="x"), AGENT)
    with pytest.raises(InvalidTransition, match="'reported' to 'dispatched'"):
        await desk.work_orders.dispatch(ticket.id, WorkOrderCreate(version=1), AGENT)
    assert await desk.work_orders.for_ticket(ticket.id) == []


async def test_dispatch_to_an_unknown_technician_is_refused(desk: ServiceDesk) -> None:
    ticket_id = await _accepted_ticket(desk)
    with pytest.raises(NotFound, match="technician 99"):
        await desk.work_orders.dispatch(ticket_id, WorkOrderCreate(version=2, technician_id=99), AGENT)
    assert (await desk.tickets.get(ticket_id)).state is TicketState.ACCEPTED


async def test_cancelling_a_dispatched_ticket_cancels_its_open_orders(desk: ServiceDesk) -> None:
    ticket_id = await _accepted_ticket(desk)
    order = await desk.work_orders.dispatch(ticket_id, WorkOrderCreate(version=2), AGENT)
    await desk.tickets.cancel(ticket_id, version=3, actor=AGENT)
    assert (await desk.work_orders.get(order.id)).state is WorkOrderState.CANCELLED
