"""Refusing a work order (退单) with a reason, arbitration of bounced orders, verified closure."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.tickets.conftest import AGENT, SUPERVISOR, FakeClock
from tickets.config import DeskConfig
from tickets.errors import (
    ConfirmationRequired,
    Forbidden,
    InvalidField,
    InvalidTransition,
    RefusalNotAllowed,
)
from tickets.lifecycle import Actor
from tickets.models import TicketState, WorkOrderState
from tickets.schemas import (
    ArbitrationDecision,
    DepartmentCreate,
    FollowUpRecord,
    TechnicianCreate,
    TicketCreate,
    WorkOrderCreate,
    WorkOrderReassign,
    WorkOrderRefuse,
    WorkOrderReport,
)
from tickets.service import ServiceDesk

TECH = Actor("li", "technician")
TECH2 = Actor("wang", "technician")


async def _org(desk: ServiceDesk) -> dict[str, int]:
    water = await desk.work_orders.add_department(DepartmentCreate(code="water", name="供水部"), SUPERVISOR)
    power = await desk.work_orders.add_department(DepartmentCreate(code="power", name="供电部"), SUPERVISOR)
    li = await desk.work_orders.add_technician(
        TechnicianCreate(name="李师傅", department_id=water.id, login="li"), SUPERVISOR
    )
    wang = await desk.work_orders.add_technician(
        TechnicianCreate(name="王师傅", department_id=power.id, login="wang"), SUPERVISOR
    )
    return {"water": water.id, "power": power.id, "li": li.id, "wang": wang.id}


async def _dispatched(desk: ServiceDesk, technician_id: int, category: str = "general") -> tuple[int, int]:
    ticket = await desk.tickets.create(TicketCreate(subject="停水 no water", category=category), AGENT)
    await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
    order = await desk.work_orders.dispatch(
        ticket.id, WorkOrderCreate(version=2, technician_id=technician_id), SUPERVISOR
    )
    return ticket.id, order.id


async def _refuse(desk: ServiceDesk, order_id: int, actor: Actor = TECH, reason: str = "not_ours") -> str:
    order = await desk.work_orders.get(order_id)
    refused = await desk.work_orders.refuse(
        order_id, WorkOrderRefuse(version=order.version, reason=reason, note="不是本部门的活"), actor
    )
    return refused.state


async def test_a_refusal_returns_the_order_to_the_dispatcher_and_leaves_the_ticket_and_its_sla_alone(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    org = await _org(desk)
    ticket_id, order_id = await _dispatched(desk, org["li"])
    before = await desk.tickets.get(ticket_id)
    clock.advance(minutes=10)
    assert await _refuse(desk, order_id, reason="wrong_address") == WorkOrderState.RETURNED
    after = await desk.tickets.get(ticket_id)
    assert after.state is TicketState.DISPATCHED and after.version == before.version
    assert (after.resolve_due_at, after.sla_status) == (before.resolve_due_at, before.sla_status)
    assert await desk.work_orders.for_technician(org["li"]) == []  # off the technician's list
    refused = [e for e in await desk.timeline.for_ticket(ticket_id) if e.data.get("action") == "refused"]
    assert len(refused) == 1
    assert refused[0].actor == "li"
    assert (
        refused[0].data["reason"] == "wrong_address" and refused[0].data["refusal_note"] == "不是本部门的活"
    )
    with pytest.raises(InvalidTransition):  # a returned order is the dispatcher's, not a step of the visit
        await desk.work_orders.accept(order_id, WorkOrderReport(version=2), TECH)


async def test_an_unknown_reason_is_refused_naming_the_field_and_nothing_changes(desk: ServiceDesk) -> None:
    org = await _org(desk)
    _ticket_id, order_id = await _dispatched(desk, org["li"])
    with pytest.raises(InvalidField) as caught:
        await desk.work_orders.refuse(order_id, WorkOrderRefuse(version=1, reason="lazy", note="x"), TECH)
    assert caught.value.field == "reason"
    assert (await desk.work_orders.get(order_id)).state is WorkOrderState.ASSIGNED


async def test_the_second_refusal_goes_to_arbitration_and_the_decision_is_final(desk: ServiceDesk) -> None:
    org = await _org(desk)
    ticket_id, order_id = await _dispatched(desk, org["li"])
    await _refuse(desk, order_id)
    moved = await desk.work_orders.reassign(
        order_id, WorkOrderReassign(version=2, technician_id=org["wang"], note="供电部看看"), SUPERVISOR
    )
    assert moved.state is WorkOrderState.ASSIGNED and moved.department_id == org["power"]
    assert await _refuse(desk, order_id, TECH2) == WorkOrderState.ARBITRATION
    waiting = await desk.work_orders.get(order_id)
    with pytest.raises(InvalidTransition):  # the dispatcher cannot move it: the supervisor decides
        await desk.work_orders.reassign(
            order_id, WorkOrderReassign(version=waiting.version, technician_id=org["li"]), SUPERVISOR
        )
    decision = ArbitrationDecision(version=waiting.version, technician_id=org["li"], note="水表井属供水部")
    with pytest.raises(Forbidden):
        await desk.work_orders.decide(order_id, decision, AGENT)
    decided = await desk.work_orders.decide(order_id, decision, SUPERVISOR)
    assert (
        decided.state is WorkOrderState.ASSIGNED and decided.final and decided.department_id == org["water"]
    )
    with pytest.raises(RefusalNotAllowed):
        await _refuse(desk, order_id)
    kinds = [
        e.data.get("action") for e in await desk.timeline.for_ticket(ticket_id) if e.kind == "arbitration"
    ]
    assert kinds == ["opened", "decided"]
    done = await desk.work_orders.complete(order_id, WorkOrderReport(version=decided.version), TECH)
    assert done.state is WorkOrderState.COMPLETED
    assert (await desk.tickets.get(ticket_id)).state is TicketState.RESOLVED


async def test_a_refusal_after_the_dispatcher_overrode_one_goes_to_arbitration_at_once(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    desk = ServiceDesk(sessions, config=DeskConfig(arbitration_after_refusals=5), clock=clock)
    try:
        org = await _org(desk)
        _ticket_id, order_id = await _dispatched(desk, org["li"])
        await _refuse(desk, order_id)
        back = await desk.work_orders.reassign(
            order_id, WorkOrderReassign(version=2, technician_id=org["li"], note="就是你们的"), SUPERVISOR
        )
        assert back.state is WorkOrderState.ASSIGNED
        assert await _refuse(desk, order_id) == WorkOrderState.ARBITRATION
    finally:
        desk.close()


@pytest.fixture
def desk_config() -> DeskConfig:
    return DeskConfig(confirm_categories=["water"])


async def test_verified_closure_not_fixed_reopens_to_the_same_department_and_fixed_closes(
    desk: ServiceDesk,
) -> None:
    org = await _org(desk)
    ticket_id, order_id = await _dispatched(desk, org["li"], category="water")
    await desk.work_orders.complete(order_id, WorkOrderReport(version=1, note="换阀门"), TECH)
    resolved = await desk.tickets.get(ticket_id)
    assert resolved.state is TicketState.RESOLVED
    with pytest.raises(ConfirmationRequired):  # "resolved" is the department's claim
        await desk.tickets.close(ticket_id, version=resolved.version, actor=SUPERVISOR)
    follow = (await desk.follow_ups.for_ticket(ticket_id))[-1]
    await desk.follow_ups.record(follow.id, FollowUpRecord(outcome="还是没水", fixed=False), AGENT)
    reopened = await desk.tickets.get(ticket_id)
    assert reopened.state is TicketState.DISPATCHED
    assert reopened.flagged and reopened.flag_reason == "follow-up: not fixed"
    orders = await desk.work_orders.for_ticket(ticket_id)
    assert [o.state for o in orders] == [WorkOrderState.COMPLETED, WorkOrderState.ASSIGNED]
    assert orders[1].department_id == org["water"] and orders[1].technician_id == org["li"]
    await desk.work_orders.complete(orders[1].id, WorkOrderReport(version=1, note="换水表"), TECH)
    follow = (await desk.follow_ups.for_ticket(ticket_id))[-1]
    await desk.follow_ups.record(follow.id, FollowUpRecord(outcome="好了", fixed=True, score=5), AGENT)
    closed = await desk.tickets.get(ticket_id)
    assert closed.state is TicketState.CLOSED and closed.closed_at is not None
    assert not closed.flagged  # the customer says fixed: no red "not fixed" on a closed ticket
    assert (await desk.timeline.for_ticket(ticket_id))[-1].kind == "unflag"


async def test_a_category_without_confirmation_keeps_the_old_rule(desk: ServiceDesk) -> None:
    org = await _org(desk)
    ticket_id, order_id = await _dispatched(desk, org["li"], category="general")
    await desk.work_orders.complete(order_id, WorkOrderReport(version=1), TECH)
    resolved = await desk.tickets.get(ticket_id)
    closed = await desk.tickets.close(ticket_id, version=resolved.version, actor=AGENT)
    assert closed.state is TicketState.CLOSED


async def test_a_good_ivr_survey_score_confirms_a_verified_ticket(desk: ServiceDesk) -> None:
    org = await _org(desk)
    ticket_id, order_id = await _dispatched(desk, org["li"], category="water")
    await desk.work_orders.complete(order_id, WorkOrderReport(version=1), TECH)
    await desk.follow_ups.record_survey(ticket_id, 4, Actor("ivr", "system"))
    assert (await desk.tickets.get(ticket_id)).state is TicketState.CLOSED


async def test_an_sms_reply_confirms_or_reopens_the_ticket_of_that_number(desk: ServiceDesk) -> None:
    org = await _org(desk)
    sms = Actor("sms", "system")
    ticket = await desk.tickets.create(
        TicketCreate(subject="停水", category="water", caller="13800138000"), AGENT
    )
    await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
    order = await desk.work_orders.dispatch(
        ticket.id, WorkOrderCreate(version=2, technician_id=org["li"]), SUPERVISOR
    )
    await desk.work_orders.complete(order.id, WorkOrderReport(version=1), TECH)
    assert await desk.follow_ups.record_sms_reply("13800138000", "谢谢师傅", sms) is None  # not an answer
    assert await desk.follow_ups.record_sms_reply("13900139000", "1", sms) is None  # no ticket of that number
    assert (await desk.tickets.get(ticket.id)).state is TicketState.RESOLVED
    reply = await desk.follow_ups.record_sms_reply("+86 138 0013 8000", "未解决", sms)
    assert reply is not None and reply.channel == "sms" and reply.fixed is False
    assert (await desk.tickets.get(ticket.id)).state is TicketState.DISPATCHED  # back to the same department
    again = [o for o in await desk.work_orders.for_ticket(ticket.id) if o.state is WorkOrderState.ASSIGNED]
    await desk.work_orders.complete(again[0].id, WorkOrderReport(version=1), TECH)
    confirmed = await desk.follow_ups.record_sms_reply("13800138000", "5", sms)
    assert confirmed is not None and confirmed.score == 5
    assert (await desk.tickets.get(ticket.id)).state is TicketState.CLOSED
