"""Property: refusals, reassignments, arbitration, follow-up answers and reopens, tried in any
order with stale versions, leave only legal transitions, no ticket both open and closed, and
no work order lost in a bounce (each order has its hops; an open one exactly one open hop)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from config.database import create_engine, session_factory
from tests.tickets.conftest import AGENT, SUPERVISOR, FakeClock
from tickets.config import DeskConfig
from tickets.errors import DeskError
from tickets.hops import hops_of
from tickets.lifecycle import (
    FIELD_WORK_ORDER_STATES,
    OPEN_WORK_ORDER_STATES,
    TICKET_TRANSITIONS,
    WORK_ORDER_TRANSITIONS,
    Actor,
)
from tickets.models import OPEN_TICKET_STATES, FollowUpState, HopOutcome, TicketState, WorkOrderState
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

# Bounce steps weighted up, so runs reach arbitration and its decision, not only the visit.
OP_NAMES = (
    ["refuse"] * 4
    + ["reassign"] * 2
    + ["decide"] * 3
    + ["accept", "complete", "cancel_order", "dispatch"]
    + ["fixed", "not_fixed", "not_fixed", "close", "reopen"]
)
OPS = st.lists(
    st.tuples(
        st.sampled_from(OP_NAMES),
        st.integers(0, 3),  # which order / technician / reason
        st.sampled_from([False, False, False, True]),  # a stale version, now and then
    ),
    min_size=4,
    max_size=40,
)
# The walk, always among the examples: refuse, reassign, refuse (arbitration), decide,
# then a refusal of the final order, done, "not fixed" (reopened), done, "fixed" (closed).
WALK = [
    ("refuse", 0, False),
    ("reassign", 1, False),
    ("refuse", 0, False),
    ("decide", 0, False),
    ("refuse", 0, False),
    ("complete", 0, False),
    ("not_fixed", 0, False),
    ("close", 0, False),
    ("complete", 0, False),
    ("fixed", 0, False),
]
TECH = Actor("li", "technician")
REASONS = ("not_ours", "wrong_address", "needs_parts", "customer_absent")
_runs = itertools.count()


async def _try(desk: ServiceDesk, ticket_id: int, techs: list[int], op: str, pick: int, stale: bool) -> None:
    orders = await desk.work_orders.for_ticket(ticket_id)
    live = [o for o in orders if o.state in OPEN_WORK_ORDER_STATES] or orders  # mostly the ones in play
    order = live[pick % len(live)] if live else None
    ticket = await desk.tickets.get(ticket_id)
    version = ((order.version if order else 1) - 1 or 99) if stale else (order.version if order else 1)
    tech = techs[pick % len(techs)]
    if op == "refuse" and order:
        reason = REASONS[pick % len(REASONS)]
        await desk.work_orders.refuse(
            order.id, WorkOrderRefuse(version=version, reason=reason, note="n"), TECH
        )
    elif op == "reassign" and order:
        await desk.work_orders.reassign(
            order.id, WorkOrderReassign(version=version, technician_id=tech), SUPERVISOR
        )
    elif op == "decide" and order:
        decision = ArbitrationDecision(version=version, technician_id=tech, note="decided")
        await desk.work_orders.decide(order.id, decision, SUPERVISOR)
    elif op == "accept" and order:
        await desk.work_orders.accept(order.id, WorkOrderReport(version=version), TECH)
    elif op == "complete" and order:
        await desk.work_orders.complete(order.id, WorkOrderReport(version=version), TECH)
    elif op == "cancel_order" and order:
        await desk.work_orders.cancel(order.id, WorkOrderReport(version=version), SUPERVISOR)
    elif op == "dispatch":
        tv = ticket.version - 1 if stale else ticket.version
        await desk.work_orders.dispatch(
            ticket_id, WorkOrderCreate(version=tv, technician_id=tech), SUPERVISOR
        )
    elif op in ("fixed", "not_fixed"):
        pending = [f for f in await desk.follow_ups.for_ticket(ticket_id) if f.state is FollowUpState.PENDING]
        if pending:
            answer = FollowUpRecord(outcome=op, fixed=op == "fixed")
            await desk.follow_ups.record(pending[-1].id, answer, AGENT)
    elif op in ("close", "reopen"):
        tv = ticket.version - 1 if stale else ticket.version
        target = TicketState.CLOSED if op == "close" else TicketState.REOPENED
        await desk.tickets.transition(ticket_id, target, version=tv, actor=SUPERVISOR)


async def _check(desk: ServiceDesk, ticket_id: int) -> None:
    ticket = await desk.tickets.get(ticket_id)
    timeline = await desk.timeline.for_ticket(ticket_id)
    state = TicketState.REPORTED
    for entry in (e for e in timeline if e.kind == "transition"):
        assert TicketState(entry.from_state) is state
        assert TicketState(entry.to_state) in TICKET_TRANSITIONS[state]
        state = TicketState(entry.to_state)
    assert ticket.state is state
    # never both open and closed
    assert (ticket.state is TicketState.CLOSED) == (ticket.closed_at is not None)
    assert not (ticket.state in OPEN_TICKET_STATES and ticket.closed_at is not None)
    orders = await desk.work_orders.for_ticket(ticket_id)
    if ticket.state in (TicketState.RESOLVED, TicketState.CLOSED, TicketState.CANCELLED):
        assert not [o.id for o in orders if o.state in OPEN_WORK_ORDER_STATES]
    if ticket.state is TicketState.CLOSED:  # a verified category: only a "fixed" answer closes it
        done = [f for f in await desk.follow_ups.for_ticket(ticket_id) if f.state is FollowUpState.DONE]
        assert done and done[-1].fixed is True
    # no order lost in a bounce: every order made is there, with a history of hops
    made = {e.data["work_order_id"] for e in timeline if e.data.get("action") in ("created", "reopened")}
    assert made == {o.id for o in orders}
    async with desk.ctx.sessions() as session:
        hops = await hops_of(session, {o.id for o in orders})
    for order in orders:
        mine = [h for h in hops if h.work_order_id == order.id]
        assert mine, f"work order {order.id} has no hand-over"
        still_open = [h for h in mine if h.outcome is HopOutcome.OPEN]
        assert len(still_open) == (1 if order.state in FIELD_WORK_ORDER_STATES else 0), (order.state, mine)
        refusals = [
            e for e in timeline if e.data.get("action") == "refused" and e.data["work_order_id"] == order.id
        ]
        assert len(refusals) == sum(1 for h in mine if h.outcome is HopOutcome.REFUSED)
        for e in refusals:  # each refusal left a legal state
            assert WorkOrderState(e.data["to"]) in WORK_ORDER_TRANSITIONS[WorkOrderState(e.from_state)]
        decided = [
            e.at
            for e in timeline
            if e.data.get("action") == "decided" and e.data["work_order_id"] == order.id
        ]
        if decided:  # final: nobody refused it after the decision
            assert order.final and not [e for e in refusals if e.at > decided[0]]


async def _play(url: str, ops: list[tuple[str, int, bool]]) -> TicketState:
    engine = create_engine(url)
    clock = FakeClock()
    desk = ServiceDesk(session_factory(engine), config=DeskConfig(confirm_categories=["*"]), clock=clock)
    try:
        water = await desk.work_orders.add_department(DepartmentCreate(code="w", name="W"), SUPERVISOR)
        power = await desk.work_orders.add_department(DepartmentCreate(code="p", name="P"), SUPERVISOR)
        techs = [
            (
                await desk.work_orders.add_technician(
                    TechnicianCreate(name=n, department_id=d, login="li"), SUPERVISOR
                )
            ).id
            for n, d in (("a", water.id), ("b", power.id), ("c", water.id))
        ]
        ticket = await desk.tickets.create(TicketCreate(subject="property"), AGENT)
        await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
        await desk.work_orders.dispatch(
            ticket.id, WorkOrderCreate(version=2, technician_id=techs[0]), SUPERVISOR
        )
        for op, pick, stale in ops:
            clock.advance(minutes=1)
            with contextlib.suppress(DeskError):
                await _try(desk, ticket.id, techs, op, pick, stale)
            await _check(desk, ticket.id)
        return (await desk.tickets.get(ticket.id)).state
    finally:
        desk.close()
        await engine.dispose()


@pytest.fixture(scope="module")
def template_copy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bounce")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
@example(ops=WALK)
def test_bounces_arbitration_and_confirmation_keep_every_order_and_a_legal_history(
    ops: list[tuple[str, int, bool]], sqlite_template: Path, template_copy_dir: Path
) -> None:
    path = template_copy_dir / f"run-{next(_runs)}.db"
    shutil.copyfile(sqlite_template, path)
    final = asyncio.run(_play(f"sqlite+aiosqlite:///{path}", ops))
    if ops == WALK:
        assert final is TicketState.CLOSED
