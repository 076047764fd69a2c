"""The ticket lifecycle: every pair of states, legal and illegal, in the domain and on the database."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tickets.conftest import AGENT, SUPERVISOR, call_event
from tickets.errors import Forbidden, InvalidTransition, RuleViolation, TicketConflict, WorkOrdersOpen
from tickets.lifecycle import (
    TICKET_TRANSITIONS,
    WORK_ORDER_TRANSITIONS,
    TicketFacts,
    check_ticket_transition,
    next_ticket_state,
    next_work_order_state,
)
from tickets.models import TicketState, WorkOrderState
from tickets.schemas import MergeIn, TicketCreate, WorkOrderCreate
from tickets.service import ServiceDesk

S = TicketState
ALL_PAIRS = list(itertools.product(S, S))
LEGAL = [(a, b) for a, b in ALL_PAIRS if b in TICKET_TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if b not in TICKET_TRANSITIONS[a]]

# How to bring a fresh ticket into each state (a legal path).
PATH_TO = {
    S.REPORTED: [],
    S.ACCEPTED: [S.ACCEPTED],
    S.DISPATCHED: [S.ACCEPTED, S.DISPATCHED],
    S.RESOLVED: [S.ACCEPTED, S.RESOLVED],
    S.CLOSED: [S.ACCEPTED, S.RESOLVED, S.CLOSED],
    S.REOPENED: [S.ACCEPTED, S.RESOLVED, S.REOPENED],
    S.CANCELLED: [S.CANCELLED],
    S.MERGED: [S.MERGED],  # by a merge into another ticket (`_ticket_in`)
}


def test_the_table_names_every_state_and_the_happy_path_is_in_it() -> None:
    assert set(TICKET_TRANSITIONS) == set(S)
    happy = [S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.RESOLVED, S.CLOSED]
    assert all(b in TICKET_TRANSITIONS[a] for a, b in itertools.pairwise(happy))
    assert TICKET_TRANSITIONS[S.CLOSED] == TICKET_TRANSITIONS[S.CANCELLED] == frozenset()


@pytest.mark.parametrize(("current", "attempted"), LEGAL)
def test_legal_transitions_are_allowed(current: TicketState, attempted: TicketState) -> None:
    assert next_ticket_state(current, attempted) is attempted


@pytest.mark.parametrize(("current", "attempted"), ILLEGAL)
def test_illegal_transitions_name_current_and_attempted_state(
    current: TicketState, attempted: TicketState
) -> None:
    with pytest.raises(InvalidTransition) as caught:
        next_ticket_state(current, attempted)
    assert (caught.value.current, caught.value.attempted) == (current, attempted)
    assert f"'{current.value}'" in str(caught.value) and f"'{attempted.value}'" in str(caught.value)


@given(st.lists(st.sampled_from(list(S)), max_size=30))
def test_any_sequence_of_attempts_only_ever_follows_the_table(attempts: list[TicketState]) -> None:
    state = S.REPORTED
    for attempted in attempts:
        try:
            new = next_ticket_state(state, attempted)
        except InvalidTransition:
            assert attempted not in TICKET_TRANSITIONS[state]
            continue
        assert new in TICKET_TRANSITIONS[state]
        state = new


@pytest.mark.parametrize(
    ("current", "attempted"),
    [(a, b) for a, b in itertools.product(WorkOrderState, WorkOrderState)],
)
def test_work_order_transitions_follow_their_table(
    current: WorkOrderState, attempted: WorkOrderState
) -> None:
    if attempted in WORK_ORDER_TRANSITIONS[current]:
        assert next_work_order_state(current, attempted) is attempted
    else:
        with pytest.raises(InvalidTransition):
            next_work_order_state(current, attempted)


def test_guards_refuse_resolving_with_open_orders_and_agents_closing_complaints() -> None:
    with pytest.raises(WorkOrdersOpen, match=r"\[7\]"):
        check_ticket_transition(TicketFacts(1, S.DISPATCHED, False, (7,)), S.RESOLVED, AGENT)
    with pytest.raises(Forbidden, match="supervisor"):
        check_ticket_transition(TicketFacts(1, S.RESOLVED, True), S.CLOSED, AGENT)
    assert check_ticket_transition(TicketFacts(1, S.RESOLVED, True), S.CLOSED, SUPERVISOR) is S.CLOSED


async def _ticket_in(desk: ServiceDesk, state: TicketState) -> tuple[int, int]:
    ticket = await desk.tickets.create(TicketCreate(subject="漏水 leak"), AGENT)
    assert ticket.id is not None
    version = ticket.version
    for step in PATH_TO[state]:
        if step is S.MERGED:
            version = await _merge(desk, ticket.id, version)
        elif step is S.DISPATCHED:
            await desk.work_orders.dispatch(ticket.id, WorkOrderCreate(version=version), AGENT)
            version = (await desk.tickets.get(ticket.id)).version
        else:
            version = (await desk.tickets.transition(ticket.id, step, version=version, actor=AGENT)).version
    return ticket.id, version


async def _merge(desk: ServiceDesk, ticket_id: int, version: int, note: str = "") -> int:
    """Merge the ticket into a fresh one (the only way to `merged`); its version after."""
    survivor = await desk.tickets.create(TicketCreate(subject="同一漏水 same leak"), AGENT)
    survivor = await desk.tickets.accept(survivor.id, version=survivor.version, actor=AGENT)
    data = MergeIn(version=version, into=survivor.id, into_version=survivor.version, note=note)
    await desk.ticket_merges.merge(ticket_id, data, AGENT)
    return (await desk.tickets.get(ticket_id)).version


@pytest.mark.parametrize(("current", "attempted"), LEGAL)
async def test_each_legal_transition_is_written_with_actor_time_and_note(
    desk: ServiceDesk, current: TicketState, attempted: TicketState
) -> None:
    ticket_id, version = await _ticket_in(desk, current)
    if attempted is S.MERGED:
        with pytest.raises(RuleViolation):  # never a bare step: a merge names the survivor
            await desk.tickets.transition(ticket_id, attempted, version=version, actor=SUPERVISOR)
        assert await _merge(desk, ticket_id, version, note="why") == version + 1
        after = await desk.tickets.get(ticket_id)
        assert after.state is S.MERGED and after.merged_into_id is not None
        last = [e for e in await desk.timeline.for_ticket(ticket_id) if e.kind == "transition"][-1]
        assert (last.from_state, last.to_state, last.actor) == (current, attempted, AGENT.id)
        return
    if attempted is S.RESOLVED and current is S.DISPATCHED:
        for order in await desk.work_orders.for_ticket(ticket_id):
            from tickets.schemas import WorkOrderReport

            await desk.work_orders.complete(order.id, WorkOrderReport(version=order.version), AGENT)
        assert (await desk.tickets.get(ticket_id)).state is S.RESOLVED  # completion resolved it
        return
    if attempted is S.DISPATCHED:
        await desk.work_orders.dispatch(ticket_id, WorkOrderCreate(version=version, note="go"), AGENT)
        after = await desk.tickets.get(ticket_id)
    else:
        after = await desk.tickets.transition(ticket_id, attempted, version=version, actor=AGENT, note="why")
    assert after.state is attempted and after.version == version + 1
    last = [e for e in await desk.timeline.for_ticket(ticket_id) if e.kind == "transition"][-1]
    assert (last.from_state, last.to_state, last.actor) == (current, attempted, AGENT.id)


@pytest.mark.parametrize(("current", "attempted"), ILLEGAL)
async def test_each_illegal_transition_is_refused_and_changes_nothing(
    desk: ServiceDesk, current: TicketState, attempted: TicketState
) -> None:
    ticket_id, version = await _ticket_in(desk, current)
    with pytest.raises(InvalidTransition) as caught:
        await desk.tickets.transition(ticket_id, attempted, version=version, actor=SUPERVISOR)
    assert caught.value.current is current
    after = await desk.tickets.get(ticket_id)
    assert (after.state, after.version) == (current, version)


async def test_a_stale_version_is_a_conflict_naming_both_versions(desk: ServiceDesk) -> None:
    ticket_id, version = await _ticket_in(desk, S.REPORTED)
    await desk.tickets.accept(ticket_id, version=version, actor=AGENT)
    with pytest.raises(TicketConflict) as caught:
        await desk.tickets.cancel(ticket_id, version=version, actor=AGENT)
    assert (caught.value.expected, caught.value.actual) == (version, version + 1)


async def test_accepting_makes_the_accepting_agent_the_owner(desk: ServiceDesk) -> None:
    context = await desk.on_call_offered(call_event(caller=None))
    ticket = await desk.tickets.accept(context.ticket_id, version=1, actor=AGENT)
    assert ticket.owner_agent_id == AGENT.id
