"""Customer texts: queued with the step, sent once through the real twilio SDK to the stand-in,
retried when Twilio says so, never twice, every step on the ticket's timeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from cti.twilio.sms import TwilioSms
from cti.twilio.standin import TwilioStandIn
from tests.tickets.conftest import AGENT, T0, FakeClock
from tickets.config import DeskConfig, NotificationsSpec
from tickets.models import NoticeState
from tickets.schemas import (
    CustomerCreate,
    DepartmentCreate,
    PhoneIn,
    TechnicianCreate,
    TicketCreate,
    WorkOrderCreate,
    WorkOrderReport,
)
from tickets.service import ServiceDesk

SID, TOKEN, NUMBER = "AC" + "1" * 32, "sms-test-token-7f3a", "+12025550100"
MOBILE = "+8613800138000"


@pytest.fixture
def desk_config() -> DeskConfig:
    return DeskConfig(notifications=NotificationsSpec(sms=True, sender_name="物业热线", retry_after_s=10))


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


async def _dispatched(
    desk: ServiceDesk, *, tags: list[str] | None = None, phone: str = MOBILE
) -> tuple[int, int]:
    customer = await desk.customers.create(
        CustomerCreate(name="王小明", phones=[PhoneIn(number=phone)], tags=tags or []), AGENT
    )
    ticket = await desk.tickets.create(TicketCreate(subject="空调不制冷", customer_id=customer.id), AGENT)
    await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
    code = f"hvac{ticket.id}"  # one department per call of this helper
    dept = await desk.work_orders.add_department(DepartmentCreate(code=code, name="空调组"), AGENT)
    tech = await desk.work_orders.add_technician(
        TechnicianCreate(name="李师傅", department_id=dept.id), AGENT
    )
    order = await desk.work_orders.dispatch(
        ticket.id,
        WorkOrderCreate(version=2, technician_id=tech.id, due_at=T0.replace(hour=2) + timedelta(days=1)),
        AGENT,
    )
    return ticket.id, order.id


async def _notices(desk: ServiceDesk, ticket_id: int) -> list[tuple[str, str | None, str]]:
    return [
        (str(e.data.get("notice")), e.data.get("state"), e.summary)
        for e in await desk.timeline.for_ticket(ticket_id)
        if e.kind == "notification"
    ]


async def test_dispatch_and_resolve_text_the_customer_once_each_in_their_language(
    desk: ServiceDesk, sms: TwilioSms, standin: TwilioStandIn, clock: FakeClock
) -> None:
    ticket_id, order_id = await _dispatched(desk)
    assert await desk.notices.tick() == 1
    assert standin.texts_to(MOBILE) == ["【物业热线】您的服务单 #1 已派工：李师傅将于12月2日 10:00上门服务。"]
    assert await desk.notices.tick() == 0  # nothing twice
    await desk.work_orders.complete(order_id, WorkOrderReport(version=1, note="换电容"), AGENT)
    assert await desk.notices.tick() == 1
    texts = standin.texts_to(MOBILE)
    assert len(texts) == 2 and "已处理完毕" in texts[1] and "回复 1-5" in texts[1]
    sent_form = standin.requests[-1]
    assert sent_form.path.endswith("/Messages.json") and sent_form.get("From") == NUMBER

    clock.advance(seconds=31)  # the delivery status is asked for
    await desk.notices.tick()
    rows = await desk.notices.for_ticket(ticket_id)
    assert [r.state for r in rows] == [NoticeState.DELIVERED, NoticeState.DELIVERED]
    assert all(r.provider_id and r.provider_id.startswith("SM") for r in rows)
    states = [(kind, state) for kind, state, _ in await _notices(desk, ticket_id)]
    assert states == [
        ("dispatched", "queued"),
        ("dispatched", "sent"),
        ("resolved", "queued"),
        ("resolved", "sent"),
        ("dispatched", "delivered"),
        ("resolved", "delivered"),
    ]


async def test_an_english_speaking_customer_gets_english(
    desk: ServiceDesk, sms: TwilioSms, standin: TwilioStandIn
) -> None:
    await _dispatched(desk, tags=["lang:en"])
    await desk.notices.tick()
    assert standin.texts_to(MOBILE) == [
        "物业热线: your ticket #1 is dispatched. 李师傅 will come on Dec 2 at 10:00."
    ]


async def test_twilio_unavailable_is_retried_later_and_the_text_goes_out_once(
    desk: ServiceDesk, sms: TwilioSms, standin: TwilioStandIn, clock: FakeClock
) -> None:
    ticket_id, _ = await _dispatched(desk)
    standin.fail_messages(2, status=503)
    assert await desk.notices.tick() == 1  # attempt 1: 503
    assert await desk.notices.tick() == 0  # not yet due again
    clock.advance(seconds=10)
    await desk.notices.tick()  # attempt 2: 503
    clock.advance(seconds=19)
    assert await desk.notices.tick() == 0  # the delay doubled
    clock.advance(seconds=1)
    await desk.notices.tick()  # attempt 3: sent
    assert len(standin.texts_to(MOBILE)) == 1
    states = [s for kind, s, _ in await _notices(desk, ticket_id)]
    assert states == ["queued", "retry", "retry", "sent"]
    (row,) = await desk.notices.for_ticket(ticket_id)
    assert row.attempts == 3 and row.state is NoticeState.SENT


async def test_a_refused_number_fails_without_retrying_and_a_landline_is_not_texted(
    desk: ServiceDesk, sms: TwilioSms, standin: TwilioStandIn, clock: FakeClock
) -> None:
    ticket_id, _ = await _dispatched(desk)
    standin.fail_messages(1, status=400)
    await desk.notices.tick()
    clock.advance(hours=1)
    assert await desk.notices.tick() == 0
    (row,) = await desk.notices.for_ticket(ticket_id)
    assert row.state is NoticeState.FAILED and "400" in row.error
    landline_ticket, _ = await _dispatched(desk, phone="010 6552 9988")
    assert await desk.notices.for_ticket(landline_ticket) == []
    assert [(s, n) for _, s, n in await _notices(desk, landline_ticket)] == [
        ("skipped", "no mobile number to text")
    ]


async def test_a_worker_that_died_mid_send_leaves_the_text_unknown_and_it_is_not_sent_again(
    desk: ServiceDesk, sms: TwilioSms, standin: TwilioStandIn, clock: FakeClock
) -> None:
    ticket_id, _ = await _dispatched(desk)
    claimed = await desk.notices._claim(clock(), limit=10)  # claimed, then the process died
    assert len(claimed) == 1
    clock.advance(minutes=6)
    assert await desk.notices.tick() == 0
    (row,) = await desk.notices.for_ticket(ticket_id)
    assert row.state is NoticeState.UNKNOWN and standin.texts_to(MOBILE) == []


async def test_no_texts_when_the_call_center_has_them_off(
    sessions: object, standin: TwilioStandIn, clock: FakeClock
) -> None:
    desk = ServiceDesk(sessions, config=DeskConfig(), clock=clock)  # type: ignore[arg-type]
    port = TwilioSms(SID, TOKEN, NUMBER, api_base_url=standin.url)
    desk.notices.port = port
    try:
        ticket_id, _ = await _dispatched(desk)
        assert await desk.notices.tick() == 0
        assert await desk.notices.for_ticket(ticket_id) == [] and standin.messages == {}
    finally:
        await port.close()
        desk.close()


async def test_the_stand_in_refuses_a_wrong_auth_token(standin: TwilioStandIn) -> None:
    port = TwilioSms(SID, "wrong-token", NUMBER, api_base_url=standin.url)
    try:
        receipt = await port.send(MOBILE, "hi")
    finally:
        await port.close()
    assert receipt.outcome == "refused" and "401" in receipt.error and "wrong-token" not in receipt.error
