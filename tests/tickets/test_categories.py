"""Categories as a chosen list with dispatch rules set in advance: department, SLA policy, auto-dispatch."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from audit.models import AuditEntry
from tests.tickets.conftest import AGENT, SUPERVISOR
from tickets.categories import CategoryIn
from tickets.config import DeskConfig, SlaPolicySpec
from tickets.errors import RuleViolation, TicketConflict
from tickets.schemas import DepartmentCreate, TechnicianCreate, TicketCreate, TicketUpdate
from tickets.service import ServiceDesk


@pytest.fixture
def desk_config() -> DeskConfig:
    return DeskConfig(
        category_departments={"water": "plumbing"},
        sla_policies=[
            SlaPolicySpec(name="standard", accept_within_min=60),
            SlaPolicySpec(name="lift-4h", resolve_within_min=240, business_hours=False),
        ],
    )


async def test_the_list_holds_rows_and_the_files_categories_without_duplicates(desk: ServiceDesk) -> None:
    await desk.categories.save(CategoryIn(code="water", name_zh="漏水", name_en="Water leak"), SUPERVISOR)
    rules = await desk.categories.all()
    assert [r.code for r in rules] == ["water", "general", "complaint"]
    assert rules[0].title("zh-CN") == "漏水" and rules[0].title("en") == "Water leak"
    assert rules[1].code == "general" and rules[1].version is None
    assert rules[1].title("zh-CN") == "一般" and rules[1].title("en") == "General"  # built-in names
    assert rules[2].title("zh-CN") == "投诉" and rules[2].title("en") == "Complaint"


async def test_a_row_that_names_the_built_in_default_wins(desk: ServiceDesk) -> None:
    await desk.categories.save(CategoryIn(code="general", name_en="Other"), SUPERVISOR)
    (general,) = [r for r in await desk.categories.all() if r.code == "general"]
    assert general.title("zh-CN") == "Other" and general.title("en") == "Other"


async def test_a_rule_sets_department_and_sla_when_the_category_is_set(desk: ServiceDesk) -> None:
    lifts = await desk.work_orders.add_department(DepartmentCreate(code="lifts", name="电梯组"), SUPERVISOR)
    await desk.categories.save(
        CategoryIn(code="lift", department_id=lifts.id, sla_policy="lift-4h"), SUPERVISOR
    )
    ticket = await desk.tickets.create(TicketCreate(subject="困人", category="lift"), AGENT)
    assert ticket.department_id == lifts.id and ticket.sla_policy == "lift-4h"
    assert ticket.resolve_due_at is not None
    other = await desk.tickets.create(TicketCreate(subject="x"), AGENT)
    assert other.department_id is None and other.sla_policy == "standard"
    moved = await desk.tickets.update(
        other.id, TicketUpdate(version=other.version, category="lift"), SUPERVISOR
    )
    assert moved.department_id == lifts.id and moved.sla_policy == "lift-4h"


async def test_auto_dispatch_sends_an_accepted_ticket_to_the_rules_technician(desk: ServiceDesk) -> None:
    lifts = await desk.work_orders.add_department(DepartmentCreate(code="lifts", name="电梯组"), SUPERVISOR)
    li = await desk.work_orders.add_technician(
        TechnicianCreate(name="李师傅", department_id=lifts.id), SUPERVISOR
    )
    await desk.categories.save(CategoryIn(code="lift", auto_dispatch=True, technician_id=li.id), SUPERVISOR)
    ticket = await desk.tickets.create(TicketCreate(subject="困人", category="lift"), AGENT)
    accepted = await desk.tickets.accept(ticket.id, version=ticket.version, actor=AGENT)
    assert accepted.state == "dispatched"
    [order] = await desk.work_orders.for_ticket(ticket.id)
    assert order.technician_id == li.id and order.department_id == lifts.id and order.created_by == "system"
    steps = [
        (e.actor, e.to_state) for e in await desk.timeline.for_ticket(ticket.id) if e.kind == "transition"
    ]
    assert steps == [("1001", "accepted"), ("system", "dispatched")]


async def test_bad_rules_are_refused_and_a_stale_edit_conflicts_and_changes_are_audited(
    desk: ServiceDesk,
) -> None:
    with pytest.raises(RuleViolation, match="no SLA policy"):
        await desk.categories.save(CategoryIn(code="lift", sla_policy="nope"), SUPERVISOR)
    with pytest.raises(RuleViolation, match="needs a department"):
        await desk.categories.save(CategoryIn(code="lift", auto_dispatch=True), SUPERVISOR)
    first = await desk.categories.save(CategoryIn(code="lift", name_en="Lift"), SUPERVISOR)
    second = await desk.categories.save(
        CategoryIn(code="lift", name_en="Lifts", version=first.version), SUPERVISOR
    )
    assert second.version == 2
    with pytest.raises(TicketConflict):
        await desk.categories.save(CategoryIn(code="lift", name_en="Elevator", version=1), SUPERVISOR)
    async with desk.ctx.sessions() as session:
        actions = (
            await session.exec(
                select(AuditEntry.action)
                .where(col(AuditEntry.subject) == "category:lift")
                .order_by(col(AuditEntry.seq))
            )
        ).all()
    assert actions == ["category.create", "category.update"]
