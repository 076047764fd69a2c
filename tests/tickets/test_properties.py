"""Property: whatever agents try, in any order and with stale versions, the journal holds only
legal transitions, the version counts the successful writes, and the row agrees with the journal."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.database import create_engine, session_factory
from tests.tickets.conftest import AGENT, SUPERVISOR, FakeClock
from tickets.errors import DeskError
from tickets.lifecycle import TICKET_TRANSITIONS
from tickets.models import TicketState
from tickets.schemas import TicketCreate, WorkOrderCreate, WorkOrderReport
from tickets.service import ServiceDesk

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["accept", "dispatch", "complete", "resolve", "close", "reopen", "cancel", "note"]),
        st.booleans(),  # use a stale version
        st.booleans(),  # as supervisor
    ),
    max_size=25,
)
TARGETS = {
    "accept": TicketState.ACCEPTED,
    "resolve": TicketState.RESOLVED,
    "close": TicketState.CLOSED,
    "reopen": TicketState.REOPENED,
    "cancel": TicketState.CANCELLED,
}
_runs = itertools.count()


async def _play(url: str, actions: list[tuple[str, bool, bool]]) -> None:
    engine = create_engine(url)
    desk = ServiceDesk(session_factory(engine), clock=FakeClock())
    try:
        ticket = await desk.tickets.create(TicketCreate(subject="property", category="complaint"), AGENT)
        for name, stale, as_supervisor in actions:
            actor = SUPERVISOR if as_supervisor else AGENT
            current = await desk.tickets.get(ticket.id)
            version = (current.version - 1 or 99) if stale else current.version
            try:
                if name == "dispatch":
                    await desk.work_orders.dispatch(ticket.id, WorkOrderCreate(version=version), actor)
                elif name == "complete":
                    for order in await desk.work_orders.for_ticket(ticket.id):
                        if order.state == "assigned":
                            await desk.work_orders.complete(
                                order.id, WorkOrderReport(version=order.version), actor
                            )
                            break
                elif name == "note":
                    await desk.tickets.add_note(ticket.id, "n", actor)
                else:
                    await desk.tickets.transition(ticket.id, TARGETS[name], version=version, actor=actor)
            except DeskError:
                pass
        after = await desk.tickets.get(ticket.id)
        journal = [e for e in await desk.timeline.for_ticket(ticket.id) if e.kind == "transition"]
        state = TicketState.REPORTED
        for entry in journal:
            assert TicketState(entry.from_state) is state
            assert TicketState(entry.to_state) in TICKET_TRANSITIONS[state]
            state = TicketState(entry.to_state)
        assert after.state is state
        # every transition bumps the version once; dispatching an already dispatched ticket too
        dispatch_again = sum(
            1
            for e in await desk.timeline.for_ticket(ticket.id)
            if e.kind == "work_order" and e.data.get("action") == "created"
        ) - sum(1 for e in journal if e.to_state == "dispatched")
        assert after.version == 1 + len(journal) + dispatch_again
        if after.state is TicketState.CLOSED:  # a complaint: only a supervisor closes it
            assert journal[-1].actor == SUPERVISOR.id
    finally:
        desk.close()
        await engine.dispose()


@pytest.fixture(scope="module")
def template_copy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prop")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_any_sequence_of_attempts_leaves_a_legal_consistent_history(
    actions: list[tuple[str, bool, bool]], sqlite_template: Path, template_copy_dir: Path
) -> None:
    path = template_copy_dir / f"run-{next(_runs)}.db"
    shutil.copyfile(sqlite_template, path)
    asyncio.run(_play(f"sqlite+aiosqlite:///{path}", actions))
