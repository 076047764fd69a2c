"""Complaints go to their department, are flagged, and only a supervisor closes them.
Follow-ups come due after resolution; a low score reopens or flags."""

from __future__ import annotations

import pytest

from tests.tickets.conftest import AGENT, SUPERVISOR, FakeClock, call_event
from tickets.config import DeskConfig
from tickets.errors import Forbidden, RuleViolation
from tickets.events import DeskEvent, FollowUpDue, TicketFlagged
from tickets.lifecycle import Actor
from tickets.models import FollowUpState, TicketState
from tickets.schemas import DepartmentCreate, FollowUpRecord, TicketCreate, TicketUpdate
from tickets.service import ServiceDesk


@pytest.fixture
def desk_config() -> DeskConfig:
    return DeskConfig(
        category_departments={"complaint": "quality", "repair": "maint"},
        ivr_categories={"1": "repair", "9": "complaint"},
        follow_up_delay_h=24,
        low_score=2,
    )


async def _resolved(desk: ServiceDesk, category: str = "repair") -> int:
    ticket = await desk.tickets.create(TicketCreate(subject="s", category=category), AGENT)
    await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
    await desk.tickets.resolve(ticket.id, version=2, actor=AGENT)
    return ticket.id


async def test_a_complaint_goes_to_its_department_and_is_flagged_for_supervisors(
    desk: ServiceDesk, published: list[DeskEvent]
) -> None:
    quality = await desk.work_orders.add_department(
        DepartmentCreate(code="quality", name="品质部"), SUPERVISOR
    )
    ticket = await desk.tickets.create(TicketCreate(subject="服务态度差", category="complaint"), AGENT)
    assert ticket.is_complaint and ticket.flagged and ticket.department_id == quality.id
    assert TicketFlagged(ticket.id, "complaint", ticket.created_at) in published
    flagged = await desk.timeline.search(flagged=True)
    assert [t.id for t in flagged.items] == [ticket.id]


async def test_only_a_supervisor_closes_a_complaint(desk: ServiceDesk) -> None:
    ticket_id = await _resolved(desk, category="complaint")
    with pytest.raises(Forbidden, match="only a supervisor"):
        await desk.tickets.close(ticket_id, version=3, actor=AGENT)
    closed = await desk.tickets.close(ticket_id, version=3, actor=SUPERVISOR, note="已回访道歉")
    assert closed.state is TicketState.CLOSED


async def test_recategorising_as_complaint_flags_it(desk: ServiceDesk) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="s"), AGENT)
    updated = await desk.tickets.update(ticket.id, TicketUpdate(version=1, category="complaint"), AGENT)
    assert updated.is_complaint and updated.flagged


async def test_an_ivr_complaint_choice_opens_a_complaint_ticket(desk: ServiceDesk) -> None:
    context = await desk.on_call_offered(call_event(ivr_choice="9"))
    ticket = await desk.tickets.get(context.ticket_id)
    assert ticket.category == "complaint" and ticket.is_complaint


async def test_resolution_schedules_a_follow_up_that_agents_see_when_due(
    desk: ServiceDesk, clock: FakeClock, published: list[DeskEvent]
) -> None:
    ticket_id = await _resolved(desk)
    [follow] = await desk.follow_ups.for_ticket(ticket_id)
    assert follow.state is FollowUpState.PENDING and follow.due_at == clock.now.replace() + _hours(24)
    assert await desk.follow_ups.due() == []
    clock.advance(hours=24)
    assert [f.id for f in await desk.follow_ups.due()] == [follow.id]
    await desk.sla_worker.tick()
    await desk.sla_worker.tick()
    assert [e for e in published if isinstance(e, FollowUpDue)] == [
        FollowUpDue(follow.id, ticket_id, follow.due_at)
    ]


async def test_a_low_score_reopens_a_resolved_ticket_and_flags_it(desk: ServiceDesk) -> None:
    ticket_id = await _resolved(desk)
    [follow] = await desk.follow_ups.for_ticket(ticket_id)
    recorded = await desk.follow_ups.record(follow.id, FollowUpRecord(outcome="还是坏的", score=1), AGENT)
    assert recorded.score == 1 and recorded.state is FollowUpState.DONE
    ticket = await desk.tickets.get(ticket_id)
    assert ticket.state is TicketState.REOPENED and ticket.flagged
    assert ticket.flag_reason == "low satisfaction score 1"


async def test_a_low_score_on_a_closed_ticket_flags_it(desk: ServiceDesk) -> None:
    ticket_id = await _resolved(desk)
    await desk.tickets.close(ticket_id, version=3, actor=AGENT)
    ivr = Actor("ivr", "system")
    await desk.follow_ups.record_survey(ticket_id, 2, ivr)
    ticket = await desk.tickets.get(ticket_id)
    assert ticket.state is TicketState.CLOSED and ticket.flagged


async def test_a_good_score_leaves_the_ticket_and_a_follow_up_is_recorded_once(desk: ServiceDesk) -> None:
    ticket_id = await _resolved(desk)
    [follow] = await desk.follow_ups.for_ticket(ticket_id)
    await desk.follow_ups.record(follow.id, FollowUpRecord(outcome="满意", score=5), AGENT)
    assert (await desk.tickets.get(ticket_id)).state is TicketState.RESOLVED
    with pytest.raises(RuleViolation, match="not pending"):
        await desk.follow_ups.record(follow.id, FollowUpRecord(score=1), AGENT)


def _hours(n: int):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(hours=n)
