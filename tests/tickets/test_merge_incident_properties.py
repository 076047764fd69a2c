"""Property: whatever is tried, in any order, with merges and an incident in the mix, every ticket's
journal holds only legal transitions, no ticket is both open and closed, a merged ticket points to
a live survivor and keeps no call or order, and every call is on exactly one ticket."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from config.database import create_engine, session_factory
from tests.tickets.conftest import AGENT, SUPERVISOR, T0, FakeClock, call_event
from tickets.errors import DeskError
from tickets.lifecycle import OPEN_WORK_ORDER_STATES, TICKET_TRANSITIONS
from tickets.models import OPEN_TICKET_STATES, Ticket, TicketCall, TicketState, WorkOrder
from tickets.schemas import (
    CustomerCreate,
    IncidentCreate,
    IncidentResolveIn,
    MergeIn,
    PhoneIn,
    WorkOrderCreate,
)
from tickets.service import ServiceDesk

CALLERS = ("+8613900000001", "+8613900000002", "+8613900000003")
STEP = st.one_of(
    st.tuples(st.just("call"), st.integers(0, 2)),
    st.tuples(
        st.sampled_from(["accept", "dispatch", "resolve", "close", "reopen", "cancel"]), st.integers(0, 5)
    ),
    st.tuples(st.just("merge"), st.tuples(st.integers(0, 5), st.integers(0, 5), st.booleans())),
    st.tuples(st.just("declare"), st.just(0)),
    st.tuples(st.just("resolve_incident"), st.just(0)),
)
TARGETS = {
    "accept": TicketState.ACCEPTED,
    "resolve": TicketState.RESOLVED,
    "close": TicketState.CLOSED,
    "reopen": TicketState.REOPENED,
    "cancel": TicketState.CANCELLED,
}
CLOSED_STATES = frozenset({TicketState.CLOSED, TicketState.MERGED})
_runs = itertools.count()


async def _step(
    desk: ServiceDesk, name: str, arg: object, tickets: list[int], calls: itertools.count
) -> None:
    def pick(i: object) -> int:
        assert isinstance(i, int)
        return tickets[i % len(tickets)]

    if name == "call":
        assert isinstance(arg, int)
        context = await desk.on_call_offered(call_event(call_id=f"p{next(calls)}", caller=CALLERS[arg]))
        if context.ticket_id not in tickets:
            tickets.append(context.ticket_id)
    elif not tickets:
        return
    elif name == "dispatch":
        ticket = await desk.tickets.get(pick(arg))
        await desk.work_orders.dispatch(ticket.id, WorkOrderCreate(version=ticket.version), AGENT)
    elif name in TARGETS:
        ticket = await desk.tickets.get(pick(arg))
        await desk.tickets.transition(ticket.id, TARGETS[name], version=ticket.version, actor=SUPERVISOR)
    elif name == "merge":
        assert isinstance(arg, tuple)
        first, second, stale = arg
        duplicate, survivor = await desk.tickets.get(pick(first)), await desk.tickets.get(pick(second))
        data = MergeIn(
            version=duplicate.version, into=survivor.id, into_version=survivor.version + (1 if stale else 0)
        )
        await desk.ticket_merges.merge(duplicate.id, data, AGENT)
    elif name == "resolve_incident":
        for incident in await desk.incidents.listing(open_only=True):
            await desk.incidents.resolve(incident.id, IncidentResolveIn(version=incident.version), SUPERVISOR)


async def _play(url: str, steps: list[tuple[str, object]]) -> None:
    engine = create_engine(url)
    desk = ServiceDesk(session_factory(engine), clock=FakeClock())
    tickets: list[int] = []
    calls = itertools.count()
    try:
        for n, caller in enumerate(CALLERS[:2]):  # the third caller is not in the incident's area
            address = "阳光花园" if n < 2 else "翠湖"
            data = CustomerCreate(name=f"住户{n}", phones=[PhoneIn(number=caller)], address=address)
            await desk.customers.create(data, AGENT)
        for name, arg in steps:
            if name == "declare":
                data = IncidentCreate(
                    category="power",
                    area="阳光花园",
                    description_zh="停电",
                    description_en="power cut",
                    expected_at=T0,
                )
                await desk.incidents.declare(data, SUPERVISOR)
                continue
            with contextlib.suppress(DeskError):
                await _step(desk, name, arg, tickets, calls)
        await _check(desk)
    finally:
        desk.close()
        await engine.dispose()


async def _check(desk: ServiceDesk) -> None:
    async with desk.ctx.sessions() as session:
        rows = {t.id: t for t in (await session.exec(select(Ticket))).all()}
        links = (await session.exec(select(TicketCall))).all()
        orders = (await session.exec(select(WorkOrder))).all()
    open_incidents = {i.id for i in await desk.incidents.listing(open_only=True)}
    for ticket in rows.values():
        assert ticket.id is not None
        journal = [e for e in await desk.timeline.for_ticket(ticket.id) if e.kind == "transition"]
        state = TicketState.REPORTED
        for entry in journal:
            assert TicketState(entry.from_state) is state
            assert TicketState(entry.to_state) in TICKET_TRANSITIONS[state]
            state = TicketState(entry.to_state)
        assert ticket.state is state
        # never both open and closed
        assert not (ticket.state in OPEN_TICKET_STATES and ticket.closed_at is not None)
        assert (ticket.closed_at is not None) == (ticket.state in CLOSED_STATES)
        if ticket.state is TicketState.MERGED:
            survivor = rows[ticket.merged_into_id]
            assert survivor.id != ticket.id and survivor.state is not TicketState.CANCELLED
        else:
            assert ticket.merged_into_id is None
        if ticket.incident_id in open_incidents:  # a child of an open incident is not dispatched
            assert ticket.state is not TicketState.DISPATCHED
            assert not [o for o in orders if o.ticket_id == ticket.id and o.state in OPEN_WORK_ORDER_STATES]
    assert len({link.call_id for link in links}) == len(links)
    for link in links:
        assert rows[link.ticket_id].state is not TicketState.MERGED  # its calls moved on
    for order in orders:
        if order.state in OPEN_WORK_ORDER_STATES:
            assert rows[order.ticket_id].state is not TicketState.MERGED  # no order lost on a merged one


@pytest.fixture(scope="module")
def template_copy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("merge-prop")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, max_size=20))
def test_merges_and_incident_links_keep_every_history_legal_and_consistent(
    steps: list[tuple[str, object]], sqlite_template: Path, template_copy_dir: Path
) -> None:
    path = template_copy_dir / f"run-{next(_runs)}.db"
    shutil.copyfile(sqlite_template, path)
    asyncio.run(_play(f"sqlite+aiosqlite:///{path}", steps))
