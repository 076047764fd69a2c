"""Ticket merge: two tickets of one problem become one; the other points to it, closed as merged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.tickets.conftest import AGENT, SUPERVISOR, call_event
from tickets.errors import InvalidTransition, MergedTicketsCarried, RuleViolation, TicketConflict
from tickets.models import TicketState, WorkOrderState
from tickets.schemas import MergeIn, TicketCreate, WorkOrderCreate
from tickets.service import ServiceDesk


async def _audit_actions(desk: ServiceDesk) -> list[tuple[str, str, dict[str, Any]]]:
    from sqlmodel import col, select

    from audit.models import AuditEntry

    async with desk.ctx.sessions() as session:
        rows = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
    return [(r.action, r.subject, r.detail) for r in rows]


async def test_calls_notes_and_orders_move_and_both_timelines_say_so(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    await make_customer("王小明", "+8613800138000")
    first = await desk.on_call_offered(call_event(call_id="c1", caller="+8613800138000"))
    survivor = await desk.tickets.create(TicketCreate(subject="楼道灯不亮 stairwell light"), AGENT)
    await desk.tickets.add_note(first.ticket_id, "三楼的灯 the light on floor 3", AGENT)
    accepted = await desk.tickets.accept(first.ticket_id, version=1, actor=AGENT)
    order = await desk.work_orders.dispatch(first.ticket_id, WorkOrderCreate(version=accepted.version), AGENT)
    survivor = await desk.tickets.accept(survivor.id, version=survivor.version, actor=AGENT)
    duplicate = await desk.tickets.get(first.ticket_id)

    data = MergeIn(
        version=duplicate.version, into=survivor.id, into_version=survivor.version, note="同一故障"
    )
    merged = await desk.ticket_merges.merge(duplicate.id, data, SUPERVISOR)

    assert merged.id == survivor.id and merged.state is TicketState.DISPATCHED  # its new order dispatches it
    gone = await desk.tickets.get(duplicate.id)
    assert (gone.state, gone.merged_into_id) == (TicketState.MERGED, survivor.id)
    assert gone.closed_at is not None
    assert (await desk.calls.context("c1")).ticket_id == survivor.id
    orders = await desk.work_orders.for_ticket(survivor.id)
    assert [(o.id, o.state) for o in orders] == [(order.id, WorkOrderState.ASSIGNED)]
    assert await desk.work_orders.for_ticket(duplicate.id) == []
    kept = await desk.timeline.for_ticket(survivor.id)
    assert [e.summary for e in kept if e.kind == "note"] == ["三楼的灯 the light on floor 3"]
    assert any(e.kind == "merge" and e.data["merged_from"] == duplicate.id for e in kept)
    old = await desk.timeline.for_ticket(duplicate.id)
    assert [e.summary for e in old if e.kind == "note"] == ["三楼的灯 the light on floor 3"]  # kept there too
    assert old[-1].kind == "merge" and old[-1].data["into"] == survivor.id
    assert [(e.from_state, e.to_state) for e in old if e.kind == "transition"][-1] == ("dispatched", "merged")
    audit = [a for a in await _audit_actions(desk) if a[0] == "ticket.merge"]
    assert audit == [
        (
            "ticket.merge",
            f"ticket:{survivor.id}",
            {
                "role": "supervisor",
                "duplicate_id": duplicate.id,
                "calls": ["c1"],
                "work_orders": [order.id],
                "notes": 1,
            },
        )
    ]


async def test_a_merged_ticket_takes_no_step_and_no_second_merge(desk: ServiceDesk) -> None:
    a = await desk.tickets.create(TicketCreate(subject="a"), AGENT)
    b = await desk.tickets.create(TicketCreate(subject="b"), AGENT)
    c = await desk.tickets.create(TicketCreate(subject="c"), AGENT)
    await desk.ticket_merges.merge(a.id, MergeIn(version=1, into=b.id, into_version=1), AGENT)
    with pytest.raises(InvalidTransition):
        await desk.tickets.accept(a.id, version=2, actor=AGENT)
    with pytest.raises(InvalidTransition):
        await desk.ticket_merges.merge(a.id, MergeIn(version=2, into=c.id, into_version=1), AGENT)
    with pytest.raises(RuleViolation):  # nothing goes into a merged ticket either
        await desk.ticket_merges.merge(c.id, MergeIn(version=1, into=a.id, into_version=2), AGENT)


async def test_stale_versions_self_merges_and_finished_survivors_are_refused(desk: ServiceDesk) -> None:
    a = await desk.tickets.create(TicketCreate(subject="a"), AGENT)
    b = await desk.tickets.create(TicketCreate(subject="b"), AGENT)
    with pytest.raises(RuleViolation):
        await desk.ticket_merges.merge(a.id, MergeIn(version=1, into=a.id, into_version=1), AGENT)
    with pytest.raises(TicketConflict):
        await desk.ticket_merges.merge(a.id, MergeIn(version=1, into=b.id, into_version=5), AGENT)
    await desk.tickets.cancel(b.id, version=1, actor=AGENT)
    with pytest.raises(RuleViolation):
        await desk.ticket_merges.merge(a.id, MergeIn(version=1, into=b.id, into_version=2), AGENT)
    assert (await desk.tickets.get(a.id)).state is TicketState.REPORTED  # nothing written


async def test_open_orders_do_not_move_onto_a_ticket_nobody_accepted(desk: ServiceDesk) -> None:
    a = await desk.tickets.create(TicketCreate(subject="a"), AGENT)
    b = await desk.tickets.create(TicketCreate(subject="b"), AGENT)
    accepted = await desk.tickets.accept(a.id, version=1, actor=AGENT)
    await desk.work_orders.dispatch(a.id, WorkOrderCreate(version=accepted.version), AGENT)
    current = await desk.tickets.get(a.id)
    with pytest.raises(RuleViolation, match="accept it first"):
        await desk.ticket_merges.merge(
            a.id, MergeIn(version=current.version, into=b.id, into_version=1), AGENT
        )
    # the other way round works: the reported one goes into the dispatched one
    await desk.ticket_merges.merge(b.id, MergeIn(version=1, into=a.id, into_version=current.version), AGENT)
    assert (await desk.tickets.get(b.id)).merged_into_id == a.id


async def test_a_survivor_that_carries_merged_tickets_is_not_cancelled(desk: ServiceDesk) -> None:
    """Cancelling the survivor would leave the merged tickets' callers pointing at a ticket
    nobody works on (found by test_merge_incident_properties): refused, nothing changes; it is
    resolved instead, and a ticket nobody merged into is still cancelled."""
    duplicate = await desk.tickets.create(TicketCreate(subject="停水 no water"), AGENT)
    survivor = await desk.tickets.create(TicketCreate(subject="整栋楼停水 the block has no water"), AGENT)
    data = MergeIn(version=duplicate.version, into=survivor.id, into_version=survivor.version)
    survivor = await desk.ticket_merges.merge(duplicate.id, data, AGENT)

    with pytest.raises(MergedTicketsCarried) as refused:
        await desk.tickets.cancel(survivor.id, version=survivor.version, actor=SUPERVISOR)
    assert refused.value.merged_ids == [duplicate.id]
    assert await desk.tickets.get(survivor.id) == survivor
    accepted = await desk.tickets.accept(survivor.id, version=survivor.version, actor=AGENT)
    resolved = await desk.tickets.resolve(accepted.id, version=accepted.version, actor=AGENT)
    assert resolved.state is TicketState.RESOLVED

    alone = await desk.tickets.create(TicketCreate(subject="误报 opened by mistake"), AGENT)
    cancelled = await desk.tickets.cancel(alone.id, version=alone.version, actor=SUPERVISOR)
    assert cancelled.state is TicketState.CANCELLED
