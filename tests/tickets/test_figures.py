"""Responsibility figures counted from the hand-overs: stage times, refusals by reason, breaches."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.tickets.conftest import AGENT, SUPERVISOR, T0, FakeClock
from tests.tickets.test_refusals import TECH, _org
from tickets.config import DeskConfig, SlaPolicySpec
from tickets.schemas import TicketCreate, WorkOrderCreate, WorkOrderReassign, WorkOrderRefuse, WorkOrderReport
from tickets.service import ServiceDesk


async def test_stage_times_refusals_and_an_sla_breach_land_on_who_held_the_order(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    policy = SlaPolicySpec(name="fast", resolve_within_min=60, business_hours=False)
    desk = ServiceDesk(sessions, config=DeskConfig(sla_policies=[policy]), clock=clock)
    try:
        org = await _org(desk)
        ticket = await desk.tickets.create(TicketCreate(subject="停电"), AGENT)
        await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
        clock.advance(minutes=5)
        order = await desk.work_orders.dispatch(
            ticket.id, WorkOrderCreate(version=2, technician_id=org["wang"]), SUPERVISOR
        )
        clock.advance(minutes=10)
        await desk.work_orders.refuse(
            order.id, WorkOrderRefuse(version=1, reason="not_ours", note="水的问题"), TECH
        )
        await desk.work_orders.reassign(
            order.id, WorkOrderReassign(version=2, technician_id=org["li"]), SUPERVISOR
        )
        clock.advance(minutes=20)
        await desk.work_orders.accept(order.id, WorkOrderReport(version=3), TECH)
        clock.advance(minutes=10)
        await desk.work_orders.arrive(order.id, WorkOrderReport(version=4), TECH)
        clock.advance(minutes=30)  # 75 minutes after the report: the resolve deadline has passed
        await desk.sla_worker.run_due(clock.now)
        await desk.work_orders.complete(order.id, WorkOrderReport(version=5), TECH)

        rows = await desk.figures.responsibility(T0 - timedelta(days=1), clock.now + timedelta(seconds=1))
        water = next(r for r in rows.departments if r.key == org["water"])
        power = next(r for r in rows.departments if r.key == org["power"])
        assert (power.received, power.refused, power.refused_by_reason, power.bounced) == (
            1,
            1,
            {"not_ours": 1},
            1,
        )
        assert (water.received, water.refused, water.completed, water.first_time_right) == (1, 0, 1, 0)
        assert water.stage_seconds["accept"] == 20 * 60
        assert water.stage_seconds["on_site"] == 30 * 60
        assert water.stage_seconds["resolve"] == 60 * 60
        assert water.stage_seconds["dispatch"] == 15 * 60  # from the report until it reached them
        assert (water.sla_breaches, power.sla_breaches) == (1, 0)
        li = next(r for r in rows.technicians if r.key == org["li"])
        assert li.completed == 1 and li.sla_breaches == 1
    finally:
        desk.close()
