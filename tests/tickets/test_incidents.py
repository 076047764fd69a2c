"""Incidents: an outage's callers become children of one incident (no dispatch per caller), and
resolving the incident resolves them together, each customer texted once, then followed up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from cti.twilio.sms import TwilioSms
from cti.twilio.standin import TwilioStandIn
from tests.tickets.conftest import AGENT, SUPERVISOR, T0, call_event
from tickets.categories import CategoryIn
from tickets.config import DeskConfig, NotificationsSpec
from tickets.errors import IncidentOpen, InvalidTransition, TicketConflict
from tickets.models import IncidentState, TicketState
from tickets.schemas import (
    DepartmentCreate,
    IncidentCreate,
    IncidentResolveIn,
    WorkOrderCreate,
)
from tickets.service import ServiceDesk

SID, TOKEN, NUMBER = "AC" + "2" * 32, "incident-test-token-5d1c", "+12025550101"
AREA = "阳光花园"


@pytest.fixture
def desk_config() -> DeskConfig:
    return DeskConfig(notifications=NotificationsSpec(sms=True, sender_name="物业热线"))


@pytest.fixture
async def standin() -> AsyncIterator[TwilioStandIn]:
    server = TwilioStandIn(SID, TOKEN)
    async with asyncio.TaskGroup() as group:
        task = group.create_task(server.run())
        await server.wait_ready()
        yield server
        server.stop()
        await task


@pytest.fixture
async def sms(standin: TwilioStandIn, desk: ServiceDesk) -> AsyncIterator[TwilioSms]:
    port = TwilioSms(SID, TOKEN, NUMBER, api_base_url=standin.url)
    desk.notices.port = port
    yield port
    await port.close()


def mobile(n: int) -> str:
    return f"+86139{n:08d}"


async def declare(desk: ServiceDesk, **fields: Any) -> int:
    data = IncidentCreate.model_validate(
        {
            "category": "power",
            "area": AREA,
            "description_zh": "阳光花园停电",
            "description_en": "a power cut at Sunshine Garden",
            "expected_at": T0 + timedelta(hours=3),
            **fields,
        }
    )
    return (await desk.incidents.declare(data, SUPERVISOR)).id


async def resolve(desk: ServiceDesk, incident_id: int) -> None:
    version = (await desk.incidents.get(incident_id)).version
    await desk.incidents.resolve(incident_id, IncidentResolveIn(version=version, note="供电恢复"), SUPERVISOR)


async def test_an_affected_callers_ticket_becomes_a_child_and_the_pop_says_it_is_known(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    inside = await make_customer("王小明", mobile(1), address=f"{AREA} 3栋 502")
    outside = await make_customer("李娜", mobile(2), address="翠湖小区 1栋")
    incident_id = await declare(desk)
    assert (await desk.incidents.get(incident_id)).affected == 1

    child = await desk.on_call_offered(call_event(call_id="c1", caller=mobile(1)))
    again = await desk.on_call_offered(call_event(call_id="c2", caller=mobile(1), at=T0 + timedelta(days=3)))
    other = await desk.on_call_offered(call_event(call_id="c3", caller=mobile(2)))

    ticket = await desk.tickets.get(child.ticket_id)
    assert (ticket.incident_id, ticket.category, ticket.customer_id) == (incident_id, "power", inside)
    assert again.ticket_id == child.ticket_id  # the same caller again: the same child, whatever the window
    assert child.incident is not None and child.incident.id == incident_id
    assert child.incident.description["en"] == "a power cut at Sunshine Garden"
    assert child.incident.expected == {"zh-CN": "12月1日 12:00", "en": "on Dec 1 at 12:00"}
    not_affected = await desk.tickets.get(other.ticket_id)
    assert not_affected.incident_id is None and not_affected.customer_id == outside
    assert other.incident is None
    listed = await desk.incidents.listing(open_only=True)
    assert [(i.id, i.calls, i.children) for i in listed] == [(incident_id, 2, 1)]


async def test_a_customer_group_is_matched_by_its_exact_tag(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    await make_customer("甲", mobile(1), tags=["楼栋A"])
    await make_customer("乙", mobile(2), tags=["楼栋AB"])
    incident_id = await declare(desk, area="", customer_tag="楼栋A")
    assert (await desk.incidents.get(incident_id)).affected == 1
    first = await desk.on_call_offered(call_event(call_id="c1", caller=mobile(1)))
    second = await desk.on_call_offered(call_event(call_id="c2", caller=mobile(2)))
    assert (await desk.tickets.get(first.ticket_id)).incident_id == incident_id
    assert (await desk.tickets.get(second.ticket_id)).incident_id is None


async def test_a_child_is_not_dispatched_even_by_its_categorys_rule(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    dept = await desk.work_orders.add_department(DepartmentCreate(code="power", name="供电组"), SUPERVISOR)
    await desk.categories.save(
        CategoryIn(code="power", name_zh="停电", name_en="Power", department_id=dept.id, auto_dispatch=True),
        SUPERVISOR,
    )
    await make_customer("王小明", mobile(1), address=AREA)
    incident_id = await declare(desk)
    context = await desk.on_call_offered(call_event(call_id="c1", caller=mobile(1)))
    accepted = await desk.tickets.accept(context.ticket_id, version=1, actor=AGENT)
    assert accepted.state is TicketState.ACCEPTED  # the rule would have dispatched it
    with pytest.raises(IncidentOpen):
        await desk.work_orders.dispatch(context.ticket_id, WorkOrderCreate(version=accepted.version), AGENT)
    assert await desk.work_orders.for_ticket(context.ticket_id) == []
    await resolve(desk, incident_id)
    assert (await desk.tickets.get(context.ticket_id)).state is TicketState.RESOLVED


async def test_fifty_callers_make_fifty_children_no_orders_and_one_text_each_when_resolved(
    desk: ServiceDesk, sms: TwilioSms, standin: TwilioStandIn, make_customer: Callable[..., Any]
) -> None:
    for n in range(50):
        tags = ["lang:en"] if n % 2 else []
        await make_customer(f"住户{n}", mobile(n), address=f"{AREA} {n}号", tags=tags)
    incident_id = await declare(desk)
    tickets = set()
    for n in range(50):
        context = await desk.on_call_offered(call_event(call_id=f"call-{n}", caller=mobile(n)))
        tickets.add(context.ticket_id)
    # one of them calls back while it is still out: no new ticket
    await desk.on_call_offered(call_event(call_id="call-again", caller=mobile(7), at=T0 + timedelta(hours=1)))
    assert len(tickets) == 50
    for ticket_id in tickets:
        ticket = await desk.tickets.get(ticket_id)
        assert ticket.incident_id == incident_id and ticket.state is TicketState.REPORTED
        assert await desk.work_orders.for_ticket(ticket_id) == []
    assert (await desk.incidents.get(incident_id)).calls == 51

    await resolve(desk, incident_id)
    incident = await desk.incidents.get(incident_id)
    assert incident.state is IncidentState.RESOLVED
    for ticket_id in tickets:
        ticket = await desk.tickets.get(ticket_id)
        assert ticket.state is TicketState.RESOLVED
        assert [f.state for f in await desk.follow_ups.for_ticket(ticket_id)] == ["pending"]  # as usual
    while await desk.notices.tick():
        pass
    for n in range(50):
        texts = standin.texts_to(mobile(n))
        assert len(texts) == 1, (n, texts)
        assert ("power cut at Sunshine Garden" if n % 2 else "阳光花园停电已恢复") in texts[0]
    assert await desk.incidents.resolve_children(incident_id, SUPERVISOR) == 0  # run again: nothing
    assert await desk.notices.tick() == 0
    assert sum(len(standin.texts_to(mobile(n))) for n in range(50)) == 50


async def test_resolving_twice_or_with_a_stale_version_is_refused(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    await make_customer("王小明", mobile(1), address=AREA)
    incident_id = await declare(desk)
    with pytest.raises(TicketConflict):
        await desk.incidents.resolve(incident_id, IncidentResolveIn(version=7), SUPERVISOR)
    await resolve(desk, incident_id)
    with pytest.raises(InvalidTransition):
        await resolve(desk, incident_id)
    # after it is resolved, the same caller gets an ordinary ticket again
    context = await desk.on_call_offered(call_event(call_id="late", caller=mobile(1)))
    assert (await desk.tickets.get(context.ticket_id)).incident_id is None and context.incident is None


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"area": "", "customer_tag": " "}, "customer_tag"),
        ({"description_en": " "}, "description_en"),
        ({"category": ""}, "category"),
    ],
)
def test_a_declaration_without_whom_or_what_is_refused_naming_the_field(
    fields: dict[str, str], named: str
) -> None:
    from pydantic import ValidationError

    base = {"category": "power", "area": AREA, "description_zh": "停电", "description_en": "power cut"}
    with pytest.raises(ValidationError) as caught:
        IncidentCreate.model_validate({**base, **fields})
    assert named in str(caught.value)
